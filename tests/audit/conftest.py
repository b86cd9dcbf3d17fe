from __future__ import annotations

from pathlib import Path

import pytest

from tests.audit.builders import Builder


@pytest.fixture
def build(tmp_path: Path) -> Builder:
    libdir = tmp_path / "lib"
    libdir.mkdir()
    return Builder(tmp_path, libdir)
