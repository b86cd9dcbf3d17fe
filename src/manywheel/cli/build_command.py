"""``manywheel build [PROJECT_DIR | SDIST] -w WHEELHOUSE``: for every selected build identifier
(cibuildwheel's identifiers and selectors), build, repair, test on a clean system and check a
wheel on this machine, then put exactly the wheels that passed in the wheelhouse and, with
``--upload``, publish them (all or nothing).

The flags are the configuration's highest source: ``[tool.manywheel]``, ``[tool.cibuildwheel]``,
``CIBW_*`` and ``MANYWHEEL_*`` are read as ``manywheel.build.load_config`` documents, and a flag
replaces the same key there (``--enable`` adds to it)."""

from __future__ import annotations

import argparse
import copy
import importlib.util
import json
import os
import platform
import shlex
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from contextlib import ExitStack
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from manywheel.cli.audit_arguments import audit_options, policies_from
from manywheel.cli.context import Context, Subparsers
from manywheel.cli.exit_codes import ExitCode
from manywheel.cli.repair_arguments import add_repair_arguments, patcher_name, repair_options
from manywheel.cli.upload_command import (
    add_repository_arguments,
    add_upload_behaviour_arguments,
    repository_from,
)

if TYPE_CHECKING:
    from manywheel.build import (
        BuildIdentifier,
        BuildOptions,
        BuildRun,
        BuildSettings,
        CacheDirectory,
        Environment,
        Interpreter,
        PackageIndex,
        ProjectConfig,
        ProjectSource,
        RepairSettings,
        RepairStep,
        RootStore,
        Selection,
        StagePlan,
        TargetPolicies,
        TestStage,
        UploadSettings,
    )
    from manywheel.policy import PolicySet

__all__ = ["register"]

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


def register(subparsers: Subparsers, parent: argparse.ArgumentParser) -> None:
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
        "instead of the project's pyproject.toml",
    )
    _add_selection(parser)
    _add_how(parser)
    _add_tests(parser)
    _add_publishing(parser)
    parser.add_argument(
        "--json", action="store_true", help="print the run as JSON (docs/build-json.md)"
    )
    add_repair_arguments(parser, plat=False, root=False)
    parser.set_defaults(handler=_handle)


def _add_selection(parser: argparse.ArgumentParser) -> None:
    select = parser.add_argument_group("which identifiers (cibuildwheel's rules)")
    select.add_argument(
        "--build",
        metavar="SELECTORS",
        help="space-separated patterns (fnmatch and {a,b} braces); default: every identifier "
        "this machine can build. An identifier named without wildcards that cannot be built is "
        "a failure with the reason",
    )
    select.add_argument("--skip", metavar="SELECTORS", help="patterns to leave out")
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
        "configuration's",
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
        "uv and PATH)",
    )
    how.add_argument(
        "--before-all",
        metavar="COMMAND",
        help="shell command run once per target before its builds, in a copy of the project, "
        "with the toolchain in CC/CXX and $MANYWHEEL_PREFIX to install native dependencies to",
    )
    how.add_argument(
        "--before-build",
        metavar="COMMAND",
        help="shell command run before each build, in the build's copy of the project",
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
        help="passed to the build backend (repeatable)",
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
        help="longest a single command (before-all, before-build, the build, a test) may run",
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
    test.add_argument("--before-test", metavar="COMMAND", help="run in the venv before install")
    test.add_argument(
        "--test-requires", metavar="REQUIREMENTS", help="installed with the wheel (space-separated)"
    )
    test.add_argument("--test-extras", metavar="EXTRAS", help="the wheel's extras (a,b)")
    test.add_argument(
        "--test-sources", metavar="PATHS", help="copied from the project into the test directory"
    )
    test.add_argument(
        "--test-groups", metavar="GROUPS", help="PEP 735 dependency groups to install too"
    )
    test.add_argument("--test-skip", metavar="SELECTORS", help="identifiers not to test")
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


def _cli_options(args: argparse.Namespace) -> dict[str, str]:
    """The flags given, as configuration values."""
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
    return options


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
    config: ProjectConfig,
    targets: TargetPolicies,
    interpreters: list[Interpreter],
) -> Environment:
    from manywheel.build import SUITES, RootSupport, ZigEnvironment, best_interpreters
    from manywheel.errors import ManywheelError

    host_arch = _host_arch()
    pip = _pip(interpreters)
    given = config.globals.env or "auto"
    env = _auto_environment(config, targets, host_arch, ctx) if given == "auto" else given
    kind, _, detail = env.partition(":")
    if kind == "container" and detail:
        from manywheel.build import ContainerEnvironment, find_engine, fit_engine

        engine = fit_engine(find_engine(_engine_names(config)), detail)
        return ContainerEnvironment(detail, engine=engine, index=_package_index(pip, ctx))
    if kind == "debian" and detail in SUITES:
        from manywheel.build import DebianEnvironment

        return DebianEnvironment(
            detail, store=_store(ctx, host_arch), index=_package_index(pip, ctx)
        )
    if env != "zig":
        where = " + ".join(config.value("env")[1])
        raise ManywheelError(f"{where}: {given!r}: unknown environment (known: {ENVIRONMENTS})")
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


