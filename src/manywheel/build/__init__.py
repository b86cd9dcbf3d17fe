"""Build wheels: build identifiers and selectors, environments behind one Protocol (zig on the
host, a Debian root, a container), and the stages of a build (before-all, before-build, the
PEP 517 build, the in-process repair), with logs and a summary.

Nothing is detected at import time: interpreters, the host's architecture and environment
variables are found by the CLI and passed in.
"""

from manywheel.build.environment import (
    TARGET_VARIABLES,
    Environment,
    EnvironmentUnavailableError,
    Session,
    Workspace,
)
from manywheel.build.identifiers import (
    ARCHITECTURES,
    KNOWN_PYTHONS,
    BuildIdentifier,
    Libc,
    Platform,
    PythonImplementation,
    gnu_triple,
)

__all__ = [
    "ARCHITECTURES",
    "KNOWN_PYTHONS",
    "TARGET_VARIABLES",
    "BuildIdentifier",
    "Environment",
    "EnvironmentUnavailableError",
    "Libc",
    "Platform",
    "PythonImplementation",
    "Session",
    "Workspace",
    "gnu_triple",
]
