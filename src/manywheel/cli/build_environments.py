"""Where ``manywheel build`` runs, as this machine offers it: the cache, pip, the package index
pip inside a root uses, the Debian roots' store, the interpreters found here, and the build
environment ``--env`` names (``auto`` asks the container engines, cheaply)."""

from __future__ import annotations

import argparse
import importlib.util
import os
import platform
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from manywheel.cli.build_arguments import ENVIRONMENTS
from manywheel.cli.context import Context

if TYPE_CHECKING:
    from manywheel.build import (
        CacheDirectory,
        Environment,
        Interpreter,
        PackageIndex,
        ProjectConfig,
        RootStore,
        TargetPolicies,
    )

__all__ = [
    "build_environment",
    "cache_directory",
    "find_interpreters",
    "host_pythons",
    "machine_architecture",
    "package_index",
    "pip_command",
    "root_store",
]


def cache_directory(ctx: Context) -> CacheDirectory:
    from manywheel.build import CacheDirectory

    return CacheDirectory.default(ctx.environ, Path.home())


def pip_command(interpreters: list[Interpreter]) -> list[str]:
    """pip for fetching zig and the frontend: the running Python's, else a found one's."""
    if importlib.util.find_spec("pip") is not None:
        return [sys.executable, "-m", "pip"]
    return [interpreters[0].path, "-m", "pip"] if interpreters else [sys.executable, "-m", "pip"]


def package_index(pip: list[str], ctx: Context) -> PackageIndex:
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


def root_store(ctx: Context, host_arch: str) -> RootStore:
    from manywheel.build import FALLBACK_MIRROR, RootStore, debian_arch, host_debian_mirror

    mirror = host_debian_mirror() or FALLBACK_MIRROR
    return RootStore(cache_directory(ctx), native_arch=debian_arch(host_arch), mirror=mirror)


def build_environment(
    args: argparse.Namespace,
    ctx: Context,
    config: ProjectConfig,
    targets: TargetPolicies,
    interpreters: list[Interpreter],
) -> Environment:
    from manywheel.build import SUITES, RootSupport, ZigEnvironment, best_interpreters
    from manywheel.errors import ManywheelError

    host_arch = machine_architecture()
    pip = pip_command(interpreters)
    given = config.globals.env or "auto"
    env = _auto_environment(config, targets, host_arch, ctx) if given == "auto" else given
    kind, _, detail = env.partition(":")
    if kind == "container" and detail:
        from manywheel.build import ContainerEnvironment, find_engine, fit_engine

        engine = fit_engine(find_engine(_engine_names(config)), detail)
        return ContainerEnvironment(detail, engine=engine, index=package_index(pip, ctx))
    if kind == "debian" and detail in SUITES:
        from manywheel.build import DebianEnvironment

        return DebianEnvironment(
            detail, store=root_store(ctx, host_arch), index=package_index(pip, ctx)
        )
    if env != "zig":
        where = " + ".join(config.value("env")[1])
        raise ManywheelError(f"{where}: {given!r}: unknown environment (known: {ENVIRONMENTS})")
    roots = RootSupport(
        root_store(ctx, host_arch),
        index=lambda: package_index(pip, ctx),
        make_interpreters=args.make_interpreters,
    )
    return ZigEnvironment(
        interpreters=best_interpreters(interpreters),
        targets=targets,
        cache=cache_directory(ctx),
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


def machine_architecture() -> str:
    from manywheel.build import machine_arch
    from manywheel.errors import ManywheelError

    arch = machine_arch(platform.machine())
    if arch is None:
        raise ManywheelError(f"cannot build on this machine's architecture {platform.machine()}")
    return arch


def find_interpreters(args: argparse.Namespace, ctx: Context) -> list[Interpreter]:
    from manywheel.build import InterpreterSearch, ProbeCache, discover_interpreters

    pyenv = ctx.environ.get("PYENV_ROOT") or str(Path.home() / ".pyenv")
    search = InterpreterSearch(
        explicit=tuple(args.python),
        pyenv_root=Path(pyenv),
        path=ctx.environ.get("PATH", os.defpath),
        environ=ctx.environ,
    )
    cache = ProbeCache(cache_directory(ctx).root / "interpreter-probes.json")
    found, problems = discover_interpreters(search, cache=cache)
    for problem in problems:
        print(f"manywheel: warning: {problem}", file=ctx.stderr)
    return found


def host_pythons(interpreters: list[Interpreter], host_arch: str) -> dict[str, Path]:
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
