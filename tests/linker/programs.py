"""The fixture programs of tests/fixtures/linker/build.sh, as a session fixture other test
packages can import (``from tests.linker.programs import built``)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

BUILD_SCRIPT = Path(__file__).resolve().parents[1] / "fixtures" / "linker" / "build.sh"


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The directory build.sh filled (its real path, so $ORIGIN matches the loader's)."""
    missing = [t for t in ("gcc", "as", "ld") if shutil.which(t) is None]
    if missing:
        pytest.skip(f"needs {', '.join(missing)}")
    out = tmp_path_factory.mktemp("linker") / "fx"
    subprocess.run(["bash", str(BUILD_SCRIPT), str(out)], check=True, capture_output=True)
    return out.resolve()
