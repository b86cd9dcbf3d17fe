"""Build wheels: build identifiers and selectors, environments behind one Protocol (zig on the
host, a Debian root, a container), and the stages of a build (before-all, before-build, the
PEP 517 build, the in-process repair), with logs and a summary.

Nothing is detected at import time: interpreters, the host's architecture and environment
variables are found by the CLI and passed in. The names below load on first use, so that
``import manywheel.build`` (and the CLI's start-up) does not import the audit, the repair
or the environments a run does not use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from manywheel.build.container import (
        ContainerEngine,
        ContainerEnvironment,
        find_engine,
        fit_engine,
        root_image,
    )
    from manywheel.build.debian import DebianEnvironment
    from manywheel.build.document import (
        BUILD_SCHEMA_VERSION,
        build_document,
    )
    from manywheel.build.environment import (
        TARGET_VARIABLES,
        Environment,
        EnvironmentUnavailableError,
        Session,
        Workspace,
        shared_path,
        target_variables,
    )
    from manywheel.build.frontend import (
        FRONTEND_PINS,
        Frontend,
        ensure_frontend,
        wheel_command,
    )
    from manywheel.build.host import HostSession
    from manywheel.build.identifiers import (
        ARCHITECTURES,
        KNOWN_PYTHONS,
        BuildIdentifier,
        Platform,
        PythonImplementation,
        gnu_triple,
    )
    from manywheel.build.interpreters import (
        Interpreter,
        InterpreterSearch,
        best_interpreters,
        discover_interpreters,
        machine_arch,
        probe_interpreter,
    )
    from manywheel.build.logs import (
        RunDirectory,
        log_tail,
    )
    from manywheel.build.pipeline import (
        BuildRun,
        build_wheels,
        check_wheelhouse,
    )
    from manywheel.build.probe_cache import ProbeCache
    from manywheel.build.qemu import (
        BINFMT_CONF_DIRS,
        Architecture,
        debian_arch,
        ensure_binfmt,
        needs_emulation,
    )
    from manywheel.build.repair_stage import RepairSettings
    from manywheel.build.results import (
        BuildOutcome,
        Stage,
        Status,
    )
    from manywheel.build.roots import (
        FALLBACK_MIRROR,
        SUITES,
        RootFacts,
        RootSpec,
        RootStore,
        Suite,
        host_debian_mirror,
        root_facts,
        scratch_base,
    )
    from manywheel.build.roots_cache import CacheDirectory
    from manywheel.build.roots_errors import (
        RootCommandError,
        UnavailableError,
    )
    from manywheel.build.roots_index import PackageIndex
    from manywheel.build.roots_python import (
        BuiltPython,
        PythonRecipe,
        built_python,
    )
    from manywheel.build.roots_run import (
        ROOT_PATH,
        Bind,
        isolation_problems,
        run_in_root,
    )
    from manywheel.build.roots_systems import (
        CleanSystem,
        CleanSystems,
        NoCleanSystemError,
        wheel_target,
    )
    from manywheel.build.roots_venv import (
        RootVenv,
        make_venv,
    )
    from manywheel.build.runner import (
        BuildSettings,
        Progress,
        run_builds,
    )
    from manywheel.build.selectors import (
        BuildSelector,
        EnableGroup,
        Selection,
        expand_braces,
        parse_archs,
        select_identifiers,
        selector_matches,
    )
    from manywheel.build.source import (
        ProjectSource,
        copy_tree,
        open_source,
    )
    from manywheel.build.targets import TargetPolicies
    from manywheel.build.testing import (
        TestResult,
        TestSettings,
        TestStatus,
        format_test_command,
        test_wheel,
    )
    from manywheel.build.tools import uv_index_environment
    from manywheel.build.zig import (
        ZIG_VERSION,
        ZigToolchain,
        fetch_zig,
        write_wrappers,
        zig_target,
    )
    from manywheel.build.zig_environment import (
        RootSupport,
        ZigEnvironment,
    )

#: Public name -> the module that defines it (imported on first access).
_LAZY = {
    "ProbeCache": "manywheel.build.probe_cache",
    "ContainerEngine": "manywheel.build.container",
    "ContainerEnvironment": "manywheel.build.container",
    "find_engine": "manywheel.build.container",
    "fit_engine": "manywheel.build.container",
    "root_image": "manywheel.build.container",
    "DebianEnvironment": "manywheel.build.debian",
    "BUILD_SCHEMA_VERSION": "manywheel.build.document",
    "build_document": "manywheel.build.document",
    "TARGET_VARIABLES": "manywheel.build.environment",
    "Environment": "manywheel.build.environment",
    "EnvironmentUnavailableError": "manywheel.build.environment",
    "Session": "manywheel.build.environment",
    "Workspace": "manywheel.build.environment",
    "target_variables": "manywheel.build.environment",
    "shared_path": "manywheel.build.environment",
    "FRONTEND_PINS": "manywheel.build.frontend",
    "Frontend": "manywheel.build.frontend",
    "ensure_frontend": "manywheel.build.frontend",
    "wheel_command": "manywheel.build.frontend",
    "HostSession": "manywheel.build.host",
    "ARCHITECTURES": "manywheel.build.identifiers",
    "KNOWN_PYTHONS": "manywheel.build.identifiers",
    "BuildIdentifier": "manywheel.build.identifiers",
    "Platform": "manywheel.build.identifiers",
    "PythonImplementation": "manywheel.build.identifiers",
    "gnu_triple": "manywheel.build.identifiers",
    "Interpreter": "manywheel.build.interpreters",
    "InterpreterSearch": "manywheel.build.interpreters",
    "best_interpreters": "manywheel.build.interpreters",
    "discover_interpreters": "manywheel.build.interpreters",
    "machine_arch": "manywheel.build.interpreters",
    "probe_interpreter": "manywheel.build.interpreters",
    "RunDirectory": "manywheel.build.logs",
    "log_tail": "manywheel.build.logs",
    "BuildRun": "manywheel.build.pipeline",
    "build_wheels": "manywheel.build.pipeline",
    "check_wheelhouse": "manywheel.build.pipeline",
    "BINFMT_CONF_DIRS": "manywheel.build.qemu",
    "Architecture": "manywheel.build.qemu",
    "debian_arch": "manywheel.build.qemu",
    "ensure_binfmt": "manywheel.build.qemu",
    "needs_emulation": "manywheel.build.qemu",
    "RepairSettings": "manywheel.build.repair_stage",
    "BuildOutcome": "manywheel.build.results",
    "Stage": "manywheel.build.results",
    "Status": "manywheel.build.results",
    "FALLBACK_MIRROR": "manywheel.build.roots",
    "SUITES": "manywheel.build.roots",
    "RootFacts": "manywheel.build.roots",
    "RootSpec": "manywheel.build.roots",
    "RootStore": "manywheel.build.roots",
    "Suite": "manywheel.build.roots",
    "host_debian_mirror": "manywheel.build.roots",
    "root_facts": "manywheel.build.roots",
    "scratch_base": "manywheel.build.roots",
    "CacheDirectory": "manywheel.build.roots_cache",
    "RootCommandError": "manywheel.build.roots_errors",
    "UnavailableError": "manywheel.build.roots_errors",
    "PackageIndex": "manywheel.build.roots_index",
    "BuiltPython": "manywheel.build.roots_python",
    "PythonRecipe": "manywheel.build.roots_python",
    "built_python": "manywheel.build.roots_python",
    "ROOT_PATH": "manywheel.build.roots_run",
    "Bind": "manywheel.build.roots_run",
    "isolation_problems": "manywheel.build.roots_run",
    "run_in_root": "manywheel.build.roots_run",
    "CleanSystem": "manywheel.build.roots_systems",
    "CleanSystems": "manywheel.build.roots_systems",
    "NoCleanSystemError": "manywheel.build.roots_systems",
    "wheel_target": "manywheel.build.roots_systems",
    "RootVenv": "manywheel.build.roots_venv",
    "make_venv": "manywheel.build.roots_venv",
    "BuildSettings": "manywheel.build.runner",
    "Progress": "manywheel.build.runner",
    "run_builds": "manywheel.build.runner",
    "BuildSelector": "manywheel.build.selectors",
    "EnableGroup": "manywheel.build.selectors",
    "Selection": "manywheel.build.selectors",
    "expand_braces": "manywheel.build.selectors",
    "parse_archs": "manywheel.build.selectors",
    "select_identifiers": "manywheel.build.selectors",
    "selector_matches": "manywheel.build.selectors",
    "ProjectSource": "manywheel.build.source",
    "copy_tree": "manywheel.build.source",
    "open_source": "manywheel.build.source",
    "TargetPolicies": "manywheel.build.targets",
    "TestResult": "manywheel.build.testing",
    "TestSettings": "manywheel.build.testing",
    "TestStatus": "manywheel.build.testing",
    "format_test_command": "manywheel.build.testing",
    "test_wheel": "manywheel.build.testing",
    "uv_index_environment": "manywheel.build.tools",
    "ZIG_VERSION": "manywheel.build.zig",
    "ZigToolchain": "manywheel.build.zig",
    "fetch_zig": "manywheel.build.zig",
    "write_wrappers": "manywheel.build.zig",
    "zig_target": "manywheel.build.zig",
    "RootSupport": "manywheel.build.zig_environment",
    "ZigEnvironment": "manywheel.build.zig_environment",
}

__all__ = [
    "ARCHITECTURES",
    "BINFMT_CONF_DIRS",
    "BUILD_SCHEMA_VERSION",
    "FALLBACK_MIRROR",
    "FRONTEND_PINS",
    "KNOWN_PYTHONS",
    "ROOT_PATH",
    "SUITES",
    "TARGET_VARIABLES",
    "ZIG_VERSION",
    "Architecture",
    "Bind",
    "BuildIdentifier",
    "BuildOutcome",
    "BuildRun",
    "BuildSelector",
    "BuildSettings",
    "BuiltPython",
    "CacheDirectory",
    "CleanSystem",
    "CleanSystems",
    "ContainerEngine",
    "ContainerEnvironment",
    "DebianEnvironment",
    "EnableGroup",
    "Environment",
    "EnvironmentUnavailableError",
    "Frontend",
    "HostSession",
    "Interpreter",
    "InterpreterSearch",
    "NoCleanSystemError",
    "PackageIndex",
    "Platform",
    "ProbeCache",
    "Progress",
    "ProjectSource",
    "PythonImplementation",
    "PythonRecipe",
    "RepairSettings",
    "RootCommandError",
    "RootFacts",
    "RootSpec",
    "RootStore",
    "RootSupport",
    "RootVenv",
    "RunDirectory",
    "Selection",
    "Session",
    "Stage",
    "Status",
    "Suite",
    "TargetPolicies",
    "TestResult",
    "TestSettings",
    "TestStatus",
    "UnavailableError",
    "Workspace",
    "ZigEnvironment",
    "ZigToolchain",
    "best_interpreters",
    "build_document",
    "build_wheels",
    "built_python",
    "check_wheelhouse",
    "copy_tree",
    "debian_arch",
    "discover_interpreters",
    "ensure_binfmt",
    "ensure_frontend",
    "expand_braces",
    "fetch_zig",
    "find_engine",
    "fit_engine",
    "format_test_command",
    "gnu_triple",
    "host_debian_mirror",
    "isolation_problems",
    "log_tail",
    "machine_arch",
    "make_venv",
    "needs_emulation",
    "open_source",
    "parse_archs",
    "probe_interpreter",
    "root_facts",
    "root_image",
    "run_builds",
    "run_in_root",
    "scratch_base",
    "select_identifiers",
    "selector_matches",
    "shared_path",
    "target_variables",
    "test_wheel",
    "uv_index_environment",
    "wheel_command",
    "wheel_target",
    "write_wrappers",
    "zig_target",
]


def __getattr__(name: str) -> object:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
