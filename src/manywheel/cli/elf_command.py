"""``manywheel elf``: a readelf for people who package Python.

``FILE`` is an ELF file, a wheel (every ELF member, found by magic), or ``WHEEL:MEMBER``. Text
output shows the header summary, interpreter, needed libraries, soname, rpath/runpath, version
needs, imported symbols grouped by the library and version they need, ISA level, executable
stack and LOAD alignment; ``--json`` prints the schema in docs/elf-json.md (schema_version 1).

A file that cannot be read is reported on stderr (one line) and the others are still shown; the
exit code is then 3 (input error).
"""

from __future__ import annotations

import argparse
import json
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from manywheel.cli.context import Context, Subparsers
from manywheel.cli.exit_codes import ExitCode, exit_code_for

if TYPE_CHECKING:
    from manywheel.elf import ElfFile, Segment

__all__ = ["SCHEMA_VERSION", "register"]

SCHEMA_VERSION = 1
_BOLD = "1"
_DIM = "2"
_YELLOW = "33"
_RED = "1;31"
_ELF_MAGIC = b"\x7fELF"
_WIDTH = 100
_SHOWN_PER_GROUP = 12


def register(subparsers: Subparsers, parent: argparse.ArgumentParser) -> None:
    parser = subparsers.add_parser(
        "elf",
        parents=[parent],
        help="show what matters for packaging in ELF files and wheels (a readelf for wheels)",
        description="Show the header, interpreter, needed libraries, soname, rpath/runpath, "
        "version needs, imported symbols by library and version, ISA level, executable stack "
        "and LOAD alignment of ELF files, of every ELF member of a wheel (FILE.whl), or of one "
        "member (FILE.whl:path/in/wheel.so).",
    )
    parser.add_argument("files", nargs="+", metavar="FILE", help="ELF file, wheel, WHEEL:MEMBER")
    parser.add_argument("--json", action="store_true", help="JSON on stdout (schema_version 1)")
    parser.add_argument(
        "-a",
        "--all-symbols",
        action="store_true",
        help=f"list every imported symbol (text output shows {_SHOWN_PER_GROUP} per group)",
    )
    parser.set_defaults(handler=_handle)


def _handle(args: argparse.Namespace, ctx: Context) -> int:
    results: list[ElfFile] = []
    codes = [_read_reporting(t, ctx, results, single=len(args.files) == 1) for t in args.files]
    if args.json:
        doc = {"schema_version": SCHEMA_VERSION, "files": [_to_json(e) for e in results]}
        json.dump(doc, ctx.stdout, indent=2)
        ctx.stdout.write("\n")
    else:
        ctx.stdout.write("\n".join(_render(e, ctx, all_symbols=args.all_symbols) for e in results))
    return max(codes)


def _read_reporting(target: str, ctx: Context, into: list[ElfFile], *, single: bool) -> int:
    """Read ``target`` into ``into``; with several targets, report a failure on stderr and go
    on (a single target's error goes to the CLI's one error handler)."""
    from manywheel.errors import ManywheelError

    try:
        into.extend(_read_target(target, ctx))
    except (ManywheelError, OSError) as e:
        if single:
            raise
        detail = f"{e.filename}: {e.strerror}" if isinstance(e, OSError) else str(e)
        print(f"manywheel: error: {detail}", file=ctx.stderr)
        return int(exit_code_for(e))
    return int(ExitCode.OK)


def _read_target(target: str, ctx: Context) -> list[ElfFile]:
    from manywheel.elf import read_elf

    if ".whl:" in target and not Path(target).exists():
        wheel, _, member = target.partition(".whl:")
        return list(_iter_wheel_elf_members(wheel + ".whl", member))
    if target.endswith(".whl"):
        found = list(_iter_wheel_elf_members(target, None))
        if not found:
            print(f"manywheel: {target}: no ELF members", file=ctx.stderr)
        return found
    return [read_elf(target)]


def _iter_wheel_elf_members(wheel: str, member: str | None) -> Iterator[ElfFile]:
    """Every ELF member of ``wheel`` (by magic), or just ``member``, parsed from the zip as a
    stream (each member opened once, nothing extracted), through the wheel reader's safety
    checks. A member named on purpose that is not an ELF file is an error, as a file would be."""
    from manywheel.audit import elf_member
    from manywheel.elf import read_elf_stream
    from manywheel.errors import InvalidWheelError
    from manywheel.wheel import StreamedMember, WheelArchive, stream_members

    def visit(streamed: StreamedMember) -> ElfFile | None:
        name = f"{wheel}:{streamed.member.name}"
        if member is not None and streamed.head != _ELF_MAGIC:  # let the reader say why
            return read_elf_stream(streamed, size=streamed.member.file_size, name=name)
        return elf_member(streamed, wheel=wheel, name=name)

    with WheelArchive.open(wheel) as archive:
        members = [m for m in archive.members if not m.is_dir]
        if member is not None:
            members = [m for m in members if m.name == member]
            if not members:
                raise InvalidWheelError(f"no member {member!r}", path=wheel)
        found = stream_members(archive, members, visit, drain=False)
    yield from (elf for elf in found if elf is not None)


