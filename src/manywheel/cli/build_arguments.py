"""The flags of ``manywheel build``, and which of them are configuration options (the
configuration's highest source: a flag replaces the same key of ``[tool.manywheel]``,
``[tool.cibuildwheel]``, ``CIBW_*`` and ``MANYWHEEL_*``; ``--enable`` adds to it)."""

from __future__ import annotations

import argparse
import shlex
from pathlib import Path

from manywheel.cli.context import Subparsers
from manywheel.cli.repair_arguments import add_repair_arguments
from manywheel.cli.upload_command import add_repository_arguments, add_upload_behaviour_arguments

__all__ = ["ENVIRONMENTS", "add_build_parser", "cli_options"]

ENVIRONMENTS = "auto, zig, debian:SUITE, container:IMAGE"


#: Flags that are configuration options: argparse dest -> option name (the value as the
#: environment variable would hold it).
_OPTION_FLAGS = {
    "build": "build",
    "skip": "skip",
    "archs": "archs",
    "env": "env",
    "build_frontend": "build-frontend",
    "manylinux": "manylinux",
    "musllinux": "musllinux",
    "before_all": "before-all",
    "before_build": "before-build",
    "repair_wheel_command": "repair-wheel-command",
    "test_command": "test-command",
    "before_test": "before-test",
    "test_requires": "test-requires",
    "test_extras": "test-extras",
    "test_sources": "test-sources",
    "test_groups": "test-groups",
    "test_skip": "test-skip",
}


def add_build_parser(
    subparsers: Subparsers, parent: argparse.ArgumentParser
) -> argparse.ArgumentParser:
    """The ``build`` subcommand's parser with every flag (the handler is the caller's)."""
    parser = subparsers.add_parser(
        "build",
        parents=[parent],
        help="build, repair, test and check manylinux/musllinux wheels, and upload them",
        description="For each selected build identifier (cibuildwheel's spelling: "
        "cp311-manylinux_x86_64): build a wheel with a PEP 517 frontend in an isolated "
        "environment, repair it in-process as 'manywheel repair' does, test it on a clean "
        "system that never saw the build, check it as 'manywheel check' does, and put exactly "
        "the wheels that passed in the wheel directory; with --upload, publish them (all or "
        "nothing). Configured as cibuildwheel is: [tool.manywheel], [tool.cibuildwheel], "
        "MANYWHEEL_* and CIBW_* variables; these flags come first. Failed identifiers leave "
        "nothing in the wheel directory; the others go on.",
    )
    parser.add_argument(
        "project", metavar="PROJECT_DIR|SDIST", nargs="?", type=Path, default=Path()
    )
    parser.add_argument(
        "-w",
        "--wheel-dir",
        "--output-dir",
        dest="wheel_dir",
        type=Path,
        default=None,
        help="where the wheels go (default: CIBW_OUTPUT_DIR, else wheelhouse)",
    )
    parser.add_argument(
        "--config-file",
        metavar="FILE",
        help="read [tool.manywheel]/[tool.cibuildwheel] from FILE ({package} is the project) "
        "instead of the project's pyproject.toml (default: the project's pyproject.toml)",
    )
    _add_selection(parser)
    _add_how(parser)
    _add_tests(parser)
    _add_publishing(parser)
    parser.add_argument(
        "--json", action="store_true", help="print the run as JSON (docs/build-json.md)"
    )
    add_repair_arguments(parser, plat=False, root=False)
    return parser


