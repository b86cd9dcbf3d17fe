"""Real wheels from the package index, pinned by version, downloaded once into the cache.

A test that cannot get its wheel (no network, the index lacks it) skips with pip's reason."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from packaging.utils import canonicalize_name, parse_wheel_filename

from tests.harness.cache import HarnessCache

__all__ = ["compatible_platforms", "download_wheel"]


def _platform_family(platform: str) -> tuple[str, str]:
    """``manylinux_2_17_aarch64`` -> (``manylinux``, ``aarch64``); ``any`` -> (``any``, ``any``)."""
    if platform == "any":
        return "any", "any"
    head = platform.split("_", 1)[0]
    family = "musllinux" if head == "musllinux" else "any" if head == "any" else "manylinux"
    for arch in ("x86_64", "i686", "aarch64", "armv7l", "ppc64le", "ppc64", "s390x", "riscv64"):
        if platform.endswith("_" + arch):
            return family, arch
    raise ValueError(f"unknown platform {platform!r}")


def _fits(path: Path, name: str, version: str, platform: str) -> bool:
    try:
        got_name, got_version, _, tags = parse_wheel_filename(path.name)
    except ValueError:
        return False
    family, arch = _platform_family(platform)
    platforms = {t.platform for t in tags}
    if (canonicalize_name(got_name), str(got_version)) != (canonicalize_name(name), version):
        return False
    if family == "any":
        return "any" in platforms
    return any(p.startswith(family[:4]) and p.endswith("_" + arch) for p in platforms)


_LEGACY = {(2, 17): "manylinux2014", (2, 12): "manylinux2010", (2, 5): "manylinux1"}


def compatible_platforms(platform: str) -> list[str]:
    """``platform`` and every older tag a system it describes also accepts, as pip needs them
    spelled out with ``--platform``: ``manylinux_2_28_x86_64`` -> 2_28 … 2_5 and the legacy
    aliases; ``musllinux_1_2_aarch64`` -> 1_2 and 1_1."""
    parts = platform.split("_", 3)
    if len(parts) < 4 or parts[0] not in ("manylinux", "musllinux"):
        return [platform]
    family, major, minor, arch = parts[0], int(parts[1]), int(parts[2]), parts[3]
    lowest = 5 if family == "manylinux" else 1
    out = []
    for y in range(minor, lowest - 1, -1):
        out.append(f"{family}_{major}_{y}_{arch}")
        if family == "manylinux" and (major, y) in _LEGACY:
            out.append(f"{_LEGACY[major, y]}_{arch}")
    return out


def download_wheel(
    requirement: str,
    platform: str,
    *,
    python_version: str = "3.11",
    cache: HarnessCache | None = None,
) -> Path:
    """The wheel ``NAME==VERSION`` for ``platform`` (a platform tag, or ``any``), from the
    cache or else the package index."""
    name, version = requirement.split("==")
    directory = (cache or HarnessCache.default()).wheels

    def cached() -> list[Path]:
        return sorted(p for p in directory.glob("*.whl") if _fits(p, name, version, platform))

    if not cached():
        directory.mkdir(parents=True, exist_ok=True)
        argv = [
            sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary", ":all:",
            "--python-version", python_version, requirement, "-d", str(directory),
        ]  # fmt: skip
        for tag in compatible_platforms(platform):
            argv += ["--platform", tag]
        done = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=600)
        if not cached():
            reason = done.stderr.strip()[-300:]
            pytest.skip(f"cannot download {requirement} for {platform}: {reason}")
    return cached()[0]
