"""RootFileSystem's reading of whole files and directories (what the package databases need):
links followed inside the root and never out of it, only regular files read, a bounded size."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from manywheel.linker import RootFileSystem
from tests.harness.availability import skip_or_fail
from tests.harness.fifo import fifo_never_opened


@pytest.fixture
def root(tmp_path: Path) -> Path:
    root = tmp_path / "root"
    (root / "srv/data").mkdir(parents=True)
    (root / "srv/data/b").write_bytes(b"bee")
    (root / "srv/data/a").write_bytes(b"ay")
    (root / "var").mkdir()
    (root / "var/data").symlink_to("/srv/data")  # absolute: inside the root
    (root / "var/rel").symlink_to("../srv/data/a")
    (root / "var/out").symlink_to("/etc/passwd")  # on the host, not in the root
    (root / "var/loop").symlink_to("/var/loop")
    os.mkfifo(root / "var/fifo")
    return root


def test_links_are_followed_inside_the_root(root: Path) -> None:
    fs = RootFileSystem(root)
    assert fs.list_directory("/var/data") == ("a", "b")
    assert fs.read_regular("/var/data/b", limit=10) == b"bee"
    assert fs.read_regular("/var/rel", limit=10) == b"ay"
    assert fs.is_directory("/var/data") and not fs.is_directory("/var/rel")


@pytest.mark.parametrize(
    ("path", "code"),
    [
        ("/var/out", errno.ENOENT),
        ("/var/loop", errno.ELOOP),
        ("/var/fifo", errno.EINVAL),
        ("/var/data", errno.EISDIR),
        ("/var/absent", errno.ENOENT),
    ],
    ids=["link-out-of-the-root", "loop", "fifo", "directory", "absent"],
)
def test_only_regular_files_in_the_root_are_read(root: Path, path: str, code: int) -> None:
    with fifo_never_opened(root / "var/fifo"), pytest.raises(OSError) as info:
        RootFileSystem(root).read_regular(path, limit=1 << 20)
    assert (info.value.errno, info.value.filename) == (code, f"{root}{path}")


def test_the_size_read_is_bounded(root: Path) -> None:
    fs = RootFileSystem(root)
    assert fs.read_regular("/var/data/b", limit=3) == b"bee"
    with pytest.raises(OSError) as info:
        fs.read_regular("/var/data/b", limit=2)
    assert info.value.errno == errno.EFBIG


def test_a_device_is_not_read(tmp_path: Path) -> None:
    if os.geteuid() != 0:
        skip_or_fail("making a device node needs root (CI runs as root)")
    (tmp_path / "dev").mkdir()
    os.mknod(tmp_path / "dev/zero", 0o600 | 0o020000, os.makedev(1, 5))
    with pytest.raises(OSError) as info:
        RootFileSystem(tmp_path).read_regular("/dev/zero", limit=1 << 30)
    assert info.value.errno == errno.EINVAL


@pytest.mark.parametrize(
    "path",
    ["/var/out", "/var/loop", "/var/rel", "/var/absent"],
    ids=["out", "loop", "file", "absent"],
)
def test_listing_what_is_not_a_directory_in_the_root_raises(root: Path, path: str) -> None:
    with pytest.raises(OSError) as info:
        RootFileSystem(root).list_directory(path)
    assert info.value.filename == f"{root}{path}"
