"""The README's table of exit codes beside auditwheel's is measured, not remembered: each row
is run through auditwheel 6.8.2 and manywheel on the same input."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.harness.availability import skip_or_fail
from tests.harness.extensions import write_wheel
from tests.repair.natives import Natives, unfindable_library

README = Path(__file__).parents[2] / "README.md"
AUDITWHEEL = Path(sys.executable).parent / "auditwheel"


def _missing(tmp: Path, natives: Natives) -> Path:
    return tmp / "missing-1.0-cp311-cp311-linux_x86_64.whl"


def _corrupt(tmp: Path, natives: Natives) -> Path:
    path = tmp / "bad-1.0-cp311-cp311-linux_x86_64.whl"
    path.write_bytes(b"PK\x03\x04 not a zip")
    return path


def _pure(tmp: Path, natives: Natives) -> Path:
    return write_wheel(tmp, "purecode", "1.0", "py3-none-any", {"purecode/__init__.py": b""})


def _library_not_found(tmp: Path, natives: Natives) -> Path:
    links = unfindable_library(tmp / "lib", "libcodegone.so.1")
    ext = natives.extension("codegone", "gone();", links, body="int gone(void);")
    return natives.wheel("codegone", {"codegone.so": ext})


#: (README's first cell, command, input, auditwheel's code, manywheel's code)
ROWS: list[tuple[str, str, Callable[[Path, Natives], Path], int, int]] = [
    ("a pure wheel", "show", _pure, 1, 1),
    ("a file that does not exist", "show", _missing, 2, 3),
    ("a file that does not exist", "repair", _missing, 2, 3),
    ("a corrupt zip", "show", _corrupt, 1, 3),
    ("a corrupt zip", "repair", _corrupt, 1, 3),
    ("`repair`: a library the wheel needs is not found", "repair", _library_not_found, 1, 2),
]


@pytest.mark.parametrize(
    ("row", "command", "make", "theirs", "ours"),
    ROWS,
    ids=[f"{r[1]}-{r[2].__name__.strip('_')}" for r in ROWS],
)
def test_the_readme_table_is_what_both_tools_do(  # noqa: PLR0917 - one row of the table
    row: str,
    command: str,
    make: Callable[[Path, Natives], Path],
    theirs: int,
    ours: int,
    natives: Natives,
    tmp_path: Path,
) -> None:
    if not AUDITWHEEL.exists():
        skip_or_fail("auditwheel (the test dependency group's) is not installed")
    assert f"| {row}" in README.read_text(encoding="utf-8")
    wheel = make(tmp_path, natives)
    argv = [command, *(["-w", str(tmp_path / "out")] if command == "repair" else []), str(wheel)]
    for tool, expected in ((str(AUDITWHEEL), theirs), (sys.executable, ours)):
        prefix = [tool] if tool != sys.executable else [tool, "-m", "manywheel"]
        done = subprocess.run([*prefix, *argv], capture_output=True, text=True, check=False)
        assert done.returncode == expected, (tool, done.stderr[-500:])
