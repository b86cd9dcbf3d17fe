"""``manywheel build [PROJECT_DIR | SDIST] -w WHEELHOUSE``: build, repair and collect a wheel for
every selected build identifier (cibuildwheel's identifiers and selectors), on this machine."""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import subprocess
import sys
import tempfile
from contextlib import ExitStack
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from manywheel.cli.audit_arguments import audit_options, policies_from
from manywheel.cli.context import Context, Subparsers
from manywheel.cli.exit_codes import ExitCode
from manywheel.cli.repair_arguments import add_repair_arguments, patcher_name, repair_options

if TYPE_CHECKING:
    from manywheel.build import (
        BuildRun,
        BuildSettings,
        CacheDirectory,
        Environment,
        Interpreter,
        PackageIndex,
        RepairSettings,
        RootStore,
        Selection,
        TargetPolicies,
    )
    from manywheel.policy import PolicySet

__all__ = ["register"]

ENVIRONMENTS = "zig, debian:SUITE, container:IMAGE, auto"


def register(subparsers: Subparsers, parent: argparse.ArgumentParser) -> None:
    parser = subparsers.add_parser(
        "build",
        parents=[parent],
        help="build manylinux/musllinux wheels for every Python and architecture, and repair them",
        description="Build a wheel for each selected build identifier (cibuildwheel's spelling: "
        "cp311-manylinux_x86_64) with a PEP 517 frontend in an isolated environment, repair it "
        "in-process as 'manywheel repair' does, and put exactly the repaired wheels in the wheel "
        "directory. Failed identifiers leave nothing there; the others go on.",
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
        default=Path("wheelhouse"),
        help="where the repaired wheels go (default: wheelhouse)",
    )
    select = parser.add_argument_group("which identifiers (cibuildwheel's rules)")
    select.add_argument(
        "--build",
        metavar="SELECTORS",
        default=None,
        help="space-separated patterns (fnmatch and {a,b} braces); default: every identifier "
        "this machine can build. An identifier named without wildcards that cannot be built is "
        "a failure with the reason",
    )
    select.add_argument(
        "--skip", metavar="SELECTORS", default="", help="patterns to leave out (default: none)"
    )
    select.add_argument(
        "--archs",
        default="auto",
        help="x86_64, aarch64, i686, ... or native, auto, auto64, auto32, all (default: auto)",
    )
    select.add_argument(
        "--enable",
        action="append",
        default=[],
        metavar="GROUP",
        help="also build cpython-freethreading or pypy identifiers (or: all); repeatable "
        "(default: none: CPython with the GIL only)",
    )
    select.add_argument(
        "--print-build-identifiers",
        action="store_true",
        help="print the identifiers that would be built, one per line, and exit",
    )
    how = parser.add_argument_group("how")
    how.add_argument(
        "--env",
        default="zig",
        metavar="ENV",
        help="where builds run: zig (zig from PyPI as the compiler, for the policy's glibc or "
        "musl, on this machine's interpreters or Debian roots'), debian:SUITE (bullseye, "
        "bookworm, trixie, sid: the suite's gcc and python in a Debian root), container:IMAGE "
        "(podman, or docker with a daemon), or auto (the manylinux image cibuildwheel would use "
        "when a container engine works and has it, else zig) (default: zig)",
    )
    how.add_argument(
        "--build-frontend",
        choices=("build", "build[uv]"),
        default="build",
        help="pypa/build with pip (as 'python -m build'), or with uv as its installer (much "
        "faster, above all under qemu) (default: build)",
    )
    how.add_argument(
        "--make-interpreters",
        action="store_true",
        help="make the Debian roots and build the CPythons (musl, free-threaded) that "
        "identifiers need and the cache lacks (minutes each, once); without it only cached "
        "ones are used",
    )
    how.add_argument(
        "--manylinux",
        default="manylinux2014",
        metavar="POLICY",
        help="the policy manylinux identifiers target (default: manylinux2014 = manylinux_2_17)",
    )
    how.add_argument(
        "--musllinux",
        default="musllinux_1_2",
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
        "(default: none)",
    )
    how.add_argument(
        "--before-build",
        metavar="COMMAND",
        help="shell command run before each build, in the build's copy of the project (default: "
        "none)",
    )
    how.add_argument(
        "-C",
        "--config-setting",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="passed to the build backend (repeatable; default: none)",
    )
    how.add_argument(
        "-j",
        "--jobs",
        type=int,
        default=None,
        metavar="N",
        help="builds at once (default: the usable cores)",
    )
    how.add_argument(
        "--timeout",
        type=float,
        default=None,
        metavar="SECONDS",
        help="longest a single command (before-all, before-build, the build) may run (default: "
        "no limit)",
    )
    how.add_argument(
        "--log-dir",
        type=Path,
        default=None,
        help="where each run's logs go (default: <cache>/build-logs; the last 20 runs are kept)",
    )
    parser.add_argument(
        "--json", action="store_true", help="print the run as JSON (docs/build-json.md)"
    )
    add_repair_arguments(parser, plat=False, root=False)
    parser.set_defaults(handler=_handle)


