"""Helpers for the ELF editor's tests: the checks every edited file must pass (our reader, GNU
readelf with no complaint, ``strip`` and our reader again), loadable fixtures built with gcc for
the host and the cross toolchains (a program and two libraries, one with a 32 MiB .bss so that a
growing table needs a new segment), and layout variants made from them (no spare dynamic slot,
no section headers)."""

from __future__ import annotations

import shutil
import struct
import subprocess
from dataclasses import dataclass, replace
from itertools import pairwise
from pathlib import Path

from manywheel.elf import (
    ElfChanges,
    ElfEdit,
    ElfFile,
    SegmentType,
    SymbolTable,
    parse_elf,
    read_elf_stream,
)
from manywheel.elf.structure import ElfStructure
from tests.elf.readelf_oracle import assert_matches_readelf, run_readelf
from tests.fixtures.elf.build import remove_section_headers
from tests.harness.availability import skip_or_fail

__all__ = [
    "LOADABLE",
    "Loadable",
    "LoadableSet",
    "build_loadable",
    "check_edit",
    "exact_fit",
    "readelf_clean",
    "run_program",
    "strip_copy",
]

FIX_C = """
int fix_value(void) { return 42; }
"""
BIG_C = """
char big_area[32 << 20];
int big_value(void) { big_area[7] = 1; return big_area[7] + 6; }
"""
PROG_C = """
#include <stdio.h>
int fix_value(void);
int big_value(void);
char prog_area[32 << 20];
int main(void) {
    prog_area[3] = 1;
    printf("fix %d big %d\\n", fix_value(), big_value() + prog_area[3] - 1);
    return 0;
}
"""
EXPECTED_OUTPUT = "fix 42 big 7"
#: A build machine's directory after the one the program needs: the clean-up removes it.
BUILD_RPATH = "$ORIGIN:/home/builder/project/build/lib"


@dataclass(frozen=True, slots=True)
class Loadable:
    """A toolchain the loadable set is built with, and how its programs run."""

    arch: str
    cc: str
    strip: str
    #: qemu-user's name for the architecture (``None``: runs natively).
    qemu: str | None = None
    #: The cross libc's root (given to qemu's -L, where the foreign loader is found).
    sysroot: str | None = None
    #: Run with this loader explicitly (musl), instead of the program's PT_INTERP.
    loader: str | None = None


LOADABLE = (
    Loadable("x86_64", "gcc", "strip"),
    Loadable("x86_64-musl", "musl-gcc", "strip", loader="/lib/ld-musl-x86_64.so.1"),
    Loadable(
        "aarch64",
        "aarch64-linux-gnu-gcc",
        "aarch64-linux-gnu-strip",
        "aarch64",
        "/usr/aarch64-linux-gnu",
    ),
    Loadable(
        "ppc64le",
        "powerpc64le-linux-gnu-gcc",
        "powerpc64le-linux-gnu-strip",
        "ppc64le",
        "/usr/powerpc64le-linux-gnu",
    ),
    Loadable(
        "s390x", "s390x-linux-gnu-gcc", "s390x-linux-gnu-strip", "s390x", "/usr/s390x-linux-gnu"
    ),
    Loadable("i686", "i686-linux-gnu-gcc", "i686-linux-gnu-strip", "i386", "/usr/i686-linux-gnu"),
    Loadable(
        "riscv64",
        "riscv64-linux-gnu-gcc",
        "riscv64-linux-gnu-strip",
        "riscv64",
        "/usr/riscv64-linux-gnu",
    ),
    Loadable(
        "armv7l",
        "arm-linux-gnueabihf-gcc",
        "arm-linux-gnueabihf-strip",
        "arm",
        "/usr/arm-linux-gnueabihf",
    ),
)


@dataclass(frozen=True, slots=True)
class LoadableSet:
    toolchain: Loadable
    directory: Path
    #: Runs libfix.so.1 and libbig.so.1 from its own directory ($ORIGIN); a 32 MiB .bss.
    program: Path
    fix: Path
    big: Path


def _run(argv: list[str], cwd: Path) -> None:
    done = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, check=False)
    if done.returncode:
        raise RuntimeError(f"{' '.join(argv)} failed: {done.stderr[-2000:]}")


