"""Real wheels from the package index, downloaded once and cached under ~/.cache/manywheel/."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.harness.downloads import download_wheel

#: Pinned real wheels: a platform wheel with an extension module, and a pure one.
REAL_WHEELS = {
    "pyyaml": (
        "PyYAML==6.0.2",
        "PyYAML-6.0.2-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
    ),
    "six": ("six==1.16.0", "six-1.16.0-py2.py3-none-any.whl"),
}


def clean_pip_env(**extra: str) -> dict[str, str]:
    """The environment without the host's PIP_* settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    env.update(PIP_DISABLE_PIP_VERSION_CHECK="1", PIP_NO_CACHE_DIR="1", **extra)
    return env


def _download(requirement: str, filename: str) -> Path:
    platform = "any" if filename.endswith("-any.whl") else "manylinux2014_x86_64"
    wheel = download_wheel(requirement, platform)
    assert wheel.name == filename, (wheel.name, filename)
    return wheel


@pytest.fixture(scope="session")
def real_wheels() -> dict[str, Path]:
    return {key: _download(req, filename) for key, (req, filename) in REAL_WHEELS.items()}


@pytest.fixture(params=["isal", "zlib"], autouse=True)
def inflate_backend(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Every wheel test runs with python-isal's inflater and with the standard library's: the
    reader must behave the same with either (isal is used when installed)."""
    import zlib

    from manywheel.wheel import stream

    if request.param == "zlib":
        monkeypatch.setattr(stream, "inflate_module", lambda: zlib)
    elif stream.inflate_module() is zlib:
        pytest.skip("python-isal is not installed (it is a runtime dependency on x86_64/aarch64)")
    return str(request.param)