def _cache(ctx: Context) -> CacheDirectory:
    from manywheel.build import CacheDirectory

    return CacheDirectory.default(ctx.environ, Path.home())


def _pip(interpreters: list[Interpreter]) -> list[str]:
    """pip for fetching zig and the frontend: the running Python's, else a found one's."""
    if importlib.util.find_spec("pip") is not None:
        return [sys.executable, "-m", "pip"]
    return [interpreters[0].path, "-m", "pip"] if interpreters else [sys.executable, "-m", "pip"]


def _package_index(pip: list[str], ctx: Context) -> PackageIndex:
    """Where pip inside a root finds packages: the host's pip configuration, said explicitly."""
    from manywheel.build import PackageIndex

    env = {k: v for k, v in ctx.environ.items() if not k.startswith("PYTHON")}
    try:
        listed = subprocess.run(
            [*pip, "config", "list"],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
            check=False,
        ).stdout
    except (OSError, subprocess.TimeoutExpired):
        listed = ""
    return PackageIndex.from_pip_config(listed, ctx.environ)


def _store(ctx: Context, host_arch: str) -> RootStore:
    from manywheel.build import FALLBACK_MIRROR, RootStore, debian_arch, host_debian_mirror

    mirror = host_debian_mirror() or FALLBACK_MIRROR
    return RootStore(_cache(ctx), native_arch=debian_arch(host_arch), mirror=mirror)


def _environment(
    args: argparse.Namespace,
    ctx: Context,
    targets: TargetPolicies,
    interpreters: list[Interpreter],
    host_arch: str,
) -> Environment:
    from manywheel.build import SUITES, RootSupport, ZigEnvironment, best_interpreters
    from manywheel.errors import ManywheelError

    pip = _pip(interpreters)
    env = _auto_environment(targets, host_arch) if args.env == "auto" else str(args.env)
    kind, _, detail = env.partition(":")
    if kind == "container" and detail:
        from manywheel.build import ContainerEnvironment, find_engine, fit_engine

        engine = fit_engine(find_engine(), detail)
        return ContainerEnvironment(detail, engine=engine, index=_package_index(pip, ctx))
    if kind == "debian" and detail in SUITES:
        from manywheel.build import DebianEnvironment

        return DebianEnvironment(
            detail, store=_store(ctx, host_arch), index=_package_index(pip, ctx)
        )
    if env != "zig":
        raise ManywheelError(f"--env {args.env!r}: unknown environment (known: {ENVIRONMENTS})")
    roots = RootSupport(
        _store(ctx, host_arch),
        index=lambda: _package_index(pip, ctx),
        make_interpreters=args.make_interpreters,
    )
    return ZigEnvironment(
        interpreters=best_interpreters(interpreters),
        targets=targets,
        cache=_cache(ctx),
        pip=pip,
        environ=ctx.environ,
        host_arch=host_arch,
        roots=roots,
    )


def _auto_environment(targets: TargetPolicies, host_arch: str) -> str:
    """``container:<cibuildwheel's manylinux image>`` when a container engine works here and
    already has that image (nothing is pulled), else ``zig``."""
    from manywheel.build import UnavailableError, find_engine

    aliases = {"manylinux_2_17": "manylinux2014", "manylinux_2_12": "manylinux2010"}
    image = f"quay.io/pypa/{aliases.get(targets.manylinux, targets.manylinux)}_{host_arch}"
    try:
        engine = find_engine()
        present = subprocess.run(
            engine("image", "inspect", image), capture_output=True, check=False, timeout=60
        )
    except (UnavailableError, OSError, subprocess.TimeoutExpired):
        return "zig"
    return f"container:{image}" if present.returncode == 0 else "zig"


def _host_arch() -> str:
    from manywheel.build import machine_arch
    from manywheel.errors import ManywheelError

    arch = machine_arch(platform.machine())
    if arch is None:
        raise ManywheelError(f"cannot build on this machine's architecture {platform.machine()}")
    return arch


def _interpreters(args: argparse.Namespace, ctx: Context) -> list[Interpreter]:
    from manywheel.build import InterpreterSearch, ProbeCache, discover_interpreters

    pyenv = ctx.environ.get("PYENV_ROOT") or str(Path.home() / ".pyenv")
    search = InterpreterSearch(
        explicit=tuple(args.python),
        pyenv_root=Path(pyenv),
        path=ctx.environ.get("PATH", os.defpath),
        environ=ctx.environ,
    )
    cache = ProbeCache(_cache(ctx).root / "interpreter-probes.json")
    found, problems = discover_interpreters(search, cache=cache)
    for problem in problems:
        print(f"manywheel: warning: {problem}", file=ctx.stderr)
    return found


def _selection(
    args: argparse.Namespace, requires_python: object, environment: Environment, host_arch: str
) -> Selection:
    from packaging.specifiers import SpecifierSet

    from manywheel.build import (
        BuildSelector,
        EnableGroup,
        Platform,
        parse_archs,
        select_identifiers,
    )

    selector = BuildSelector(
        build=args.build,
        skip=args.skip,
        requires_python=requires_python if isinstance(requires_python, SpecifierSet) else None,
        enable=EnableGroup.parse(word for value in args.enable for word in value.split()),
    )
    return select_identifiers(
        selector,
        archs=parse_archs(args.archs, host_arch),
        platforms=tuple(Platform),
        unavailable=environment.unavailable,
    )