def build_loadable(toolchain: Loadable, directory: Path) -> LoadableSet:
    """Build the set with ``toolchain`` (default flags: the page size its linker chooses);
    skips, or fails in CI, when the compiler or the runner is not installed."""
    needed = [toolchain.cc]
    if toolchain.qemu is not None:
        needed.append(f"qemu-{toolchain.qemu}-static")
    missing = [tool for tool in needed if shutil.which(tool) is None]
    if toolchain.loader is not None and not Path(toolchain.loader).exists():
        missing.append(toolchain.loader)
    if missing:
        skip_or_fail(f"cannot build or run {toolchain.arch} programs: {', '.join(missing)} missing")
    directory.mkdir(parents=True, exist_ok=True)
    for name, text in (("fix.c", FIX_C), ("big.c", BIG_C), ("prog.c", PROG_C)):
        (directory / name).write_text(text)
    shared = [toolchain.cc, "-shared", "-fPIC", "-O1"]
    _run([*shared, "-o", "libfix.so.1", "fix.c", "-Wl,-soname,libfix.so.1"], directory)
    _run([*shared, "-o", "libbig.so.1", "big.c", "-Wl,-soname,libbig.so.1"], directory)
    rpath = f"-Wl,--enable-new-dtags,-rpath,{BUILD_RPATH}"
    program = [toolchain.cc, "-O1", "prog.c", "libfix.so.1", "libbig.so.1", rpath]
    # -rdynamic: the program exports (hashes) symbols, so that its symbol count is known
    # without section headers; the hidden one exports nothing (see the refusal test)
    _run([*program, "-rdynamic", "-o", "prog"], directory)
    _run([*program, "-o", "prog-hidden"], directory)
    return LoadableSet(
        toolchain,
        directory,
        directory / "prog",
        directory / "libfix.so.1",
        directory / "libbig.so.1",
    )


def run_program(toolchain: Loadable, program: Path) -> subprocess.CompletedProcess[str]:
    """Run ``program`` with the real dynamic loader: natively, under qemu-user with the cross
    libc's root (-L: the foreign loader and libc come from there), or through musl's loader."""
    argv = [str(program)]
    if toolchain.loader is not None:
        argv = [toolchain.loader, *argv]
    if toolchain.qemu is not None:
        argv = [f"qemu-{toolchain.qemu}-static", "-L", str(toolchain.sysroot), *argv]
    env = {"PATH": "/usr/bin:/bin", "QEMU_LD_PREFIX": str(toolchain.sysroot or "")}
    return subprocess.run(argv, capture_output=True, text=True, env=env, check=False, timeout=120)


def strip_copy(path: Path, strip: str, dest: Path) -> Path:
    """``strip`` run on a copy of ``path`` at ``dest`` (what a user may do after a repair)."""
    shutil.copy2(path, dest)
    done = subprocess.run([strip, str(dest)], capture_output=True, text=True, check=False)
    assert done.returncode == 0 and not done.stderr.strip(), (strip, done.stderr)
    return dest


