"""A wheel's members resolved where they are (never extracted): an overlay over the system."""

from __future__ import annotations

from pathlib import Path

from manywheel.elf import parse_elf
from manywheel.linker import OverlayFileSystem, Resolver, RootFileSystem, Rule

from .oracle import emulated, run_loader

WHEEL = "/demo-1.0-cp311-cp311-linux_x86_64.whl"
MEMBERS = ("pkg/_ext.so", "pkg.libs/libfoo-1234abcd.so.1")


def test_members_resolve_through_origin_and_agree_with_the_loader(built: Path) -> None:
    on_disk = built / "wheel"
    files = {f"{WHEEL}/{m}": parse_elf((on_disk / m).read_bytes(), name=m) for m in MEMBERS}
    fs = OverlayFileSystem(RootFileSystem("/"), files)
    tree = Resolver(fs).resolve(f"{WHEEL}/pkg/_ext.so")
    foo = tree.root.needed[0]
    assert (foo.rule, foo.entry) == (Rule.RPATH, "$ORIGIN/../pkg.libs")
    assert foo.path == f"{WHEEL}/pkg/../pkg.libs/libfoo-1234abcd.so.1"
    assert tree.get(foo.path) is not None
    # The same layout on disk, under the real loader: the same choices, paths moved.
    report = run_loader(str(on_disk / "pkg/_ext.so"))
    moved = {
        k: None if v is None else v.replace(WHEEL, str(on_disk)) for k, v in emulated(tree).items()
    }
    assert moved == report.chosen
    assert tree.ok


def test_a_member_the_overlay_lacks_is_not_found(built: Path) -> None:
    ext = (built / "wheel/pkg/_ext.so").read_bytes()
    fs = OverlayFileSystem(RootFileSystem("/"), {f"{WHEEL}/pkg/_ext.so": parse_elf(ext)})
    tree = Resolver(fs).resolve(f"{WHEEL}/pkg/_ext.so")
    assert [r.name for r in tree.not_found] == ["libfoo-1234abcd.so.1"]