def _engine_names(config: ProjectConfig) -> tuple[str, ...]:
    """cibuildwheel's ``container-engine`` first, else podman then docker."""
    engine = config.options_for(None).container_engine
    return (engine.name,) if engine is not None else ("podman", "docker")


def _auto_environment(
    config: ProjectConfig, targets: TargetPolicies, host_arch: str, ctx: Context
) -> str:
    """``container:IMAGE`` when podman or docker is installed and already has the image
    cibuildwheel would use for this machine's architecture (the project's
    ``manylinux-<arch>-image``, else the image of the manylinux policy); else ``zig``."""
    from manywheel.build import engine_with_image

    aliases = {"manylinux_2_17": "manylinux2014", "manylinux_2_12": "manylinux2010"}
    configured = config.value(f"manylinux-{host_arch}-image", f"cp312-manylinux_{host_arch}")[0]
    name = configured or aliases.get(targets.manylinux, targets.manylinux)
    repository = name if "/" in name else f"quay.io/pypa/{name}_{host_arch}"
    found = engine_with_image(repository, environ=ctx.environ, names=_engine_names(config))
    return f"container:{found[1]}" if found is not None else "zig"


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


def _exit_code(run: BuildRun) -> ExitCode:
    """0 when every identifier was built, tested and checked (and uploaded, with --upload); 1
    otherwise (the others' wheels are written); 4 when the index refused or was unreachable."""
    if run.upload_error is not None:
        return ExitCode.TOOL
    return ExitCode.OK if run.ok else ExitCode.FINDINGS


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


class _CommandParser(argparse.ArgumentParser):
    """Parses a repair command's flags; an error raises instead of exiting."""

    def error(self, message: str) -> NoReturn:
        raise ValueError(message)


def _repair_namespace(
    words: tuple[str, ...], args: argparse.Namespace
) -> argparse.Namespace | None:
    """``args`` with a ``manywheel repair``/``auditwheel repair`` command's flags over them
    (its ``--exclude`` adds to build's); ``None`` when it does not write ``{wheel}``'s repair
    to ``{dest_dir}`` (then it runs as a command). Raises ValueError for a bad flag."""
    parser = _CommandParser(prog="repair", add_help=False)
    parser.add_argument("-w", "--wheel-dir", dest="wheel_dir", default="wheelhouse")
    parser.add_argument("wheels", nargs="*")
    add_repair_arguments(parser, plat=True, root=False)
    namespace = copy.copy(args)
    del namespace.wheel_dir
    namespace.exclude = list(args.exclude)
    parsed = parser.parse_args(list(words), namespace=namespace)
    if parsed.wheel_dir != "{dest_dir}" or parsed.wheels != ["{wheel}"]:
        return None
    return parsed


