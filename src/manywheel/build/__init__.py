"""Build wheels and bring them to an index: build identifiers and selectors, configuration
(``[tool.manywheel]``, ``[tool.cibuildwheel]``, ``MANYWHEEL_*``/``CIBW_*``), environments behind
one Protocol (zig on the host, a Debian root, a container), the stages of a build (before-all,
before-build, the PEP 517 build, the in-process repair, the test in a clean system), checking
wheels before they are published, and uploading them, with logs and a summary.

Nothing is detected at import time: interpreters, the host's architecture and environment
variables are found by the CLI and passed in. Names load on first use, so that
``import manywheel.build`` (and the CLI's start-up) does not import the audit, the repair or the
environments a run does not use.
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
    from manywheel.build.check import (
        CheckResult,
        Problem,
        ProblemKind,
        TagVerdict,
        check_wheel,
    )
    from manywheel.build.config import (
        DEFAULT_REPAIR_COMMAND,
        BuildOptions,
        ConfigError,
        ContainerEngineOption,
        FrontendOption,
        GlobalOptions,
        ProjectConfig,
        load_config,
    )
    from manywheel.build.container import (
        ContainerEngine,
        ContainerEnvironment,
        find_engine,
        fit_engine,
        root_image,
    )
    from manywheel.build.credentials import (
        CredentialsError,
        Repository,
        RepositoryRequest,
        resolve_repository,
    )
    from manywheel.build.debian import (
        DebianEnvironment,
    )
    from manywheel.build.document import (
        BUILD_SCHEMA_VERSION,
        build_document,
    )
    from manywheel.build.engines import (
        engine_with_image,
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
    from manywheel.build.host import (
        HostSession,
    )
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
    from manywheel.build.patterns import (
        PatternError,
        expand_braces,
        selector_matches,
    )
    from manywheel.build.pipeline import (
        BuildRun,
        build_wheels,
        check_wheelhouse,
        frontend_name,
    )
    from manywheel.build.placeholders import (
        fill_placeholders,
    )
    from manywheel.build.plan import (
        DEFAULT_POLICIES,
        identifier_options,
        select_configured,
        target_policies,
    )
    from manywheel.build.probe_cache import (
        ProbeCache,
    )
    from manywheel.build.publishing import (
        UploadSettings,
        publish,
        upload_of,
    )
    from manywheel.build.qemu import (
        BINFMT_CONF_DIRS,
        Architecture,
        debian_arch,
        ensure_binfmt,
        needs_emulation,
    )
    from manywheel.build.repair_command import (
        RepairPart,
        split_repair_command,
    )
    from manywheel.build.repair_stage import (
        CommandRepair,
        InProcessRepair,
        RepairSettings,
        RepairSettingsSource,
        RepairStep,
    )
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
    from manywheel.build.roots_cache import (
        CacheDirectory,
    )
    from manywheel.build.roots_errors import (
        RootCommandError,
        UnavailableError,
    )
    from manywheel.build.roots_index import (
        PackageIndex,
    )
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
    from manywheel.build.run_context import (
        CheckSettings,
        StagePlan,
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
        parse_archs,
        python_version,
        select_identifiers,
    )
    from manywheel.build.source import (
        ProjectSource,
        copy_tree,
        open_source,
    )
    from manywheel.build.targets import (
        TargetPolicies,
        image_policy,
    )
    from manywheel.build.test_stage import (
        TestStage,
        test_settings,
    )
    from manywheel.build.testing import (
        TestResult,
        TestSettings,
        TestStatus,
        format_test_command,
        test_wheel,
    )
    from manywheel.build.tools import (
        uv_index_environment,
    )
    from manywheel.build.transport import (
        TransportError,
    )
    from manywheel.build.upload import (
        Outcome,
        UploadError,
        UploadReport,
        WheelUpload,
        upload_wheels,
    )
    from manywheel.build.variables import (
        session_variables,
    )
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
    "CheckSettings": "manywheel.build.run_context",
    "StagePlan": "manywheel.build.run_context",
    "InProcessRepair": "manywheel.build.repair_stage",
    "CommandRepair": "manywheel.build.repair_stage",
    "RepairSettingsSource": "manywheel.build.repair_stage",
    "RepairStep": "manywheel.build.repair_stage",
    "RepairPart": "manywheel.build.repair_command",
    "split_repair_command": "manywheel.build.repair_command",
    "UploadSettings": "manywheel.build.publishing",
    "publish": "manywheel.build.publishing",
    "upload_of": "manywheel.build.publishing",
    "TestStage": "manywheel.build.test_stage",
    "test_settings": "manywheel.build.test_stage",
    "engine_with_image": "manywheel.build.engines",
    "frontend_name": "manywheel.build.pipeline",
    "select_configured": "manywheel.build.plan",
    "target_policies": "manywheel.build.plan",
    "identifier_options": "manywheel.build.plan",
    "DEFAULT_POLICIES": "manywheel.build.plan",
    "image_policy": "manywheel.build.targets",
    "session_variables": "manywheel.build.variables",
    "fill_placeholders": "manywheel.build.placeholders",
    "python_version": "manywheel.build.selectors",
    "ARCHITECTURES": "manywheel.build.identifiers",
    "Architecture": "manywheel.build.qemu",
    "Assignment": "manywheel.build.assignments",
    "BINFMT_CONF_DIRS": "manywheel.build.qemu",
    "BUILD_SCHEMA_VERSION": "manywheel.build.document",
    "Bind": "manywheel.build.roots_run",
    "BuildIdentifier": "manywheel.build.identifiers",
    "BuildOptions": "manywheel.build.config",
    "BuildOutcome": "manywheel.build.results",
    "BuildRun": "manywheel.build.pipeline",
    "BuildSelector": "manywheel.build.selectors",
    "BuildSettings": "manywheel.build.runner",
    "BuiltPython": "manywheel.build.roots_python",
    "CacheDirectory": "manywheel.build.roots_cache",
    "CheckResult": "manywheel.build.check",
    "CleanSystem": "manywheel.build.roots_systems",
    "CleanSystems": "manywheel.build.roots_systems",
    "CommandRunner": "manywheel.build.assignments",
    "ConfigError": "manywheel.build.config",
    "ContainerEngine": "manywheel.build.container",
    "ContainerEngineOption": "manywheel.build.config",
    "ContainerEnvironment": "manywheel.build.container",
    "CredentialsError": "manywheel.build.credentials",
    "DEFAULT_REPAIR_COMMAND": "manywheel.build.config",
    "DebianEnvironment": "manywheel.build.debian",
    "EnableGroup": "manywheel.build.selectors",
    "Environment": "manywheel.build.environment",
    "EnvironmentUnavailableError": "manywheel.build.environment",
    "FALLBACK_MIRROR": "manywheel.build.roots",
    "FRONTEND_PINS": "manywheel.build.frontend",
    "Frontend": "manywheel.build.frontend",
    "FrontendOption": "manywheel.build.config",
    "GlobalOptions": "manywheel.build.config",
    "HostSession": "manywheel.build.host",
    "Interpreter": "manywheel.build.interpreters",
    "InterpreterSearch": "manywheel.build.interpreters",
    "KNOWN_PYTHONS": "manywheel.build.identifiers",
    "NoCleanSystemError": "manywheel.build.roots_systems",
    "Outcome": "manywheel.build.upload",
    "PackageIndex": "manywheel.build.roots_index",
    "ParsedEnvironment": "manywheel.build.assignments",
    "Platform": "manywheel.build.identifiers",
    "ProbeCache": "manywheel.build.probe_cache",
    "Problem": "manywheel.build.check",
    "ProblemKind": "manywheel.build.check",
    "Progress": "manywheel.build.runner",
    "ProjectConfig": "manywheel.build.config",
    "ProjectSource": "manywheel.build.source",
    "PythonImplementation": "manywheel.build.identifiers",
    "PythonRecipe": "manywheel.build.roots_python",
    "ROOT_PATH": "manywheel.build.roots_run",
    "RepairSettings": "manywheel.build.repair_stage",
    "Repository": "manywheel.build.credentials",
    "RepositoryRequest": "manywheel.build.credentials",
    "RootCommandError": "manywheel.build.roots_errors",
    "RootFacts": "manywheel.build.roots",
    "RootSpec": "manywheel.build.roots",
    "RootStore": "manywheel.build.roots",
    "RootSupport": "manywheel.build.zig_environment",
    "RootVenv": "manywheel.build.roots_venv",
    "RunDirectory": "manywheel.build.logs",
    "SUITES": "manywheel.build.roots",
    "Selection": "manywheel.build.selectors",
    "Session": "manywheel.build.environment",
    "ShellSyntaxError": "manywheel.build.assignments",
    "Stage": "manywheel.build.results",
    "Status": "manywheel.build.results",
    "Suite": "manywheel.build.roots",
    "TARGET_VARIABLES": "manywheel.build.environment",
    "TagVerdict": "manywheel.build.check",
    "TargetPolicies": "manywheel.build.targets",
    "TestResult": "manywheel.build.testing",
    "TestSettings": "manywheel.build.testing",
    "TestStatus": "manywheel.build.testing",
    "TransportError": "manywheel.build.transport",
    "UnavailableError": "manywheel.build.roots_errors",
    "UploadError": "manywheel.build.upload",
    "UploadReport": "manywheel.build.upload",
    "WheelUpload": "manywheel.build.upload",
    "Workspace": "manywheel.build.environment",
    "ZIG_VERSION": "manywheel.build.zig",
    "ZigEnvironment": "manywheel.build.zig_environment",
    "ZigToolchain": "manywheel.build.zig",
    "best_interpreters": "manywheel.build.interpreters",
    "build_document": "manywheel.build.document",
    "build_wheels": "manywheel.build.pipeline",
    "built_python": "manywheel.build.roots_python",
    "check_wheel": "manywheel.build.check",
    "check_wheelhouse": "manywheel.build.pipeline",
    "copy_tree": "manywheel.build.source",
    "debian_arch": "manywheel.build.qemu",
    "discover_interpreters": "manywheel.build.interpreters",
    "ensure_binfmt": "manywheel.build.qemu",
    "ensure_frontend": "manywheel.build.frontend",
    "PatternError": "manywheel.build.patterns",
    "expand_braces": "manywheel.build.patterns",
    "fetch_zig": "manywheel.build.zig",
    "find_engine": "manywheel.build.container",
    "fit_engine": "manywheel.build.container",
    "format_test_command": "manywheel.build.testing",
    "gnu_triple": "manywheel.build.identifiers",
    "host_debian_mirror": "manywheel.build.roots",
    "isolation_problems": "manywheel.build.roots_run",
    "load_config": "manywheel.build.config",
    "local_runner": "manywheel.build.assignments",
    "log_tail": "manywheel.build.logs",
    "machine_arch": "manywheel.build.interpreters",
    "make_venv": "manywheel.build.roots_venv",
    "needs_emulation": "manywheel.build.qemu",
    "open_source": "manywheel.build.source",
    "parse_archs": "manywheel.build.selectors",
    "parse_environment": "manywheel.build.assignments",
    "probe_interpreter": "manywheel.build.interpreters",
    "resolve_repository": "manywheel.build.credentials",
    "root_facts": "manywheel.build.roots",
    "root_image": "manywheel.build.container",
    "run_builds": "manywheel.build.runner",
    "run_in_root": "manywheel.build.roots_run",
    "scratch_base": "manywheel.build.roots",
    "select_identifiers": "manywheel.build.selectors",
    "selector_matches": "manywheel.build.patterns",
    "shared_path": "manywheel.build.environment",
    "target_variables": "manywheel.build.environment",
    "test_wheel": "manywheel.build.testing",
    "upload_wheels": "manywheel.build.upload",
    "uv_index_environment": "manywheel.build.tools",
    "wheel_command": "manywheel.build.frontend",
    "wheel_target": "manywheel.build.roots_systems",
    "write_wrappers": "manywheel.build.zig",
    "zig_target": "manywheel.build.zig",
}

__all__ = [
    "ARCHITECTURES",
    "BINFMT_CONF_DIRS",
    "BUILD_SCHEMA_VERSION",
    "DEFAULT_POLICIES",
    "DEFAULT_REPAIR_COMMAND",
    "FALLBACK_MIRROR",
    "FRONTEND_PINS",
    "KNOWN_PYTHONS",
    "ROOT_PATH",
    "SUITES",
    "TARGET_VARIABLES",
    "ZIG_VERSION",
    "Architecture",
    "Assignment",
    "Bind",
    "BuildIdentifier",
    "BuildOptions",
    "BuildOutcome",
    "BuildRun",
    "BuildSelector",
    "BuildSettings",
    "BuiltPython",
    "CacheDirectory",
    "CheckResult",
    "CheckSettings",
    "CleanSystem",
    "CleanSystems",
    "CommandRepair",
    "CommandRunner",
    "ConfigError",
    "ContainerEngine",
    "ContainerEngineOption",
    "ContainerEnvironment",
    "CredentialsError",
    "DebianEnvironment",
    "EnableGroup",
    "Environment",
    "EnvironmentUnavailableError",
    "Frontend",
    "FrontendOption",
    "GlobalOptions",
    "HostSession",
    "InProcessRepair",
    "Interpreter",
    "InterpreterSearch",
    "NoCleanSystemError",
    "Outcome",
    "PackageIndex",
    "ParsedEnvironment",
    "PatternError",
    "Platform",
    "ProbeCache",
    "Problem",
    "ProblemKind",
    "Progress",
    "ProjectConfig",
    "ProjectSource",
    "PythonImplementation",
    "PythonRecipe",
    "RepairPart",
    "RepairSettings",
    "RepairSettingsSource",
    "RepairStep",
    "Repository",
    "RepositoryRequest",
    "RootCommandError",
    "RootFacts",
    "RootSpec",
    "RootStore",
    "RootSupport",
    "RootVenv",
    "RunDirectory",
    "Selection",
    "Session",
    "ShellSyntaxError",
    "Stage",
    "StagePlan",
    "Status",
    "Suite",
    "TagVerdict",
    "TargetPolicies",
    "TestResult",
    "TestSettings",
    "TestStage",
    "TestStatus",
    "TransportError",
    "UnavailableError",
    "UploadError",
    "UploadReport",
    "UploadSettings",
    "WheelUpload",
    "Workspace",
    "ZigEnvironment",
    "ZigToolchain",
    "best_interpreters",
    "build_document",
    "build_wheels",
    "built_python",
    "check_wheel",
    "check_wheelhouse",
    "copy_tree",
    "debian_arch",
    "discover_interpreters",
    "engine_with_image",
    "ensure_binfmt",
    "ensure_frontend",
    "expand_braces",
    "fetch_zig",
    "fill_placeholders",
    "find_engine",
    "fit_engine",
    "format_test_command",
    "frontend_name",
    "gnu_triple",
    "host_debian_mirror",
    "identifier_options",
    "image_policy",
    "isolation_problems",
    "load_config",
    "local_runner",
    "log_tail",
    "machine_arch",
    "make_venv",
    "needs_emulation",
    "open_source",
    "parse_archs",
    "parse_environment",
    "probe_interpreter",
    "publish",
    "python_version",
    "resolve_repository",
    "root_facts",
    "root_image",
    "run_builds",
    "run_in_root",
    "scratch_base",
    "select_configured",
    "select_identifiers",
    "selector_matches",
    "session_variables",
    "shared_path",
    "split_repair_command",
    "target_policies",
    "target_variables",
    "test_settings",
    "test_wheel",
    "upload_of",
    "upload_wheels",
    "uv_index_environment",
    "wheel_command",
    "wheel_target",
    "write_wrappers",
    "zig_target",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'manywheel.build' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