def _readelf(path: Path) -> tuple[int, set[str]]:
    done = subprocess.run(
        ["readelf", "-W", "-a", "--dyn-syms", "-D", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    return done.returncode, {line.replace(str(path), "FILE") for line in done.stderr.splitlines()}


def readelf_clean(path: Path, original: bytes | None = None) -> None:
    """GNU readelf reads every table of ``path`` with no error or warning the ``original``
    (if given) did not already cause (readelf cannot unwind an ARM file without sections)."""
    code, complaints = _readelf(path)
    known_code, known = 0, set[str]()
    if original is not None:
        baseline = path.with_name(f"{path.name}.original")
        baseline.write_bytes(original)
        known_code, known = _readelf(baseline)
        baseline.unlink()
    assert code <= known_code and complaints <= known, sorted(complaints - known)


def _comparable(elf: ElfFile) -> ElfFile:
    """The facts an edit of the dynamic section must not change, layout aside."""
    return replace(
        elf,
        name="",
        needed=(),
        soname=None,
        rpath=(),
        runpath=(),
        version_needs=(),
        imports=(),
        segments=(),
        sections=(),
        symbols=SymbolTable(),
    )


def check_edit(
    before: bytes, result: ElfEdit, path: Path, *, expected: ElfFile | None = None
) -> ElfFile:
    """The checks every edited file passes: written to ``path``, our reader reads it, GNU
    readelf reads it without complaint and agrees with our reader, every fact but the dynamic
    ones is the input's, and the program headers obey the gABI's rules. Returns the facts."""
    path.write_bytes(result.data)
    after = parse_elf(result.data, name=str(path))
    old = parse_elf(before)
    assert _comparable(after) == _comparable(old)
    a, b = after.symbols, old.symbols
    assert (a.raw, a.versym, a.names) == (b.raw, b.versym, b.names)
    renames = result.renames
    slots = tuple(
        None if s is None else replace(s, file=renames.get(s.file, s.file) if s.file else None)
        for s in b.version_slots
    )
    assert a.version_slots == slots
    if expected is not None:
        assert (after.needed, after.soname, after.rpath, after.runpath) == (
            expected.needed,
            expected.soname,
            expected.rpath,
            expected.runpath,
        )
    readelf_clean(path, before)
    facts = run_readelf([path])[path]
    if after.sections:
        assert_matches_readelf(after, facts)
    else:  # readelf reads versions and symbols through section headers: the dynamic entries
        seen = (facts.needed, facts.soname, facts.rpath, facts.runpath)
        assert seen == (
            list(after.needed),
            after.soname,
            ":".join(after.rpath) if after.rpath else None,
            ":".join(after.runpath) if after.runpath else None,
        )
    check_segments(result.data)
    check_streams(result.data, after)
    return after


def check_streams(data: bytes, whole: ElfFile) -> None:
    """The result reads the same from a stream (a wheel member inflating), in one pass."""
    import io

    def reopen() -> io.BytesIO:
        raise AssertionError("reading the edited file from a stream took a second pass")

    streamed = read_elf_stream(io.BytesIO(data), size=len(data), name=whole.name, reopen=reopen)
    assert replace(streamed, sections=()) == replace(whole, sections=())


def check_segments(data: bytes) -> None:
    """PT_LOADs sorted and congruent; PT_PHDR and the table inside one; PT_DYNAMIC writable."""
    elf = ElfStructure.parse(data, "<edited>")
    loads = elf.loads
    assert [p.vaddr for p in loads] == sorted(p.vaddr for p in loads)
    for p in loads:
        assert p.align <= 1 or (p.vaddr - p.offset) % p.align == 0
    for a, b in pairwise(loads):
        assert a.mem_end <= b.vaddr, "PT_LOADs overlap"
    table = elf.phoff, elf.phoff + len(elf.phdrs) * elf.phentsize
    phdr = elf.segment(SegmentType.PHDR)
    if phdr is not None:
        assert (phdr.offset, phdr.file_end) == table
        assert elf.load_of(phdr.vaddr, phdr.filesz) is not None
    dynamic = elf.segment(SegmentType.DYNAMIC)
    if dynamic is not None:
        load = elf.load_of(dynamic.vaddr, dynamic.filesz)
        assert load is not None and load.flags & 2, "PT_DYNAMIC is not in a writable PT_LOAD"


def exact_fit(source: Path, dest: Path) -> Path:
    """A copy of ``source`` whose dynamic array has no spare DT_NULL slot (PT_DYNAMIC and
    .dynamic shrunk to the entries and one terminator: what some linkers write)."""
    data = bytearray(source.read_bytes())
    elf = ElfStructure.parse(bytes(data), str(source))
    assert elf.dynamic is not None
    segment = elf.segment(SegmentType.DYNAMIC)
    assert segment is not None
    size = (len(elf.dynamic.entries) + 1) * elf.layout.dyn.size
    segment.filesz = segment.memsz = size
    for section in elf.shdrs:
        if section.name == ".dynamic":
            section.size = size
    table = elf.pack_phdrs()
    data[elf.phoff : elf.phoff + len(table)] = table
    if elf.shdrs:
        sections = elf.pack_shdrs()
        data[elf.shoff : elf.shoff + len(sections)] = sections
    dest.write_bytes(bytes(data))
    dest.chmod(source.stat().st_mode)
    return dest


def without_sections(source: Path, dest: Path) -> Path:
    """A copy of ``source`` without section headers (sstrip's output)."""
    remove_section_headers(source, dest)
    dest.chmod(source.stat().st_mode)
    return dest


def set_machine(data: bytes, machine: int) -> bytes:
    """``data`` with another e_machine (for refusal tests)."""
    out = bytearray(data)
    struct.pack_into("<H" if data[5] == 1 else ">H", out, 18, machine)
    return bytes(out)


def apply(path: Path, changes: ElfChanges, dest: Path) -> ElfEdit:
    from manywheel.elf import edit_elf

    result = edit_elf(path.read_bytes(), changes, name=str(path))
    dest.write_bytes(result.data)
    dest.chmod(path.stat().st_mode)
    return result