# -- text ---------------------------------------------------------------------------------------


def _row(ctx: Context, label: str, value: str) -> str:
    return f"  {ctx.paint(f'{label:<13}', _DIM)}{value}".rstrip()


def _header_rows(elf: ElfFile, ctx: Context) -> list[str]:
    h = elf.header
    kind = h.type.name if h.type is not None else f"0x{h.e_type:x}"
    machine = h.machine.name if h.machine is not None else "unknown"
    arm = ""
    if h.arm_eabi_version is not None:
        arm = f", EABI{h.arm_eabi_version} {'hard' if h.arm_hard_float else 'soft'}-float"
    return [
        _row(ctx, "arch", f"{elf.arch or ctx.paint('none (not a platform-tag arch)', _YELLOW)}"),
        _row(
            ctx,
            "header",
            f"{h.elf_class.name} {h.data.name} {kind}, machine {machine} ({h.e_machine}), "
            f"OS/ABI {_osabi_name(h.osabi)} ({h.osabi}), flags 0x{h.flags:x}{arm}",
        ),
    ]


def _osabi_name(value: int) -> str:
    """``SYSV``, ``GNU``, ``FREEBSD``...: the name of an ``EI_OSABI`` value (``unknown``)."""
    from manywheel.elf import OsAbi

    try:
        return OsAbi(value).name
    except ValueError:
        return "unknown"


def _render(elf: ElfFile, ctx: Context, *, all_symbols: bool) -> str:
    lines = [ctx.paint(f"== {elf.name}", _BOLD), *_header_rows(elf, ctx)]
    add = lines.append
    add(_row(ctx, "interpreter", elf.interpreter or "-"))
    add(_row(ctx, "soname", elf.soname or "-"))
    add(_row(ctx, "needed", ", ".join(elf.needed) or "-"))
    add(_row(ctx, "rpath", ":".join(elf.rpath) or "-"))
    add(_row(ctx, "runpath", ":".join(elf.runpath) or "-"))
    level = elf.x86_isa_level
    add(_row(ctx, "x86 ISA", _isa_name(level) if level is not None else "-"))
    stack = ctx.paint("yes", _RED) if elf.executable_stack else "no"
    add(_row(ctx, "exec stack", stack + ("" if elf.has_gnu_stack else " (no PT_GNU_STACK)")))
    align = elf.load_alignment
    add(_row(ctx, "LOAD align", f"0x{align:x}" if align is not None else "-"))
    add(_row(ctx, "build id", elf.build_id.hex() if elf.build_id else "-"))
    if elf.android is not None:
        add(_row(ctx, "Android API", _android_text(elf)))
    ext = elf.python_extension()
    add(_row(ctx, "python ext", f"{ext.module} ({ext.init_symbol})" if ext else "-"))
    for label, names in (
        ("PyFPE refs", elf.symbols.pyfpe_names),
        ("UCS2 refs", elf.symbols.ucs2_names),
    ):
        if names:
            add(_row(ctx, label, ctx.paint(", ".join(names), _YELLOW)))
    lines += _version_rows(elf, ctx)
    lines += _import_rows(elf, ctx, all_symbols=all_symbols)
    return "\n".join(lines) + "\n"


def _android_text(elf: ElfFile) -> str:
    """``24 (NDK r27d, build 13750724)`` from the ident note."""
    assert elf.android is not None
    ndk = [f"NDK {elf.android.ndk_version}"] if elf.android.ndk_version else []
    ndk += [f"build {elf.android.ndk_build}"] if elf.android.ndk_build else []
    return f"{elf.android.api_level}" + (f" ({', '.join(ndk)})" if ndk else "")


def _isa_name(level: int) -> str:
    return "baseline" if level == 1 else f"x86-64-v{level}"


def _version_rows(elf: ElfFile, ctx: Context) -> list[str]:
    lines: list[str] = []
    if elf.version_needs:
        lines.append(_row(ctx, "version needs", ""))
        width = max(len(n.file) for n in elf.version_needs)
        for need in elf.version_needs:
            names = [e.name + (" (weak)" if e.weak else "") for e in need.entries]
            lead = f"    {need.file:<{width}}  "
            lines += textwrap.wrap(
                " ".join(_version_sorted(names)),
                max(_WIDTH, len(lead) + 20),
                initial_indent=lead,
                subsequent_indent=" " * len(lead),
            )
    defs = [d for d in elf.version_definitions if not d.is_base]
    if defs:
        lines.append(_row(ctx, "version defs", ""))
        text = " ".join(d.name for d in defs)
        lines += textwrap.wrap(text, _WIDTH, initial_indent="    ", subsequent_indent="    ")
    return lines


def _version_key(name: str) -> tuple[str, tuple[int, ...]]:
    """GLIBC_2.3 < GLIBC_2.25: the prefix, then the numbers."""
    prefix, _, number = name.rpartition("_")
    parts = number.split(" ")[0].split(".")
    if not all(p.isdigit() for p in parts):
        return name, ()
    return prefix, tuple(int(p) for p in parts)


