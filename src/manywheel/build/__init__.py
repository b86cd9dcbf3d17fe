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
    from manywheel.build.patterns import expand_braces, selector_matches

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
    **dict.fromkeys(("expand_braces", "selector_matches"), "manywheel.build.patterns"),
}

__all__ = [
    "DEFAULT_REPAIR_COMMAND",
    "Assignment",
    "BuildOptions",
    "CheckResult",
    "CommandRunner",
    "ConfigError",
    "ContainerEngine",
    "Frontend",
    "GlobalOptions",
    "ParsedEnvironment",
    "Problem",
    "ProblemKind",
    "ProjectConfig",
    "ShellSyntaxError",
    "TagVerdict",
    "check_wheel",
    "expand_braces",
    "load_config",
    "local_runner",
    "parse_environment",
    "selector_matches",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'manywheel.build' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
