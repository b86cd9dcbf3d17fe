"""Wheels of many libraries made from one gcc-built template by manywheel's own editor (a
hundred microseconds each, where gcc takes a tenth of a second): a chain, ``libk000.so`` needing
``libk001.so`` needing ... the last, each found through ``RUNPATH=$ORIGIN``; and as many
independent libraries. Cost must grow with the number of libraries, not with its square."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from manywheel.elf import ElfChanges, edit_elf
from tests.audit.builders import Builder
from tests.harness.extensions import write_wheel

__all__ = ["Chains", "build_chains"]

#: The template's SONAME and NEEDED: as long as every name the copies get (edited in place).
_SONAME, _NEXT = "libk000.so", "libn000.so"


@dataclass(frozen=True, slots=True)
class Chains:
    chain: Path
    independent: Path
    count: int
    #: The chain's libraries as files (``libk000.so`` ... in one directory).
    files: Path


def _template(build: Builder) -> bytes:
    build.library(_NEXT, "int next_fn(void) { return 0; }")
    c = build.work / "template.c"
    c.write_text("int next_fn(void);\nint own_fn(void) { return next_fn() + 1; }\n")
    out = build.work / "libtemplate.so"
    build.gcc(["-shared", "-fPIC", f"-Wl,-soname,{_SONAME}", "-Wl,-rpath,$ORIGIN",
               "-Wl,--enable-new-dtags", "-o", str(out), str(c), f"-L{build.libdir}",
               f"-l:{_NEXT}"])  # fmt: skip
    return out.read_bytes()


def _name(index: int) -> str:
    return f"libk{index:03}.so"


def build_chains(build: Builder, count: int) -> Chains:
    """A chain of ``count`` libraries and ``count`` independent ones, each in a wheel of its
    own (``pkg/libkNNN.so``)."""
    assert count <= 1000
    template = _template(build)
    chain, independent = {}, {}
    for index in range(count):
        last = ElfChanges(soname=_name(index), remove_needed=(_NEXT,))
        link = ElfChanges(soname=_name(index), replace_needed=((_NEXT, _name(index + 1)),))
        chain[f"pkg/{_name(index)}"] = edit_elf(template, link if index + 1 < count else last).data
        independent[f"pkg/{_name(index)}"] = edit_elf(template, last).data
    dist = build.work / f"chains-{count}"
    for sub in ("chain", "independent", "files"):
        (dist / sub).mkdir(parents=True)
    for member, data in chain.items():
        (dist / "files" / member.removeprefix("pkg/")).write_bytes(data)
    tag = "cp311-cp311-linux_x86_64"
    return Chains(
        write_wheel(dist / "chain", "chain", "1.0", tag, chain),
        write_wheel(dist / "independent", "independent", "1.0", tag, independent),
        count,
        dist / "files",
    )
