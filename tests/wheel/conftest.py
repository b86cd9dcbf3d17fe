"""Real wheels from the package index, downloaded once and cached under ~/.cache/manywheel/."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.harness.cache import HarnessCache

#: Pinned real wheels: a platform wheel with an extension module, and a pure one.
REAL_WHEELS = {
    "pyyaml": (
        "PyYAML==6.0.2",
        "PyYAML-6.0.2-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
    ),
    "six": ("six==1.16.0", "six-1.16.0-py2.py3-none-any.whl"),
}
CACHE = HarnessCache.default().wheels


def clean_pip_env(**extra: str) -> dict[str, str]:
    """The environment without the host's PIP_* settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    env.update(PIP_DISABLE_PIP_VERSION_CHECK="1", PIP_NO_CACHE_DIR="1", **extra)
    return env


def _download(requirement: str, filename: str) -> Path:
    target = CACHE / filename
    if target.exists():
        return target
    CACHE.mkdir(parents=True, exist_ok=True)
    cmd = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--only-binary",
        ":all:",
        "--python-version",
        "3.11",
        "--platform",
        "manylinux2014_x86_64",
        "--platform",
        "any",
        "-d",
        str(CACHE),
        requirement,
    ]
    result = subprocess.run(cmd, env=clean_pip_env(), capture_output=True, text=True, check=False)
    if result.returncode != 0 or not target.exists():
        pytest.skip(f"cannot download {requirement} from the package index: {result.stderr[-300:]}")
    return target


@pytest.fixture(scope="session")
def real_wheels() -> dict[str, Path]:
    return {key: _download(req, filename) for key, (req, filename) in REAL_WHEELS.items()}