def _targets(args: argparse.Namespace, policies: PolicySet) -> TargetPolicies:
    from manywheel.build import TargetPolicies

    return TargetPolicies.from_names(policies, args.manylinux, args.musllinux)


def _exit_code(run: BuildRun) -> ExitCode:
    """0 when every identifier was built; 1 when any failed or was unavailable (the wheels of
    the others are written)."""
    return ExitCode.OK if all(o.ok for o in run.outcomes) else ExitCode.FINDINGS


def _repair_settings(args: argparse.Namespace, ctx: Context, policies: PolicySet) -> RepairSettings:
    from manywheel import __version__
    from manywheel.build import RepairSettings
    from manywheel.repair import make_patcher

    path = ctx.environ.get("PATH")
    return RepairSettings(
        options=repair_options(args, ctx.environ),
        audit=replace(audit_options(args, ctx.environ), include=tuple(args.include)),
        policies=policies,
        patcher=make_patcher(
            patcher_name(args, ctx.environ), [str(Path(sys.executable).parent)], path=path
        ),
        allow_pure=args.allow_pure_python_wheel,
        tool_version=__version__,
        path=path,
    )


def _settings(args: argparse.Namespace, ctx: Context, pip: list[str]) -> BuildSettings:
    from manywheel.build import BuildSettings, uv_index_environment

    env: dict[str, str] = {}
    if args.build_frontend == "build[uv]":
        index = _package_index(pip, ctx)
        env = uv_index_environment(index.index_url, index.extra_index_urls, index.find_links)
    return BuildSettings(
        before_all=args.before_all,
        before_build=args.before_build,
        config_settings=tuple(args.config_setting),
        jobs=args.jobs or max(1, len(os.sched_getaffinity(0))),
        timeout=args.timeout,
        frontend=args.build_frontend,
        frontend_env=env,
    )


def _listed(args: argparse.Namespace, ctx: Context, selection: Selection) -> bool:
    """Say what was left out (with -v) and, for --print-build-identifiers, what would be
    built; True when that was all there was to do."""
    from manywheel.errors import ManywheelError

    if ctx.verbosity >= 1:
        for identifier, why in selection.left_out:
            print(f"manywheel: left out {identifier}: {why}", file=ctx.stderr)
    if args.print_build_identifiers:
        for identifier in sorted([*selection.build, *(i for i, _ in selection.unavailable)]):
            print(identifier, file=ctx.stdout)
        return True
    if not selection.build and not selection.unavailable:
        hint = f" ({len(selection.left_out)} matched but cannot be built here; -v says why)"
        raise ManywheelError("no build identifier selected" + (hint if selection.left_out else ""))
    return False


def _render(args: argparse.Namespace, ctx: Context, run: BuildRun) -> int:
    from manywheel import __version__
    from manywheel.build import build_document
    from manywheel.cli.build_output import summary_table

    code = _exit_code(run)
    if args.json:
        document = build_document(run, tool_version=__version__, exit_code=int(code))
        print(json.dumps(document, indent=2), file=ctx.stdout)
    else:
        print(summary_table(run), file=ctx.stdout)
    return code


def _handle(args: argparse.Namespace, ctx: Context) -> int:
    from manywheel.build import build_wheels, check_wheelhouse, open_source
    from manywheel.cli.build_output import BuildProgress
    from manywheel.errors import ManywheelError

    if args.jobs is not None and args.jobs < 1:
        raise ManywheelError("--jobs must be at least 1")
    policies = policies_from(args)
    targets = _targets(args, policies)
    host_arch = _host_arch()
    with tempfile.TemporaryDirectory(prefix="manywheel-sdist-") as unpack, ExitStack() as stack:
        source = open_source(args.project, Path(unpack))
        interpreters = _interpreters(args, ctx)
        environment = _environment(args, ctx, targets, interpreters, host_arch)
        stack.callback(environment.close)
        selection = _selection(args, source.requires_python, environment, host_arch)
        if _listed(args, ctx, selection):
            return ExitCode.OK
        wheelhouse = check_wheelhouse(args.wheel_dir)
        live = ctx.stderr.isatty() and ctx.environ.get("TERM") != "dumb"
        with BuildProgress(ctx, total=len(selection.build), live=live) as progress:
            run = build_wheels(
                selection,
                environment=environment,
                source=source,
                wheelhouse=wheelhouse,
                targets=targets,
                settings=_settings(args, ctx, _pip(interpreters)),
                repair=lambda: _repair_settings(args, ctx, policies),
                cache=_cache(ctx),
                pip=_pip(interpreters),
                environ=ctx.environ,
                log_parent=args.log_dir or _cache(ctx).root / "build-logs",
                progress=progress,
                host_arch=host_arch,
            )
    return _render(args, ctx, run)