def _add_selection(parser: argparse.ArgumentParser) -> None:
    select = parser.add_argument_group("which identifiers (cibuildwheel's rules)")
    select.add_argument(
        "--build",
        metavar="SELECTORS",
        help="space-separated patterns (fnmatch and {a,b} braces); default: every identifier "
        "this machine can build. An identifier named without wildcards that cannot be built is "
        "a failure with the reason",
    )
    select.add_argument(
        "--skip",
        metavar="SELECTORS",
        help="patterns to leave out (default: the configuration's skip, else none)",
    )
    select.add_argument(
        "--archs",
        help="x86_64, aarch64, i686, ... or native, auto, auto64, auto32, all (default: auto)",
    )
    select.add_argument(
        "--enable",
        action="append",
        default=[],
        metavar="GROUP",
        help="also build these groups' identifiers: pypy, pypy-eol, graalpy, "
        "cpython-prerelease, cpython-freethreading (3.13t), or all; repeatable; added to the "
        "configuration's (default: none: CPython with the GIL only)",
    )
    select.add_argument(
        "--only",
        metavar="IDENTIFIER",
        help="build exactly this identifier (cp313t-manylinux_x86_64), whatever the "
        "configuration's build, skip, archs and enable say (cibuildwheel's --only); not with "
        "--build, --skip or --archs. One this machine cannot build is an error with the "
        "reason (default: none: the selectors decide)",
    )
    select.add_argument(
        "--allow-empty",
        action="store_true",
        help="exit 0 when nothing is selected (cibuildwheel's --allow-empty)",
    )
    select.add_argument(
        "--print-build-identifiers",
        action="store_true",
        help="print the identifiers that would be built, one per line, and exit",
    )


def _add_how(parser: argparse.ArgumentParser) -> None:
    how = parser.add_argument_group("how")
    how.add_argument(
        "--env",
        metavar="ENV",
        help="where builds run: zig (zig from PyPI as the compiler, for the policy's glibc or "
        "musl, on this machine's interpreters or Debian roots'), debian:SUITE (bullseye, "
        "bookworm, trixie, sid: the suite's gcc and python in a Debian root), container:IMAGE "
        "(podman, or docker with a daemon), or auto: the manylinux image cibuildwheel would "
        "use when podman or docker is installed and already has it, else zig (default: auto)",
    )
    how.add_argument(
        "--build-frontend",
        choices=("build", "build[uv]", "pip", "uv"),
        help="pypa/build with pip (as 'python -m build'), or with uv as its installer (much "
        "faster, above all under qemu); cibuildwheel's pip and uv build as build and "
        "build[uv] do (default: build)",
    )
    how.add_argument(
        "--make-interpreters",
        action="store_true",
        help="make the Debian roots and build the CPythons (musl, free-threaded) that "
        "identifiers and their tests need and the cache lacks (minutes each, once); without "
        "it only cached ones are used",
    )
    how.add_argument(
        "--manylinux",
        metavar="POLICY",
        help="the policy manylinux identifiers target (default: manylinux-<arch>-image's "
        "policy, else manylinux2014 = manylinux_2_17)",
    )
    how.add_argument(
        "--musllinux",
        metavar="POLICY",
        help="the policy musllinux identifiers target (default: musllinux_1_2)",
    )
    how.add_argument(
        "--python",
        action="append",
        default=[],
        metavar="PATH",
        help="an interpreter to build with (repeatable; preferred over those found in pyenv, "
        "uv and PATH; default: those found)",
    )
    how.add_argument(
        "--before-all",
        metavar="COMMAND",
        help="shell command run once per target before its builds, in a copy of the project, "
        "with the toolchain in CC/CXX and $MANYWHEEL_PREFIX to install native dependencies to "
        "(default: the configuration's, else none)",
    )
    how.add_argument(
        "--before-build",
        metavar="COMMAND",
        help="shell command run before each build, in the build's copy of the project "
        "(default: the configuration's, else none)",
    )
    how.add_argument(
        "--repair-wheel-command",
        metavar="COMMAND",
        help="the repair (default: manywheel repair -w {dest_dir} {wheel}, in-process; "
        "auditwheel repair and manywheel repair run in-process with their flags, anything else "
        "in the build's environment; '' for none). The result is checked either way",
    )
    how.add_argument(
        "-C",
        "--config-setting",
        "--config-settings",
        dest="config_setting",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="passed to the build backend (repeatable; default: the configuration's, else none)",
    )
    how.add_argument(
        "-j",
        "--jobs",
        type=int,
        default=None,
        metavar="N",
        help="identifiers at once (default: the usable cores)",
    )
    how.add_argument(
        "--timeout",
        type=float,
        default=None,
        metavar="SECONDS",
        help="longest a single command (before-all, before-build, the build, a test) may run "
        "(default: no limit)",
    )
    how.add_argument(
        "--log-dir",
        type=Path,
        default=None,
        help="where each run's logs go (default: <cache>/build-logs; the last 20 runs are kept)",
    )