def _version_sorted(names: list[str]) -> list[str]:
    return sorted(names, key=_version_key)


def _import_rows(elf: ElfFile, ctx: Context, *, all_symbols: bool) -> list[str]:
    if not elf.imports:
        return []
    lib_w = max(len("library"), *(len(g.library or "(any)") for g in elf.imports))
    ver_w = max(len("version"), *(len(g.version or "-") for g in elf.imports))
    heading = f"    {'library':<{lib_w}}  {'version':<{ver_w}}  symbols (weak ones marked ?)"
    lines = [_row(ctx, "imports", ""), ctx.paint(heading, _DIM)]
    ordered = sorted(elf.imports, key=lambda g: (g.library or "", _version_key(g.version or "")))
    for group in ordered:
        weak = set(group.weak_names)
        names = [n + ("?" if n in weak else "") for n in group.names]
        if not all_symbols and len(names) > _SHOWN_PER_GROUP:
            hidden = len(names) - _SHOWN_PER_GROUP
            names = [*names[:_SHOWN_PER_GROUP], ctx.paint(f"(+{hidden} more, -a)", _DIM)]
        lead = f"    {group.library or '(any)':<{lib_w}}  {group.version or '-':<{ver_w}}  "
        wrapped = textwrap.wrap(
            " ".join(names),
            max(_WIDTH, len(lead) + 20),
            initial_indent=lead,
            subsequent_indent=" " * len(lead),
            break_on_hyphens=False,
        )
        lines += wrapped
    return lines


# -- JSON ---------------------------------------------------------------------------------------


def _to_json(elf: ElfFile) -> dict[str, Any]:
    h = elf.header
    wheel, sep, member = elf.name.partition(".whl:")
    ext = elf.python_extension()
    level = elf.x86_isa_level
    return {
        "path": elf.name,
        "wheel": wheel + ".whl" if sep else None,
        "member": member if sep else None,
        "class": h.elf_class.name,
        "data": h.data.name,
        "osabi": h.osabi,
        "osabi_name": _osabi_name(h.osabi),
        "abi_version": h.abi_version,
        "type": h.type.name if h.type is not None else None,
        "e_type": h.e_type,
        "machine": h.machine.name if h.machine is not None else None,
        "e_machine": h.e_machine,
        "flags": h.flags,
        "entry": h.entry,
        "arch": elf.arch,
        "arm": None
        if h.arm_eabi_version is None
        else {"eabi_version": h.arm_eabi_version, "hard_float": h.arm_hard_float},
        "interpreter": elf.interpreter,
        "needed": list(elf.needed),
        "soname": elf.soname,
        "rpath": list(elf.rpath),
        "runpath": list(elf.runpath),
        "dt_flags": elf.flags,
        "dt_flags_1": elf.flags_1,
        "version_needs": [
            {
                "file": n.file,
                "versions": [
                    {"name": e.name, "index": e.index, "flags": e.flags, "weak": e.weak}
                    for e in n.entries
                ],
            }
            for n in elf.version_needs
        ],
        "version_definitions": [
            {
                "name": d.name,
                "index": d.index,
                "flags": d.flags,
                "base": d.is_base,
                "parents": list(d.parents),
            }
            for d in elf.version_definitions
        ],
        "imports": [
            {
                "library": g.library,
                "version": g.version,
                "symbols": list(g.names),
                "weak": list(g.weak_names),
            }
            for g in elf.imports
        ],
        "dynamic_symbol_count": len(elf.symbols),
        "x86_isa_level": _isa_name(level) if level is not None else None,
        "x86_isa_needed": elf.gnu_properties.x86_isa_needed,
        "x86_isa_used": elf.gnu_properties.x86_isa_used,
        "build_id": elf.build_id.hex() if elf.build_id is not None else None,
        "android": None
        if elf.android is None
        else {
            "api_level": elf.android.api_level,
            "ndk_version": elf.android.ndk_version,
            "ndk_build": elf.android.ndk_build,
        },
        "executable_stack": elf.executable_stack,
        "has_gnu_stack": elf.has_gnu_stack,
        "load_alignment": elf.load_alignment,
        "segments": [_segment_json(s) for s in elf.segments],
        "python_extension": None
        if ext is None
        else {
            "module": ext.module,
            "init_symbol": ext.init_symbol,
            "python_major": ext.python_major,
        },
        "pyfpe_symbols": list(elf.symbols.pyfpe_names),
        "ucs2_symbols": list(elf.symbols.ucs2_names),
    }


def _segment_json(seg: Segment) -> dict[str, Any]:
    flags = "".join(c if seg.flags & bit else "" for c, bit in (("R", 4), ("W", 2), ("X", 1)))
    return {
        "type": seg.type.name if seg.type is not None else None,
        "p_type": seg.p_type,
        "flags": flags,
        "offset": seg.offset,
        "vaddr": seg.vaddr,
        "filesz": seg.filesz,
        "memsz": seg.memsz,
        "align": seg.align,
    }
