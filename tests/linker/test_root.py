"""--root: resolving as if a directory were the whole system. Nothing on the host may leak in."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from manywheel.linker import DependencyTree, Resolver, RootFileSystem, Rule, SearchSettings

from .oracle import GLIBC_LOADER

HOST_LIBDIR = Path("/usr/lib/x86_64-linux-gnu")
COPIED = ("libc.so.6", "libselinux.so.1", "ld-linux-x86-64.so.2")
_TRACE = ("env", "-i", "LD_TRACE_LOADED_OBJECTS=1", GLIBC_LOADER)


def _inside(fs: RootFileSystem, tree: DependencyTree) -> None:
    """Every object of the tree is a file below the root."""
    for obj in tree.objects:
        host = Path(fs.host_path(obj.realpath))
        assert host.is_file(), obj.path
        assert host.resolve().is_relative_to(Path(fs.root)), obj.path


@pytest.fixture
def synthetic_root(tmp_path: Path) -> Path:
    """A merged-/usr root with /bin/ls, libc, libselinux and the loader; no libpcre2-8."""
    if not all((HOST_LIBDIR / name).exists() for name in COPIED) or not Path("/bin/ls").exists():
        pytest.skip("needs a Debian x86-64 host")
    root = tmp_path / "root"
    libdir = root / "usr/lib/x86_64-linux-gnu"
    libdir.mkdir(parents=True)
    (root / "usr/bin").mkdir()
    (root / "lib64").mkdir()
    (root / "etc").mkdir()
    for name in COPIED:
        shutil.copy(HOST_LIBDIR / name, libdir / name)
    shutil.copy("/bin/ls", root / "usr/bin/ls")
    (root / "lib").symlink_to("usr/lib")
    (root / "bin").symlink_to("/usr/bin")  # absolute: must stay inside the root
    (root / "lib64/ld-linux-x86-64.so.2").symlink_to("/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2")
    (root / "etc/ld.so.conf").write_text("include /etc/ld.so.conf.d/*.conf\n")
    (root / "etc/ld.so.conf.d").mkdir()
    (root / "etc/ld.so.conf.d/x86_64-linux-gnu.conf").write_text("/usr/lib/x86_64-linux-gnu\n")
    return root


def test_a_library_missing_from_the_root_is_not_found(synthetic_root: Path) -> None:
    fs = RootFileSystem(synthetic_root)
    tree = Resolver(fs).resolve("/bin/ls")
    _inside(fs, tree)
    assert [r.name for r in tree.not_found] == ["libpcre2-8.so.0"]  # the host has it
    libc = next(r for r in tree.root.needed if r.name == "libc.so.6")
    # No ld.so.cache in the root: its ld.so.conf stands in for it.
    assert (libc.rule, libc.path) == (Rule.LD_SO_CONF, "/usr/lib/x86_64-linux-gnu/libc.so.6")
    assert tree.interpreter is not None
    assert tree.interpreter.path == "/lib64/ld-linux-x86-64.so.2"


def test_the_roots_own_ld_so_cache_is_used(synthetic_root: Path) -> None:
    ldconfig = shutil.which("ldconfig") or shutil.which("ldconfig", path="/sbin:/usr/sbin")
    if ldconfig is None:
        pytest.skip("needs ldconfig")
    subprocess.run([ldconfig, "-r", str(synthetic_root), "-X"], check=True, capture_output=True)
    fs = RootFileSystem(synthetic_root)
    tree = Resolver(fs).resolve("/usr/bin/ls")
    _inside(fs, tree)
    libc = next(r for r in tree.root.needed if r.name == "libc.so.6")
    assert libc.rule is Rule.LD_SO_CACHE
    assert not Path(fs.host_path("/etc/ld.so.cache")).samefile("/etc/ld.so.cache")
    assert [r.name for r in tree.not_found] == ["libpcre2-8.so.0"]


def test_default_directories_are_the_roots(synthetic_root: Path) -> None:
    (synthetic_root / "etc/ld.so.conf").unlink()
    fs = RootFileSystem(synthetic_root)
    tree = Resolver(fs).resolve("/usr/bin/ls")
    libc = next(r for r in tree.root.needed if r.name == "libc.so.6")
    assert (libc.rule, libc.path) == (Rule.DEFAULT_DIRS, "/lib/x86_64-linux-gnu/libc.so.6")
    _inside(fs, tree)


def _root_elves(root: Path) -> list[str]:
    dirs = [root / "usr/bin", *sorted((root / "usr/lib").glob("python3*/lib-dynload"))]
    return [
        "/" + str(path.relative_to(root))
        for directory in dirs
        for path in sorted(directory.iterdir())
        if path.is_file() and not path.is_symlink() and path.read_bytes()[:4] == b"\x7fELF"
    ]


def _trace_in_root(root: Path, path: str) -> dict[str, str | None]:
    done = subprocess.run(
        ["chroot", str(root), *_TRACE, path], capture_output=True, text=True, check=False
    )
    chosen: dict[str, str | None] = {}
    for line in done.stdout.splitlines():
        parts = line.split()
        if len(parts) >= 3 and parts[1] == "=>":
            chosen.setdefault(parts[0], None if parts[2] == "not" else parts[2])
        elif len(parts) == 2 and parts[0].startswith("/"):
            chosen.setdefault(parts[0], parts[0])
    return chosen


@pytest.mark.slow
@pytest.mark.root
def test_bookworm_root_agrees_with_its_own_loader(bookworm_root: Path) -> None:
    """Every program and python extension of a real Debian 12 root, resolved from outside,
    against the root's own loader run inside it (chroot)."""
    fs = RootFileSystem(bookworm_root)
    resolver = Resolver(fs, SearchSettings())
    checked = 0
    for path in _root_elves(bookworm_root):
        expected = _trace_in_root(bookworm_root, path)
        if not expected:
            continue  # static, or the loader refused it
        tree = resolver.resolve(path)
        _inside(fs, tree)
        ours: dict[str, str | None] = {
            o.found_by.name: o.path for o in tree.objects[1:] if o.found_by
        }
        ours |= {r.name: None for r in tree.not_found}
        if tree.interpreter is not None:
            ours.setdefault(tree.interpreter.path, tree.interpreter.path)
        assert ours == expected, path
        checked += 1
    assert checked >= 20
