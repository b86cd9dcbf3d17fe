"""Several processes writing wheels into one directory at once, and a writer killed mid-way: the
directory only ever holds complete, valid wheels."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

from manywheel.wheel import verify_wheel
from tests.wheel.builders import wheel_files, write_wheel

_WORKER = """
import sys
from pathlib import Path
from manywheel.wheel import WheelArchive, rewrite_wheel

source, dest, index = sys.argv[1], sys.argv[2], int(sys.argv[3])
for round in range(8):
    with WheelArchive.open(source) as archive:
        platforms = ["manylinux_2_17_x86_64"] if index % 2 else None
        change = {"demo/__init__.py": f"writer = {index}\\nround = {round}\\n".encode()}
        rewrite_wheel(archive, dest, changes=change, platforms=platforms).commit(durable=False)
"""

_SLOW_WORKER = """
import sys
from pathlib import Path
from manywheel.wheel import WheelArchive, rewrite_wheel

source, dest, big = sys.argv[1], sys.argv[2], Path(sys.argv[3])
with WheelArchive.open(source) as archive:
    rewrite_wheel(archive, dest, additions={"demo/big.bin": big}, compress_level=9).commit()
"""


def _source(tmp_path: Path) -> Path:
    files = wheel_files({"demo/__init__.py": b"x = 1\n", "demo/data.bin": bytes(range(256)) * 4000})
    return write_wheel(tmp_path / "demo-1.0-py3-none-any.whl", files)


def test_concurrent_writers_leave_only_complete_wheels(tmp_path: Path) -> None:
    source = _source(tmp_path)
    dest = tmp_path / "dest"
    dest.mkdir()
    procs = [
        subprocess.Popen([sys.executable, "-c", _WORKER, str(source), str(dest), str(i)])
        for i in range(6)
    ]
    checked = 0
    while any(proc.poll() is None for proc in procs):  # read while they write
        for path in dest.glob("*.whl"):
            assert verify_wheel(path) == ()
            checked += 1
    assert [proc.wait(timeout=120) for proc in procs] == [0] * 6
    assert checked > 0
    names = sorted(p.name for p in dest.iterdir())
    assert names == ["demo-1.0-py3-none-any.whl", "demo-1.0-py3-none-manylinux_2_17_x86_64.whl"]
    for path in dest.iterdir():
        assert verify_wheel(path) == ()


def test_killed_writer_leaves_no_wheel(tmp_path: Path) -> None:
    source = _source(tmp_path)
    dest = tmp_path / "dest"
    dest.mkdir()
    big = tmp_path / "big.bin"
    with big.open("wb") as out:
        for i in range(200):
            out.write(i.to_bytes(4, "little") * (2**18))
    proc = subprocess.Popen([sys.executable, "-c", _SLOW_WORKER, str(source), str(dest), str(big)])
    deadline = time.monotonic() + 60
    while not list(dest.glob(".manywheel-*/*.whl")) and time.monotonic() < deadline:
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL, "the writer finished before it could be killed"
    assert list(dest.glob("*.whl")) == []