def _repair_steps(
    options: BuildOptions, args: argparse.Namespace, ctx: Context, policies: PolicySet
) -> tuple[RepairStep, ...]:
    """The repair-wheel-command's steps: manywheel's/auditwheel's repair in-process, the rest
    as commands in the environment."""
    from manywheel.build import (
        CommandRepair,
        ConfigError,
        InProcessRepair,
        RepairSettingsSource,
        split_repair_command,
    )

    steps: list[RepairStep] = []
    for part in split_repair_command(options.repair_command):
        if part.repair_args is None:
            steps.append(CommandRepair(part.text))
            continue
        try:
            namespace = _repair_namespace(part.repair_args, args)
        except ValueError as e:
            where = " + ".join(options.sources.get("repair-wheel-command", ()))
            raise ConfigError(f"{where or 'repair-wheel-command'}: {part.text!r}: {e}") from e
        if namespace is None:
            steps.append(CommandRepair(part.text))
            continue
        command_policies = policies
        if namespace.policy_file != args.policy_file:
            command_policies = policies_from(namespace)
        make = partial(_repair_settings, namespace, ctx, command_policies)
        steps.append(InProcessRepair(RepairSettingsSource(make), plat=namespace.plat))
    return tuple(steps)


def _repairs(
    options: Mapping[BuildIdentifier, BuildOptions],
    args: argparse.Namespace,
    ctx: Context,
    policies: PolicySet,
) -> dict[BuildIdentifier, tuple[RepairStep, ...]]:
    """Each identifier's repair steps (the same command shares its steps and settings)."""
    made: dict[str, tuple[RepairStep, ...]] = {}
    repairs = {}
    for identifier, opts in options.items():
        if opts.repair_command not in made:
            made[opts.repair_command] = _repair_steps(opts, args, ctx, policies)
        repairs[identifier] = made[opts.repair_command]
    return repairs


def _host_pythons(interpreters: list[Interpreter], host_arch: str) -> dict[str, Path]:
    """Self-contained host CPythons (pyenv's, uv's) a clean root can borrow for a version no
    Debian suite ships: ``"3.10"`` -> its prefix."""
    from manywheel.policy import Libc

    found: dict[str, Path] = {}
    for interpreter in interpreters:
        if interpreter.free_threaded or interpreter.arch != host_arch:
            continue
        if interpreter.implementation.value != "cp" or interpreter.libc is not Libc.GLIBC:
            continue
        version = f"{interpreter.version[0]}.{interpreter.version[1]}"
        prefix = Path(interpreter.path).resolve().parent.parent
        if prefix != Path("/usr") and (prefix / "bin" / f"python{version}").is_file():
            found.setdefault(version, prefix)
    return found


def _tests(
    args: argparse.Namespace,
    ctx: Context,
    source: ProjectSource,
    interpreters: list[Interpreter],
    jobs: int,
) -> TestStage:
    from manywheel.build import CleanSystems, TestStage

    host_arch = _host_arch()
    systems = CleanSystems(
        _store(ctx, host_arch),
        host_pythons=_host_pythons(interpreters, host_arch),
        build_interpreters=args.make_interpreters,
        jobs=jobs,
    )
    index = _package_index(_pip(interpreters), ctx)
    return TestStage(systems, source.tree, index=index, timeout=args.timeout)


def _plan(
    args: argparse.Namespace,
    ctx: Context,
    *,
    config: ProjectConfig,
    policies: PolicySet,
    selection: Selection,
    source: ProjectSource,
    interpreters: list[Interpreter],
) -> StagePlan:
    from manywheel.build import CheckSettings, StagePlan, identifier_options

    options = identifier_options(config, selection.build)
    tested = any(o.run_tests for o in options.values())
    return StagePlan(
        options=options,
        repairs=_repairs(options, args, ctx, policies),
        check=CheckSettings(policies, audit_options(args, ctx.environ), strict=args.strict),
        tests=_tests(args, ctx, source, interpreters, _jobs(args)) if tested else None,
    )


def _jobs(args: argparse.Namespace) -> int:
    return args.jobs or max(1, len(os.sched_getaffinity(0)))


