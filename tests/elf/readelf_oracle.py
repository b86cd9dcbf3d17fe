"""GNU readelf as an oracle: run it (many files per call) and parse the facts we compare."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from manywheel.elf import ElfFile

READELF_ARGS = ("readelf", "-W", "-l", "-n", "-d", "-V", "--dyn-syms")
_DYN = re.compile(r"^\s*0x[0-9a-f]+ \((\w+)\)\s+(.*)$")
_BRACKET = re.compile(r"\[(.*)\]$")
_VERNEED_FILE = re.compile(r"Version: \d+\s+File: (\S+)\s+Cnt: (\d+)")
_VERNEED_AUX = re.compile(r"Name: (\S+)\s+Flags: (.*?)\s+Version: (\d+)")
_VERDEF = re.compile(r"Rev: \d+\s+Flags: (.*?)\s+Index: (\d+)\s+Cnt: (\d+)\s+Name: (\S+)")
_VERDEF_PARENT = re.compile(r"Parent \d+: (\S+)")
_SYM = re.compile(
    r"^\s*(\d+): ([0-9a-f]+)\s+(\S+)\s+(<[^>]*>: \d+|\S+)\s+(<[^>]*>: \d+|\S+)\s+(\S+)\s+"
    r"(?:\[[^\]]*\]\s+)?(\S+)\s?(.*)$"
)
SHN_ABS = 0xFFF1
_PHDR = re.compile(
    r"^\s+(LOAD|GNU_STACK)\s+0x[0-9a-f]+ 0x[0-9a-f]+ 0x[0-9a-f]+ 0x[0-9a-f]+ 0x[0-9a-f]+ "
    r"([R ][W ][E ]) 0x([0-9a-f]+)$"
)
_INTERP = re.compile(r"\[Requesting program interpreter: (.*)\]$")
_BUILD_ID = re.compile(r"Build ID: ([0-9a-f]+)")
_ISA_NEEDED = re.compile(r"x86 ISA needed: (.*)$")
_FLAG_BITS = {"none": 0, "BASE": 1, "WEAK": 2, "INFO": 4}


@dataclass
class ReadelfFacts:
    needed: list[str] = field(default_factory=list)
    soname: str | None = None
    rpath: str | None = None
    runpath: str | None = None
    #: (file, [(name, flags, index)])
    version_needs: list[tuple[str, list[tuple[str, int, int]]]] = field(default_factory=list)
    #: (name, index, flags, parents)
    version_definitions: list[tuple[str, int, int, tuple[str, ...]]] = field(default_factory=list)
    #: Symbol names as readelf prints them: name, name@VER, name@@VER (without " (n)").
    symbols: list[str] = field(default_factory=list)
    #: (type, bind, visibility, ndx) per symbol, as printed.
    symbol_kinds: list[tuple[str, str, str, str]] = field(default_factory=list)
    interpreter: str | None = None
    #: (flags as printed, e.g. "R E", alignment) per PT_LOAD.
    loads: list[tuple[str, int]] = field(default_factory=list)
    gnu_stack: str | None = None
    build_id: str | None = None
    #: The x86 ISA-needed levels listed in the GNU property note, e.g. ["x86-64-v3"].
    isa_needed: list[str] = field(default_factory=list)


def _flags(text: str) -> int:
    return sum(_FLAG_BITS.get(part.strip(), 0) for part in text.split("|"))


def parse_readelf(text: str) -> ReadelfFacts:
    """Facts from the output of READELF_ARGS for one file."""
    facts = ReadelfFacts()
    in_dynsym = False
    for line in text.splitlines():
        if line.startswith("Symbol table '.dynsym'"):
            in_dynsym = True
        elif in_dynsym:
            sym = _SYM.match(line)
            if sym:
                facts.symbols.append(re.sub(r" \(\d+\)$", "", sym.group(8)))
                facts.symbol_kinds.append((sym.group(4), sym.group(5), sym.group(6), sym.group(7)))
            elif not line.strip():
                in_dynsym = False
        else:
            _parse_other(facts, line)
    return facts


def _parse_segments_and_notes(facts: ReadelfFacts, line: str) -> bool:
    if m := _PHDR.match(line):
        if m.group(1) == "LOAD":
            facts.loads.append((m.group(2), int(m.group(3), 16)))
        else:
            facts.gnu_stack = m.group(2)
    elif m := _INTERP.search(line):
        facts.interpreter = m.group(1)
    elif m := _BUILD_ID.search(line):
        facts.build_id = m.group(1)
    elif m := _ISA_NEEDED.search(line):
        items = [i.strip() for i in m.group(1).split(",")]
        facts.isa_needed += [i for i in items if i.startswith("x86-64-")]
    else:
        return False
    return True


def _parse_other(facts: ReadelfFacts, line: str) -> None:
    if _parse_segments_and_notes(facts, line):
        return
    dyn = _DYN.match(line)
    if dyn:
        tag, value = dyn.groups()
        bracket = _BRACKET.search(value)
        text = bracket.group(1) if bracket else value
        if tag == "NEEDED":
            facts.needed.append(text)
        elif tag == "SONAME":
            facts.soname = text
        elif tag == "RPATH":
            facts.rpath = text
        elif tag == "RUNPATH":
            facts.runpath = text
        return
    if m := _VERNEED_FILE.search(line):
        facts.version_needs.append((m.group(1), []))
    elif m := _VERNEED_AUX.search(line):
        facts.version_needs[-1][1].append((m.group(1), _flags(m.group(2)), int(m.group(3))))
    elif m := _VERDEF.search(line):
        facts.version_definitions.append((m.group(4), int(m.group(2)), _flags(m.group(1)), ()))
    elif m := _VERDEF_PARENT.search(line):
        name, index, flags, parents = facts.version_definitions[-1]
        facts.version_definitions[-1] = (name, index, flags, (*parents, m.group(1)))


def run_readelf(paths: Sequence[Path]) -> dict[Path, ReadelfFacts]:
    """readelf's facts for each path, in one process per 64 files."""
    facts: dict[Path, ReadelfFacts] = {}
    for start in range(0, len(paths), 64):
        batch = list(paths[start : start + 64])
        proc = subprocess.run(
            [*READELF_ARGS, *map(str, batch)], capture_output=True, text=True, check=False
        )
        if len(batch) == 1:
            facts[batch[0]] = parse_readelf(proc.stdout)
            continue
        chunks = re.split(r"^File: (.+)$", proc.stdout, flags=re.MULTILINE)
        by_name = dict(zip(chunks[1::2], chunks[2::2], strict=True))
        for path in batch:
            facts[path] = parse_readelf(by_name[str(path)])
    return facts


