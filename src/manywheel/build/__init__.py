"""The wheel builder's pipeline around the audit and the repair: configuration
(``[tool.manywheel]``, ``[tool.cibuildwheel]``, ``CIBW_*``/``MANYWHEEL_*``), checking wheels
before they are published, and uploading them.

Names load on first use, so importing the package (the CLI does) costs nothing.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from manywheel.build.assignments import (
        Assignment,
        CommandRunner,
        ParsedEnvironment,
        ShellSyntaxError,
        local_runner,
        parse_environment,
    )
    from manywheel.build.check import CheckResult, Problem, ProblemKind, TagVerdict, check_wheel
    from manywheel.build.config import (
        DEFAULT_REPAIR_COMMAND,
        BuildOptions,
        ConfigError,
        ContainerEngine,
        Frontend,
        GlobalOptions,
        ProjectConfig,
        load_config,
    )
    from manywheel.build.credentials import (
        CredentialsError,
        Repository,
        RepositoryRequest,
        resolve_repository,
    )
    from manywheel.build.patterns import expand_braces, selector_matches
    from manywheel.build.transport import TransportError
    from manywheel.build.upload import (
        Outcome,
        UploadError,
        UploadReport,
        WheelUpload,
        upload_wheels,
    )

_LAZY = {
    **dict.fromkeys(
        (
            "Assignment",
            "CommandRunner",
            "ParsedEnvironment",
            "ShellSyntaxError",
            "local_runner",
            "parse_environment",
        ),
        "manywheel.build.assignments",
    ),
    **dict.fromkeys(
        (
            "DEFAULT_REPAIR_COMMAND",
            "BuildOptions",
            "ConfigError",
            "ContainerEngine",
            "Frontend",
            "GlobalOptions",
            "ProjectConfig",
            "load_config",
        ),
        "manywheel.build.config",
    ),
    **dict.fromkeys(
        ("CheckResult", "Problem", "ProblemKind", "TagVerdict", "check_wheel"),
        "manywheel.build.check",
    ),
    **dict.fromkeys(
        ("CredentialsError", "Repository", "RepositoryRequest", "resolve_repository"),
        "manywheel.build.credentials",
    ),
    **dict.fromkeys(("expand_braces", "selector_matches"), "manywheel.build.patterns"),
    "TransportError": "manywheel.build.transport",
    **dict.fromkeys(
        ("Outcome", "UploadError", "UploadReport", "WheelUpload", "upload_wheels"),
        "manywheel.build.upload",
    ),
}

__all__ = [
    "DEFAULT_REPAIR_COMMAND",
    "Assignment",
    "BuildOptions",
    "CheckResult",
    "CommandRunner",
    "ConfigError",
    "ContainerEngine",
    "CredentialsError",
    "Frontend",
    "GlobalOptions",
    "Outcome",
    "ParsedEnvironment",
    "Problem",
    "ProblemKind",
    "ProjectConfig",
    "Repository",
    "RepositoryRequest",
    "ShellSyntaxError",
    "TagVerdict",
    "TransportError",
    "UploadError",
    "UploadReport",
    "WheelUpload",
    "check_wheel",
    "expand_braces",
    "load_config",
    "local_runner",
    "parse_environment",
    "resolve_repository",
    "selector_matches",
    "upload_wheels",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'manywheel.build' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
