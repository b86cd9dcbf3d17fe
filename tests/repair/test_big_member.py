"""A wheel with a 1 GiB ELF member is repaired with bounded memory: the member is inflated to a
temporary file, edited through a mapping (the editor reads only its headers, dynamic section
and tables) and deflated again from the file — never held whole. An error names the member,
never a temporary file. Memory is measured (the child's peak RSS), never time."""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.harness.availability import skip_or_fail
from tests.harness.mounts import in_private_mounts

pytestmark = pytest.mark.slow

SIZE = 1 << 30
MODULE = "big.cpython-311-x86_64-linux-gnu.so"
MEMBER = f"big/{MODULE}"
#: The repair's peak RSS may not come near the member's size (the whole member in memory
#: took more than twice it).
PEAK_LIMIT = 400 << 20


def _record_row(name: str, digest: hashlib._Hash, size: int) -> str:
    text = base64.urlsafe_b64encode(digest.digest()).rstrip(b"=").decode()
    return f"{name},sha256={text},{size}"


@pytest.fixture(scope="module")
def big_wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An extension with a build machine's RUNPATH (a repair removes it), padded to 1 GiB
    with zeros after its section headers, in a wheel written as a stream."""
    if shutil.which("gcc") is None:
        skip_or_fail("gcc is not installed")
    work = tmp_path_factory.mktemp("big")
    (work / "big.c").write_text("void *PyInit_big(void) { return 0; }\n")
    so = work / MODULE
    subprocess.run(
        ["gcc", "-shared", "-fPIC", "-o", str(so), str(work / "big.c"),
         "-Wl,-rpath,/home/builder/lib", "-Wl,--enable-new-dtags"],
        check=True,
    )  # fmt: skip
    head = so.read_bytes()
    wheel = work / "big-1.0-cp311-cp311-linux_x86_64.whl"
    rows = []
    with zipfile.ZipFile(wheel, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as z:
        digest = hashlib.sha256(head)
        info = zipfile.ZipInfo(MEMBER)
        info.compress_type = zipfile.ZIP_DEFLATED  # a megabyte on disk
        with z.open(info, "w", force_zip64=True) as out:
            out.write(head)
            zeros = bytes(1 << 20)
            left = SIZE - len(head)
            while left:
                chunk = zeros[: min(left, len(zeros))]
                out.write(chunk)
                digest.update(chunk)
                left -= len(chunk)
        rows.append(_record_row(MEMBER, digest, SIZE))
        meta = {
            "big-1.0.dist-info/METADATA": b"Metadata-Version: 2.1\nName: big\nVersion: 1.0\n",
            "big-1.0.dist-info/WHEEL": b"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: "
            b"false\nTag: cp311-cp311-linux_x86_64\n",
        }
        for name, data in meta.items():
            z.writestr(name, data)
            rows.append(_record_row(name, hashlib.sha256(data), len(data)))
        rows.append("big-1.0.dist-info/RECORD,,")
        z.writestr("big-1.0.dist-info/RECORD", "\n".join(rows) + "\n")
    return wheel


_PEAK = """
import resource, subprocess, sys
done = subprocess.run(sys.argv[1:], capture_output=True, text=True)
sys.stdout.write(done.stdout)
sys.stderr.write(done.stderr)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024)
sys.exit(done.returncode)
"""


def test_a_1gib_member_is_repaired_with_bounded_memory(big_wheel: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    done = subprocess.run(
        [sys.executable, "-c", _PEAK, sys.executable, "-m", "manywheel", "repair", "-w",
         str(out), str(big_wheel)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    *report, peak = done.stdout.splitlines()
    assert int(peak) < PEAK_LIMIT, f"peak RSS {int(peak) >> 20} MiB"
    assert any("the build machine's /home/builder/lib removed" in line for line in report)
    [repaired] = out.glob("*.whl")
    shown = subprocess.run(
        [sys.executable, "-m", "manywheel", "elf", "--json", f"{repaired}:{MEMBER}"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    [facts] = json.loads(shown.stdout)["files"]
    assert facts["runpath"] == [] and facts["rpath"] == []
    with zipfile.ZipFile(repaired) as z:
        assert z.getinfo(MEMBER).file_size == SIZE
        assert z.testzip() is None  # every member's CRC, the big one's too


def test_an_error_names_the_member_never_a_temporary_file(big_wheel: Path, tmp_path: Path) -> None:
    """A TMPDIR too small for the member: one line naming TMPDIR and the member, exit 3,
    nothing left in either directory."""
    tmp, out = tmp_path / "tmp", tmp_path / "out"
    tmp.mkdir()
    script = (
        f'mount -t tmpfs -o size=64m tmpfs "{tmp}"\n'
        f'"{sys.executable}" -m manywheel repair -w "{out}" "{big_wheel}" || code=$?\n'
        f'ls -A "{tmp}"\n'
        'exit "${code:-0}"\n'
    )
    done = in_private_mounts(script, {"TMPDIR": str(tmp)})
    assert (done.returncode, done.stdout) == (3, ""), done.stderr
    [line] = done.stderr.splitlines()
    assert line == (
        f"manywheel: error: {tmp} (the temporary directory, TMPDIR) for {MEMBER}: "
        "No space left on device"
    )
    assert not out.exists() or not any(out.iterdir())