def _settings(
    args: argparse.Namespace, ctx: Context, config: ProjectConfig, pip: list[str]
) -> BuildSettings:
    from manywheel.build import BuildSettings, frontend_name, uv_index_environment

    env: dict[str, str] = {}
    if frontend_name(config.options_for(None)) == "build[uv]":
        index = _package_index(pip, ctx)
        env = uv_index_environment(index.index_url, index.extra_index_urls, index.find_links)
    return BuildSettings(
        jobs=_jobs(args),
        timeout=args.timeout,
        frontend_env=env,
        host_environ=dict(ctx.environ),
    )


def _upload_settings(args: argparse.Namespace, ctx: Context) -> UploadSettings:
    """Where to upload, resolved (and a password asked for) before anything is built."""
    from manywheel import __version__
    from manywheel.build import UploadSettings

    return UploadSettings(
        repository_from(args, ctx),
        skip_failed=args.skip_failed,
        skip_existing=args.skip_existing,
        index_url=args.index_url,
        user_agent=f"manywheel/{__version__}",
        timeout=args.upload_timeout,
    )


def _listed(
    args: argparse.Namespace, ctx: Context, selection: Selection, allow_empty: bool
) -> bool:
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
        message = "no build identifier selected" + (hint if selection.left_out else "")
        if allow_empty:
            print(f"manywheel: {message} (allowed: allow-empty)", file=ctx.stderr)
            return True
        raise ManywheelError(message)
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
    if run.upload is not None:
        from manywheel.cli.upload_command import upload_summary

        upload_summary(run.upload, ctx, skip_failed=args.skip_failed)
    if run.upload_error is not None:
        print(f"manywheel: error: {run.upload_error}", file=ctx.stderr)
    return code


def _handle(args: argparse.Namespace, ctx: Context) -> int:
    from manywheel.build import (
        build_wheels,
        check_wheelhouse,
        load_config,
        open_source,
        select_configured,
        target_policies,
    )
    from manywheel.cli.build_output import BuildProgress
    from manywheel.cli.upload_command import upload_line
    from manywheel.errors import ManywheelError

    if args.jobs is not None and args.jobs < 1:
        raise ManywheelError("--jobs must be at least 1")
    policies = policies_from(args)
    host_arch = _host_arch()
    with tempfile.TemporaryDirectory(prefix="manywheel-sdist-") as unpack, ExitStack() as stack:
        source = open_source(args.project, Path(unpack))
        config = load_config(
            source.tree, environ=ctx.environ, config_file=args.config_file, cli=_cli_options(args)
        )
        candidates = select_configured(config, host_arch=host_arch, unavailable=lambda i: None)
        targets = target_policies(
            config, policies, [*candidates.build, *(i for i, _ in candidates.unavailable)]
        )
        interpreters = _interpreters(args, ctx)
        environment = _environment(args, ctx, config, targets, interpreters)
        stack.callback(environment.close)
        selection = select_configured(
            config, host_arch=host_arch, unavailable=environment.unavailable
        )
        if _listed(args, ctx, selection, config.globals.allow_empty):
            return ExitCode.OK
        wheelhouse = check_wheelhouse(args.wheel_dir or Path(config.globals.output_dir))
        upload = _upload_settings(args, ctx) if args.upload else None
        plan = _plan(
            args,
            ctx,
            config=config,
            policies=policies,
            selection=selection,
            source=source,
            interpreters=interpreters,
        )
        live = ctx.stderr.isatty() and ctx.environ.get("TERM") != "dumb"
        with BuildProgress(ctx, total=len(selection.build), live=live) as progress:
            run = build_wheels(
                selection,
                environment=environment,
                source=source,
                wheelhouse=wheelhouse,
                targets=targets,
                settings=_settings(args, ctx, config, _pip(interpreters)),
                plan=plan,
                cache=_cache(ctx),
                pip=_pip(interpreters),
                environ=ctx.environ,
                log_parent=args.log_dir or _cache(ctx).root / "build-logs",
                progress=progress,
                host_arch=host_arch,
                upload=upload,
                on_upload=lambda result: upload_line(result, ctx, stream=ctx.stderr),
            )
    return _render(args, ctx, run)
