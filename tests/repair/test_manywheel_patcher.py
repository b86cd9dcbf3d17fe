"""Repair with manywheel's own editor (the default ``--patcher manywheel``): the same ELF files
as with patchelf, members edited in memory with their compressed streams kept but around the
edit, an edit that cannot be made stopping the repair with the member named, ``--strip``."""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import pytest

from manywheel.audit import AuditOptions
from manywheel.elf import parse_elf
from manywheel.errors import ElfEditError
from manywheel.repair import (
    ElfEdits,
    ElfPatcher,
    ManywheelPatcher,
    PatchelfPatcher,
    RepairOptions,
    RepairRequest,
    repair_wheel,
)
from manywheel.wheel import WheelArchive
from tests.repair.natives import Natives


@pytest.fixture(scope="module")
def chain(natives: Natives) -> Path:
    """An extension needing libfoo (which needs libbar), built with a build-machine RUNPATH."""
    ext = natives.extension(
        "mwchain",
        "foo(1);",
        ["-lfoo"],
        body="int foo(int);",
        extra=["-Wl,--enable-new-dtags,-rpath,/home/builder/build/lib:$ORIGIN"],
    )
    return natives.wheel("mwchain", {"mwchain.so": ext, "mwchain/helper.so": ext})


def _repair(
    wheel: Path, out: Path, natives: Natives, patcher: ElfPatcher, **options: object
) -> Path:
    return repair_wheel(
        wheel,
        out,
        RepairRequest(
            patcher=patcher,
            options=RepairOptions(**options),  # type: ignore[arg-type]
            audit=AuditOptions(extra_ldpaths=(str(natives.libdir),)),
        ),
    ).output


def _elves(wheel: Path) -> dict[str, tuple[object, ...]]:
    facts: dict[str, tuple[object, ...]] = {}
    with zipfile.ZipFile(wheel) as z:
        for name in z.namelist():
            data = z.read(name)
            if data[:4] == b"\x7fELF":
                elf = parse_elf(data)
                facts[name] = (elf.needed, elf.soname, elf.rpath, elf.runpath, elf.version_needs)
    return facts


def test_same_files_as_patchelf(
    chain: Path, natives: Natives, patchelf_patcher: PatchelfPatcher, tmp_path: Path
) -> None:
    """Grafting, renaming, setting SONAMEs and RPATHs, cleaning the build machine's RUNPATH:
    every ELF file of the repaired wheel has the dynamic facts patchelf would have given it."""
    ours = _repair(chain, tmp_path / "ours", natives, ManywheelPatcher())
    theirs = _repair(chain, tmp_path / "theirs", natives, patchelf_patcher)
    assert ours.name == theirs.name
    ours_facts, theirs_facts = _elves(ours), _elves(theirs)
    assert ours_facts == theirs_facts
    assert any("libfoo-" in n for n in ours_facts)  # the graft happened
    ext = ours_facts["mwchain.so"]
    assert ext[3] == ()  # RUNPATH became RPATH (auditwheel's), the build directory gone
    assert ext[2] == ("$ORIGIN", "$ORIGIN/mwchain.libs")


def test_a_cleaned_member_keeps_its_compressed_stream(natives: Natives, tmp_path: Path) -> None:
    """Cleaning a RUNPATH rewrites a string near the start of the file: the member is not
    deflated again, only the blocks around the string are."""
    noise = natives.wheels / "mwclean-noise.bin"
    noise.write_bytes(os.urandom(400_000))  # incompressible: the member has many blocks
    big = natives.extension(
        "mwclean",
        "",
        [],
        body=f'__asm__(".section .rodata\\n.incbin \\"{noise}\\"\\n.previous");',
        extra=["-Wl,--enable-new-dtags,-rpath,$ORIGIN:/home/builder/build/lib"],
    )
    wheel = natives.wheel("mwclean", {"mwclean.so": big})
    out = _repair(wheel, tmp_path / "out", natives, ManywheelPatcher())
    with zipfile.ZipFile(out) as z:
        assert parse_elf(z.read("mwclean.so")).runpath == ("$ORIGIN",)

    def raw(path: Path) -> bytes:
        with WheelArchive.open(path) as archive:
            m = archive.member("mwclean.so")
            return os.pread(archive.fileno(), m.compressed_size, m.data_offset)

    before, after = raw(wheel), raw(out)
    kept = 0
    while kept < min(len(before), len(after)) and before[-1 - kept] == after[-1 - kept]:
        kept += 1
    assert kept > len(before) // 2


def test_strip_goes_through_a_file(chain: Path, natives: Natives, tmp_path: Path) -> None:
    out = _repair(chain, tmp_path / "out", natives, ManywheelPatcher(), strip=True)
    with zipfile.ZipFile(out) as z:
        ext = parse_elf(z.read("mwchain.so"))
    assert not any(s.name == ".symtab" for s in ext.sections)
    assert any(n.startswith("libfoo-") for n in ext.needed)


def test_an_edit_that_cannot_be_made_names_the_member(natives: Natives, tmp_path: Path) -> None:
    """A static executable has no dynamic section: asked for an RPATH, the editor refuses, and
    the apply step names the wheel and the member (nothing is written)."""
    from manywheel.audit import audit_wheel
    from manywheel.policy import load_policies
    from manywheel.repair import apply_plan, plan_repair
    from manywheel.repair.plan import MemberPatch
    from tests.repair.natives import gcc

    source = natives.wheels / "mwstatic.c"
    source.write_text("void _start(void) { for (;;) {} }\n")
    static = natives.wheels / "mwstatic"
    gcc(["-static", "-nostdlib", "-o", str(static), str(source)])
    ext = natives.extension("mwplain", "", [])
    wheel = natives.wheel("mwstatic", {"mwplain.so": ext, "mwstatic/tool": static.read_bytes()})
    policies = load_policies()
    audit = AuditOptions(extra_ldpaths=(str(natives.libdir),))
    report = audit_wheel(wheel, policies=policies, options=audit)
    plan = plan_repair(report, policies, RepairOptions(), audit=audit, digest=lambda _: "0" * 64)
    forced = type(plan)(**{f: getattr(plan, f) for f in plan.__dataclass_fields__})
    forced = forced.__class__(
        **{
            **{f: getattr(plan, f) for f in plan.__dataclass_fields__},
            "patches": (MemberPatch("mwstatic/tool", ElfEdits(rpath="$ORIGIN")),),
        }
    )
    out = tmp_path / "out"
    out.mkdir()
    with WheelArchive.open(wheel) as archive, pytest.raises(ElfEditError) as caught:
        request = RepairRequest(ManywheelPatcher(), policies=policies, audit=audit)
        apply_plan(archive, report, forced, request, dest_dir=out)
    assert caught.value.member == "mwstatic/tool" and caught.value.path == str(wheel)
    assert "no dynamic section" in str(caught.value)
    assert list(out.iterdir()) == []
