"""Build wheels: build identifiers and selectors, environments behind one Protocol (zig on the
host, a Debian root, a container), and the stages of a build (before-all, before-build, the
PEP 517 build, the in-process repair), with logs and a summary.

Nothing is detected at import time: interpreters, the host's architecture and environment
variables are found by the CLI and passed in.
"""

from manywheel.build.container import (
    ContainerEngine,
    ContainerEnvironment,
    find_engine,
    fit_engine,
    root_image,
)
from manywheel.build.debian import DebianEnvironment
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
from manywheel.build.qemu import (
    BINFMT_CONF_DIRS,
    Architecture,
    debian_arch,
    ensure_binfmt,
    needs_emulation,
)
from manywheel.build.repair_stage import RepairSettings
from manywheel.build.results import BuildOutcome, Stage, Status
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
from manywheel.build.roots_errors import RootCommandError, UnavailableError
from manywheel.build.roots_index import PackageIndex
from manywheel.build.roots_python import BuiltPython, PythonRecipe, built_python
from manywheel.build.roots_run import ROOT_PATH, Bind, isolation_problems, run_in_root
from manywheel.build.roots_systems import (
    CleanSystem,
    CleanSystems,
    NoCleanSystemError,
    wheel_target,
)
from manywheel.build.roots_venv import RootVenv, make_venv
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
from manywheel.build.testing import (
    TestResult,
    TestSettings,
    TestStatus,
    format_test_command,
    test_wheel,
)
from manywheel.build.tools import uv_index_environment
from manywheel.build.zig import ZIG_VERSION, ZigToolchain, fetch_zig, write_wrappers, zig_target
from manywheel.build.zig_environment import RootSupport, ZigEnvironment

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
    "target_variables",
    "test_wheel",
    "uv_index_environment",
    "wheel_command",
    "wheel_target",
    "write_wrappers",
    "zig_target",
]