def readelf_symbol_string(elf: ElfFile, index: int) -> str:
    """How readelf prints symbol ``index``'s name: ``name``, ``name@VER`` or ``name@@VER``."""
    sym = elf.symbols[index]
    if sym.version is None or (sym.shndx == SHN_ABS and sym.name == sym.version):
        return sym.name  # readelf does not repeat a version-definition symbol's own version
    default = sym.defined and sym.version_file is None and not sym.version_hidden
    return f"{sym.name}{'@@' if default else '@'}{sym.version}"


def assert_matches_readelf(elf: ElfFile, facts: ReadelfFacts) -> None:
    """NEEDED, SONAME, RPATH, RUNPATH, version needs/definitions and every dynamic symbol's
    name and version agree with readelf."""
    assert list(elf.needed) == facts.needed
    assert elf.soname == facts.soname
    assert (":".join(elf.rpath) if elf.rpath else None) == facts.rpath
    assert (":".join(elf.runpath) if elf.runpath else None) == facts.runpath
    ours_needs = [
        (n.file, [(e.name, e.flags, e.index) for e in n.entries]) for n in elf.version_needs
    ]
    assert ours_needs == facts.version_needs
    ours_defs = [(d.name, d.index, d.flags, d.parents) for d in elf.version_definitions]
    assert ours_defs == facts.version_definitions
    _assert_segments_and_notes(elf, facts)
    assert len(elf.symbols) == len(facts.symbols)
    for i, (printed, kind) in enumerate(zip(facts.symbols, facts.symbol_kinds, strict=True)):
        if kind[0] == "SECTION":  # readelf prints the section's name for section symbols
            continue
        assert readelf_symbol_string(elf, i) == printed, f"symbol {i}"
        sym = elf.symbols[i]
        assert (kind[3] == "UND") == (not sym.defined), f"symbol {i} ndx"
        if sym.binding is not None and kind[1] in ("LOCAL", "GLOBAL", "WEAK"):
            assert sym.binding.name == kind[1], f"symbol {i} binding"


def _assert_segments_and_notes(elf: ElfFile, facts: ReadelfFacts) -> None:
    assert elf.interpreter == facts.interpreter
    if facts.loads:
        assert elf.load_alignment == min(align for _, align in facts.loads)
    if facts.gnu_stack is not None:
        assert elf.executable_stack == ("E" in facts.gnu_stack)
    assert (elf.build_id.hex() if elf.build_id else None) == facts.build_id
    level = elf.x86_isa_level
    ours = None if level is None else ("x86-64-baseline" if level == 1 else f"x86-64-v{level}")
    assert ours == (facts.isa_needed[-1] if facts.isa_needed else None)
