"""Build wheels: build identifiers and selectors, environments behind one Protocol (zig on the
host, a Debian root, a container), and the stages of a build (before-all, before-build, the
PEP 517 build, the in-process repair), with logs and a summary.

Nothing is detected at import time: interpreters, the host's architecture and environment
variables are found by the CLI and passed in.
"""

from manywheel.build.document import BUILD_SCHEMA_VERSION, build_document
from manywheel.build.environment import (
    TARGET_VARIABLES,
    Environment,
    EnvironmentUnavailableError,
    Session,
    Workspace,
    target_variables,
)
from manywheel.build.frontend import FRONTEND_PINS, Frontend, ensure_frontend, wheel_command
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
from manywheel.build.logs import RunDirectory, log_tail
from manywheel.build.pipeline import BuildRun, build_wheels, check_wheelhouse
from manywheel.build.repair_stage import RepairSettings
from manywheel.build.results import BuildOutcome, Stage, Status
from manywheel.build.runner import BuildSettings, Progress, run_builds
from manywheel.build.selectors import (
    BuildSelector,
    EnableGroup,
    Selection,
    expand_braces,
    parse_archs,
    select_identifiers,
    selector_matches,
)
from manywheel.build.source import ProjectSource, copy_tree, open_source
from manywheel.build.targets import TargetPolicies
from manywheel.build.zig import ZIG_VERSION, ZigToolchain, fetch_zig, write_wrappers, zig_target
from manywheel.build.zig_environment import RootSupport, ZigEnvironment

__all__ = [
    "ARCHITECTURES",
    "BUILD_SCHEMA_VERSION",
    "FRONTEND_PINS",
    "KNOWN_PYTHONS",
    "TARGET_VARIABLES",
    "ZIG_VERSION",
    "BuildIdentifier",
    "BuildOutcome",
    "BuildRun",
    "BuildSelector",
    "BuildSettings",
    "EnableGroup",
    "Environment",
    "EnvironmentUnavailableError",
    "Frontend",
    "HostSession",
    "Interpreter",
    "InterpreterSearch",
    "Platform",
    "Progress",
    "ProjectSource",
    "PythonImplementation",
    "RepairSettings",
    "RootSupport",
    "RunDirectory",
    "Selection",
    "Session",
    "Stage",
    "Status",
    "TargetPolicies",
    "Workspace",
    "ZigEnvironment",
    "ZigToolchain",
    "best_interpreters",
    "build_document",
    "build_wheels",
    "check_wheelhouse",
    "copy_tree",
    "discover_interpreters",
    "ensure_frontend",
    "expand_braces",
    "fetch_zig",
    "gnu_triple",
    "log_tail",
    "machine_arch",
    "open_source",
    "parse_archs",
    "probe_interpreter",
    "run_builds",
    "select_identifiers",
    "selector_matches",
    "target_variables",
    "wheel_command",
    "write_wrappers",
    "zig_target",
]
