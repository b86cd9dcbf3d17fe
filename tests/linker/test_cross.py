"""Cross sysroots: Debian's cross libraries (``/usr/<triplet>/lib``) laid out as a root of that
architecture, resolved from this x86-64 machine: class, byte order, machine and the per-arch
loader facts (interpreter, trusted directories) must all line up."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from manywheel.linker import RejectionReason, Resolver, RootFileSystem, Rule, loader_platform
from tests.harness.availability import skip_or_fail

# Debian's cross-library directory -> (ElfFile.arch, Debian multiarch triplet)
CROSS = {
    "aarch64-linux-gnu": ("aarch64", "aarch64-linux-gnu"),
    "arm-linux-gnueabihf": ("armv7l", "arm-linux-gnueabihf"),
    "i686-linux-gnu": ("i686", "i386-linux-gnu"),
    "powerpc64-linux-gnu": ("ppc64", "powerpc64-linux-gnu"),
    "powerpc64le-linux-gnu": ("ppc64le", "powerpc64le-linux-gnu"),
    "riscv64-linux-gnu": ("riscv64", "riscv64-linux-gnu"),
    "s390x-linux-gnu": ("s390x", "s390x-linux-gnu"),
}
LIBS = ("libstdc++.so.6", "libm.so.6", "libc.so.6", "libgcc_s.so.1")


def _sysroot(tmp_path: Path, cross: str) -> tuple[Path, str]:
    source = Path("/usr") / cross / "lib"
    if not all((source / lib).exists() for lib in LIBS):
        skip_or_fail(f"no {cross} cross libraries (scripts/bootstrap installs them)")
    arch, triplet = CROSS[cross]
    root = tmp_path / cross
    libdir = root / "usr/lib" / triplet
    libdir.mkdir(parents=True)
    for path in [*(source / lib for lib in LIBS), *source.glob("ld*.so*")]:
        shutil.copy(path, libdir / path.name)  # follows links: each name a file
    interp = Path(loader_platform(arch).interpreter)
    (root / interp.parent.relative_to("/")).mkdir(parents=True, exist_ok=True)
    (root / interp.relative_to("/")).symlink_to(f"/usr/lib/{triplet}/{interp.name}")
    return root, triplet


@pytest.mark.parametrize("cross", sorted(CROSS))
def test_cross_root_resolves_completely(tmp_path: Path, cross: str) -> None:
    root, triplet = _sysroot(tmp_path, cross)
    fs = RootFileSystem(root)
    tree = Resolver(fs).resolve(f"/usr/lib/{triplet}/libstdc++.so.6")
    assert tree.root.elf.arch == CROSS[cross][0]
    assert tree.not_found == ()
    assert tree.version_failures == ()
    assert tree.interpreter is not None
    libc = next(r for o in tree.objects for r in o.needed if r.name == "libc.so.6")
    assert libc.rule is Rule.DEFAULT_DIRS
    assert libc.directory in (f"/lib/{triplet}", f"/usr/lib/{triplet}")
    for obj in tree.objects:
        assert Path(fs.host_path(obj.realpath)).resolve().is_relative_to(root)


def test_a_host_library_in_a_cross_root_is_skipped(tmp_path: Path) -> None:
    root, triplet = _sysroot(tmp_path, "aarch64-linux-gnu")
    host_libm = Path("/usr/lib/x86_64-linux-gnu/libm.so.6")
    if not host_libm.exists():
        pytest.skip("needs an x86-64 libm")
    (root / "usr/lib/local").mkdir()
    shutil.copy(host_libm, root / "usr/lib/local/libm.so.6")
    (root / "etc").mkdir()
    (root / "etc/ld.so.conf").write_text("/usr/lib/local\n")
    tree = Resolver(RootFileSystem(root)).resolve(f"/usr/lib/{triplet}/libstdc++.so.6")
    libm = tree.root.needed[tree.root.elf.needed.index("libm.so.6")]
    assert libm.rule is Rule.DEFAULT_DIRS
    [rejected] = libm.rejected
    assert (rejected.path, rejected.reason) == (
        "/usr/lib/local/libm.so.6",
        RejectionReason.WRONG_MACHINE,
    )
