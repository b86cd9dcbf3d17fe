"""The options manywheel reads from its configuration, and what it knows of cibuildwheel's.

One row per option: its TOML key, how its values are written and merged, whether it is decided
once for the run (``GLOBAL``: selectors, architectures — overrides cannot change them, as in
cibuildwheel) or per build identifier, whether cibuildwheel's platform-suffixed variable
(``CIBW_<NAME>_LINUX``) is read, and whether ``[tool.cibuildwheel]`` carries it. Adding an option
is one row here and one field in :class:`~manywheel.build.config.BuildOptions`.
"""

from __future__ import annotations

import enum

from manywheel.build.config_formats import Format, Inherit
from manywheel.values import value_class

__all__ = [
    "CIBUILDWHEEL_IGNORED",
    "CIBUILDWHEEL_PLATFORMS",
    "DEFAULT_REPAIR_COMMAND",
    "MANYLINUX_ARCHS",
    "MUSLLINUX_ARCHS",
    "OPTIONS",
    "Option",
    "Scope",
    "environment_names",
]

#: The repair step's default (cibuildwheel's is ``auditwheel repair -w {dest_dir} {wheel}``):
#: a build runs it in-process, with the same code as the ``manywheel repair`` command. An
#: override's ``inherit`` rule prepends or appends commands to it, as in cibuildwheel.
DEFAULT_REPAIR_COMMAND = "manywheel repair -w {dest_dir} {wheel}"

#: cibuildwheel's architectures with a manylinux image option (``manylinux-<arch>-image``).
MANYLINUX_ARCHS = (
    "x86_64",
    "i686",
    "pypy_x86_64",
    "aarch64",
    "ppc64le",
    "s390x",
    "armv7l",
    "riscv64",
    "pypy_aarch64",
    "pypy_i686",
)
MUSLLINUX_ARCHS = ("x86_64", "i686", "aarch64", "ppc64le", "s390x", "armv7l", "riscv64")


class Scope(enum.Enum):
    #: Decided once for the run; an override setting it has no effect.
    GLOBAL = "global"
    #: Resolved per build identifier, overrides applied.
    BUILD = "build"


@value_class
class Option:
    name: str
    format: Format
    scope: Scope = Scope.BUILD
    #: The value when nothing sets it (``""``: the runner decides, e.g. the build frontend).
    default: str = ""
    #: ``CIBW_<NAME>_LINUX`` is read after ``CIBW_<NAME>``.
    platform_variable: bool = True
    #: An empty value does not replace the one below it.
    ignore_empty: bool = False
    #: Read from ``[tool.cibuildwheel]`` (and ``CIBW_*``) too.
    cibuildwheel: bool = True
    #: Set only by environment variables and the command line (not by a file).
    file: bool = True
    #: How an environment variable combines with the files' value (``enable``: appended).
    variable_inherit: Inherit = Inherit.NONE


def _images() -> tuple[Option, ...]:
    names = [f"manylinux-{arch}-image" for arch in MANYLINUX_ARCHS]
    names += [f"musllinux-{arch}-image" for arch in MUSLLINUX_ARCHS]
    return tuple(Option(name, Format.TEXT, ignore_empty=True) for name in names)


OPTIONS: dict[str, Option] = {
    option.name: option
    for option in (
        # what to build
        Option("build", Format.WORDS, Scope.GLOBAL, "*", platform_variable=False),
        Option("skip", Format.WORDS, Scope.GLOBAL, platform_variable=False),
        Option("test-skip", Format.WORDS, Scope.GLOBAL, platform_variable=False),
        Option("archs", Format.WORDS, Scope.GLOBAL, "auto", ignore_empty=True),
        Option(
            "enable",
            Format.WORDS,
            Scope.GLOBAL,
            platform_variable=False,
            variable_inherit=Inherit.APPEND,
        ),
        Option(
            "allow-empty", Format.TEXT, Scope.GLOBAL, "false", platform_variable=False, file=False
        ),
        Option(
            "project-requires-python",
            Format.TEXT,
            Scope.GLOBAL,
            platform_variable=False,
            file=False,
        ),
        Option(
            "output-dir",
            Format.TEXT,
            Scope.GLOBAL,
            "wheelhouse",
            platform_variable=False,
            file=False,
        ),
        # how to build
        Option("build-frontend", Format.FIELDS, platform_variable=False),
        Option("config-settings", Format.PAIRS),
        Option("environment", Format.ENVIRONMENT),
        Option("environment-pass", Format.WORDS),
        Option("before-all", Format.COMMANDS),
        Option("before-build", Format.COMMANDS),
        Option("repair-wheel-command", Format.COMMANDS, default=DEFAULT_REPAIR_COMMAND),
        Option("build-verbosity", Format.TEXT, default="0"),
        Option("container-engine", Format.FIELDS),
        *_images(),
        # manywheel's own (the flags of ``manywheel build``): where to build and for which policy
        Option("env", Format.TEXT, Scope.GLOBAL, platform_variable=False, cibuildwheel=False),
        Option("manylinux", Format.TEXT, cibuildwheel=False),
        Option("musllinux", Format.TEXT, cibuildwheel=False),
        # testing
        Option("test-command", Format.COMMANDS),
        Option("before-test", Format.COMMANDS),
        Option("test-sources", Format.QUOTED_WORDS),
        Option("test-requires", Format.QUOTED_WORDS),
        Option("test-extras", Format.COMMAS),
        Option("test-groups", Format.WORDS),
        Option("test-environment", Format.ENVIRONMENT),
    )
}

#: cibuildwheel options manywheel knows but does not use on Linux (other platforms' options, its
#: own abi3audit step — manywheel checks the ABI itself — and cross-build tooling). In
#: ``[tool.cibuildwheel]`` they are read by cibuildwheel elsewhere, so they are not warned about.
CIBUILDWHEEL_IGNORED = frozenset(
    {
        "audit-command",
        "audit-requires",
        "dependency-versions",
        "pyodide-version",
        "test-runtime",
        "xbuild-files",
        "xbuild-tools",
        # cibuildwheel 2.x (removed in 3.0); free-threaded builds are selected as identifiers
        "free-threaded-support",
    }
)

#: cibuildwheel's platform sections (``[tool.cibuildwheel.<platform>]``); only ``linux`` is read.
CIBUILDWHEEL_PLATFORMS = frozenset({"linux", "macos", "windows", "ios", "android", "pyodide"})


def environment_names(option: Option, prefix: str) -> tuple[str, ...]:
    """The variables that set ``option`` with ``prefix`` (``CIBW``, ``MANYWHEEL``), lowest
    precedence first."""
    base = f"{prefix}_{option.name.upper().replace('-', '_')}"
    if prefix == "CIBW" and option.platform_variable:
        return (base, f"{base}_LINUX")
    return (base,)
