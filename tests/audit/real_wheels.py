"""Pinned real wheels from the package index, downloaded once into ~/.cache/manywheel/wheels/,
and auditwheel 6.8.2 (the reference) in a virtual environment of its own under the same cache."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.harness.cache import HarnessCache
from tests.harness.downloads import download_wheel

__all__ = ["AUDITWHEEL", "CACHE", "RealWheel", "auditwheel_show", "fetch", "tool_in_venv"]

CACHE = HarnessCache.default().root
AUDITWHEEL = "auditwheel==6.8.2"
TORCH = Path("/opt/wheels/torch-2.13.0+cpu-cp311-cp311-manylinux_2_28_x86_64.whl")


@dataclass(frozen=True, slots=True)
class RealWheel:
    """``requirement`` built for ``platform`` (pip's ``--platform``; pip also accepts the older
    manylinux tags it implies)."""

    requirement: str
    platform: str

    @property
    def id(self) -> str:
        return f"{self.requirement}-{self.platform}"


def fetch(wheel: RealWheel) -> Path:
    """The wheel from the cache, downloaded first if needed (skips when the index cannot give
    it: no network)."""
    if wheel.requirement == "torch==2.13.0+cpu":
        if not TORCH.is_file():
            pytest.skip(f"{TORCH} is not on this machine")
        return TORCH
    return download_wheel(wheel.requirement, wheel.platform)


def _auditwheel_bin() -> Path:
    """auditwheel 6.8.2: the test environment's (test dependency group), else one in a venv
    of its own (created once)."""
    beside = Path(sys.executable).parent / "auditwheel"
    if beside.is_file():
        return beside
    return tool_in_venv(AUDITWHEEL, "auditwheel")


def tool_in_venv(requirement: str, executable: str) -> Path:
    """``executable`` of ``requirement`` (``NAME==VERSION``), installed once in a venv of its
    own under the cache (skips when it cannot be installed)."""
    venv = CACHE / requirement.replace("==", "-")
    exe = venv / "bin" / executable
    if exe.is_file():
        return exe
    try:
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
        subprocess.run(
            [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", requirement],
            check=True,
            timeout=600,
            capture_output=True,
        )
    except (subprocess.SubprocessError, OSError) as e:
        pytest.skip(f"cannot install {requirement}: {e}")
    return exe


def _host_key() -> str:
    """What auditwheel's answer depends on besides the wheel: the host's library cache."""
    digest = hashlib.sha256(AUDITWHEEL.encode())
    for path in (Path("/etc/ld.so.cache"), Path("/etc/os-release")):
        digest.update(path.read_bytes() if path.is_file() else b"-")
    return digest.hexdigest()[:16]


def auditwheel_show(
    wheel: Path, *, remember: bool = True, extra_env: dict[str, str] | None = None
) -> dict[str, object]:
    """``auditwheel show --json`` of ``wheel`` (with ``remember``, kept per host in the cache:
    auditwheel takes minutes on the big wheels)."""
    memo = CACHE / "auditwheel-show" / _host_key() / f"{wheel.name}.json"
    if remember and memo.is_file():
        loaded: dict[str, object] = json.loads(memo.read_text())
        return loaded
    env = {"PATH": "/usr/bin:/bin", "HOME": os.environ.get("HOME", "/root"), **(extra_env or {})}
    done = subprocess.run(
        [str(_auditwheel_bin()), "show", "--json", str(wheel)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=1800,
    )
    assert done.returncode in (0, 1), done.stderr[-2000:]
    document: dict[str, object] = json.loads(done.stdout)
    if remember:
        memo.parent.mkdir(parents=True, exist_ok=True)
        memo.write_text(json.dumps(document))
    return document