def _add_tests(parser: argparse.ArgumentParser) -> None:
    test = parser.add_argument_group(
        "test on a clean system (cibuildwheel's options; {project}, {package}, {wheel})"
    )
    test.add_argument(
        "--test-command",
        metavar="COMMAND",
        help="run from an empty directory in a fresh venv where the wheel is installed, on "
        "the oldest clean Debian root its tag allows (default: none: no test stage)",
    )
    test.add_argument(
        "--before-test",
        metavar="COMMAND",
        help="run in the venv before install (default: the configuration's, else none)",
    )
    test.add_argument(
        "--test-requires",
        metavar="REQUIREMENTS",
        help="installed with the wheel (space-separated; default: the configuration's, else none)",
    )
    test.add_argument(
        "--test-extras",
        metavar="EXTRAS",
        help="the wheel's extras (a,b; default: the configuration's, else none)",
    )
    test.add_argument(
        "--test-sources",
        metavar="PATHS",
        help="copied from the project into the test directory (default: none)",
    )
    test.add_argument(
        "--test-groups",
        metavar="GROUPS",
        help="PEP 735 dependency groups to install too (default: none)",
    )
    test.add_argument(
        "--test-skip",
        metavar="SELECTORS",
        help="identifiers not to test (default: the configuration's, else none)",
    )
    test.add_argument(
        "--strict", action="store_true", help="the check fails a wheel on warnings too"
    )


def _add_publishing(parser: argparse.ArgumentParser) -> None:
    publish = parser.add_argument_group("publishing")
    publish.add_argument(
        "--upload",
        action="store_true",
        help="upload the wheels when every identifier passed (all or nothing, unless "
        "--skip-failed); credentials as 'manywheel upload' takes them",
    )
    add_upload_behaviour_arguments(publish)
    add_repository_arguments(parser, pypirc_flag="--pypirc", timeout_flag="--upload-timeout")


def only_options(only: str, args: argparse.Namespace) -> dict[str, str]:
    """``--only IDENTIFIER`` as configuration values, as cibuildwheel applies it: ``build`` is
    the identifier, ``skip`` nothing, every group enabled (``cp313t-*`` needs
    cpython-freethreading); ``requires-python`` still applies. A :class:`ManywheelError`
    (a usage error) with ``--build``, ``--skip`` or ``--archs``, or for no identifier."""
    from manywheel.build import BuildIdentifier
    from manywheel.errors import InputError, ManywheelError

    given = [flag for flag in ("build", "skip", "archs") if getattr(args, flag) is not None]
    if given:
        flags = " and ".join(f"--{flag}" for flag in given)
        raise ManywheelError(f"--only cannot be combined with {flags}: it selects the identifier")
    try:
        identifier = BuildIdentifier.parse(only)
    except InputError as e:
        raise ManywheelError(f"--only: {e.message}") from e
    return {"build": str(identifier), "skip": "", "archs": identifier.arch, "enable": "all"}


def cli_options(args: argparse.Namespace) -> dict[str, str]:
    """The flags given, as configuration values (``--only`` replacing the selection's)."""
    options = {
        name: value
        for dest, name in _OPTION_FLAGS.items()
        if (value := getattr(args, dest)) is not None
    }
    if args.enable:
        options["enable"] = " ".join(args.enable)
    if args.config_setting:
        options["config-settings"] = " ".join(shlex.quote(s) for s in args.config_setting)
    if args.allow_empty:
        options["allow-empty"] = "true"
    if args.only is not None:
        options.update(only_options(args.only, args))
    return options
