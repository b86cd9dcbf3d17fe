"""``manywheel patch FILE|WHEEL:MEMBER ...``: manywheel's ELF editor on the command line, with
patchelf's spellings (``--set-rpath``, ``--remove-rpath``, ``--force-rpath``, ``--replace-needed``,
``--remove-needed``, ``--set-soname``, ``--print-*``).

- ``FILE`` is edited in place, as patchelf does — atomically (a new file renamed over it, its
  mode kept) — or written to ``--output``.
- ``WHEEL:MEMBER`` is never edited in its wheel: a new wheel with the member edited (RECORD
  updated) is written to ``-w DIR``, which must be given and must not be the input's directory.
- Every result is read again and checked before anything is written; a file the editor cannot
  edit safely is refused with the reason (exit 3) and left as it was.
- Differences from patchelf: ``--set-rpath`` keeps the kind of entry the file has (a DT_RPATH
  stays a DT_RPATH; patchelf turns it into a DT_RUNPATH, which changes how the libraries it
  loads are found; ``--force-rpath`` asks for DT_RPATH as in patchelf); a library the file does
  not need is ignored, as in patchelf, but said on stderr.

Print options show the result (the file as it is when nothing is edited): ``--print-rpath``
the DT_RUNPATH (else DT_RPATH) value, ``--print-needed`` one library per line,
``--print-soname``, ``--print-interpreter``. With several targets each line starts with the
target's name.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from manywheel.cli.context import Context, Subparsers

if TYPE_CHECKING:
    from manywheel.elf import DynamicFacts, ElfChanges

__all__ = ["register"]

#: patchelf options this command does not offer: (arguments they take, why not).
_REFUSED = {
    "--set-interpreter": (1, "changing the interpreter is not something a wheel needs"),
    "--add-needed": (1, "adding a dependency is not something a repair does"),
    "--shrink-rpath": (0, "repair cleans search paths with --keep-rpath rules instead"),
    "--allowed-rpath-prefixes": (1, "repair cleans search paths with --keep-rpath rules"),
    "--no-default-lib": (0, "DT_FLAGS_1 is not edited"),
    "--clear-symbol-version": (1, "symbol versions are not edited"),
    "--add-debug-tag": (0, "DT_DEBUG is not added"),
    "--rename-dynamic-symbols": (1, "symbols are not renamed"),
    "--set-os-abi": (1, "the OS ABI is not changed"),
    "--page-size": (1, "new space is always aligned for 64 KiB pages"),
    "--clear-execstack": (0, "PT_GNU_STACK is not edited"),
    "--set-execstack": (0, "PT_GNU_STACK is not edited"),
}


def register(subparsers: Subparsers, parent: argparse.ArgumentParser) -> None:
    parser = subparsers.add_parser(
        "patch",
        parents=[parent],
        help="edit RPATH/RUNPATH, DT_NEEDED and SONAME of ELF files and wheel members "
        "(patchelf's options, every edit checked)",
        description="Edit the dynamic section of ELF files (in place, atomically, or to "
        "--output) or of wheel members (WHEEL:MEMBER: a new wheel is written to -w DIR; the "
        "input wheel is never modified). Every result is read again and checked before it is "
        "written; a file that cannot be edited safely is refused with the reason.",
    )
    parser.add_argument(
        "targets", nargs="+", metavar="FILE|WHEEL:MEMBER", help="ELF files and wheel members"
    )
    parser.add_argument(
        "--set-rpath",
        metavar="PATH",
        help="set the search path: the DT_RUNPATH or DT_RPATH the file has keeps its kind, "
        "none becomes DT_RUNPATH (patchelf turns a DT_RPATH into DT_RUNPATH: see --force-rpath; "
        "default: the path is kept)",
    )
    parser.add_argument(
        "--add-rpath",
        metavar="PATH",
        help="append PATH to the search path (as --set-rpath; default: the path is kept)",
    )
    parser.add_argument(
        "--remove-rpath", action="store_true", help="remove DT_RPATH and DT_RUNPATH"
    )
    parser.add_argument(
        "--force-rpath",
        action="store_true",
        help="with --set-rpath/--add-rpath: write DT_RPATH (searched for the libraries the "
        "file loads and theirs), removing DT_RUNPATH",
    )
    parser.add_argument(
        "--replace-needed",
        nargs=2,
        action="append",
        default=[],
        metavar=("OLD", "NEW"),
        help="replace the DT_NEEDED entry OLD (and the version needs naming it) (repeatable; "
        "default: none)",
    )
    parser.add_argument(
        "--remove-needed",
        action="append",
        default=[],
        metavar="LIB",
        help="remove the DT_NEEDED entry LIB (repeatable; default: none)",
    )
    parser.add_argument(
        "--set-soname",
        metavar="NAME",
        help="set DT_SONAME (shared libraries; default: kept)",
    )
    for what in ("rpath", "needed", "soname", "interpreter"):
        parser.add_argument(f"--print-{what}", action="store_true", help=f"print the {what}")
    parser.add_argument(
        "-o",
        "--output",
        type=Path,
        help="write the edited file here instead of replacing FILE (one FILE only; default: FILE "
        "is replaced, atomically)",
    )
    parser.add_argument(
        "-w",
        "--wheel-dir",
        type=Path,
        help="where to write the new wheel when editing WHEEL:MEMBER (required then; no default: "
        "a wheel is never edited in place)",
    )
    for option, (arity, _why) in _REFUSED.items():
        if arity:
            parser.add_argument(option, nargs=arity, help=argparse.SUPPRESS, dest=_dest(option))
        else:
            parser.add_argument(
                option, action="store_const", const=[], help=argparse.SUPPRESS, dest=_dest(option)
            )
    parser.set_defaults(handler=_handle)


def _dest(option: str) -> str:
    return "refused_" + option.lstrip("-").replace("-", "_")


@dataclass(slots=True)
class _Targets:
    files: list[Path] = field(default_factory=list)
    #: wheel -> members, in the order given.
    members: dict[Path, list[str]] = field(default_factory=dict)
    order: list[tuple[Path, str | None]] = field(default_factory=list)


def _split(targets: Sequence[str]) -> _Targets:
    found = _Targets()
    for target in targets:
        if ".whl:" in target and not Path(target).exists():
            wheel, _, member = target.partition(".whl:")
            path = Path(wheel + ".whl")
            found.members.setdefault(path, []).append(member)
            found.order.append((path, member))
        else:
            found.files.append(Path(target))
            found.order.append((Path(target), None))
    return found


def _usage(message: str) -> NoReturn:
    from manywheel.errors import ManywheelError

    raise ManywheelError(message)


def _check_usage(args: argparse.Namespace, targets: _Targets) -> None:
    for option, (_arity, why) in _REFUSED.items():
        if getattr(args, _dest(option)) is not None:
            _usage(f"{option} is not offered: {why} (patchelf has it)")
    if args.remove_rpath and (args.set_rpath is not None or args.add_rpath is not None):
        _usage("--remove-rpath cannot be combined with --set-rpath or --add-rpath")
    if args.set_rpath is not None and args.add_rpath is not None:
        _usage("--set-rpath and --add-rpath cannot be combined")
    if args.force_rpath and args.set_rpath is None and args.add_rpath is None:
        _usage("--force-rpath goes with --set-rpath or --add-rpath")
    if args.output is not None and (len(targets.files) != 1 or targets.members):
        _usage("--output takes exactly one FILE (no wheel member)")
    if targets.members and args.wheel_dir is None and _edits_asked(args):
        _usage(
            "editing a wheel member writes a new wheel (the input is never modified): give -w DIR"
        )


def _edits_asked(args: argparse.Namespace) -> bool:
    return bool(
        args.set_rpath is not None
        or args.add_rpath is not None
        or args.remove_rpath
        or args.replace_needed
        or args.remove_needed
        or args.set_soname is not None
    )


def _changes(args: argparse.Namespace, current: DynamicFacts | None) -> ElfChanges:
    from manywheel.elf import ElfChanges, SearchPathTag

    rpath = args.set_rpath
    if args.add_rpath is not None:
        now = ":".join((current.runpath or current.rpath) if current is not None else ())
        rpath = f"{now}:{args.add_rpath}" if now else args.add_rpath
    try:
        return ElfChanges(
            soname=args.set_soname,
            replace_needed=tuple((old, new) for old, new in args.replace_needed),
            remove_needed=tuple(args.remove_needed),
            rpath=rpath,
            rpath_tag=SearchPathTag.RPATH if args.force_rpath else SearchPathTag.KEEP,
            remove_rpath=args.remove_rpath,
        )
    except ValueError as e:
        _usage(str(e))


def _handle(args: argparse.Namespace, ctx: Context) -> int:
    targets = _split(args.targets)
    _check_usage(args, targets)
    facts: dict[tuple[Path, str | None], DynamicFacts] = {}
    interpreters: dict[tuple[Path, str | None], str | None] = {}
    for path in targets.files:
        facts[(path, None)], interpreters[(path, None)] = _edit_file(args, ctx, path)
    for wheel, members in targets.members.items():
        for member, (dyn, interp) in _edit_members(args, ctx, wheel, members).items():
            facts[(wheel, member)], interpreters[(wheel, member)] = dyn, interp
    _print(args, ctx, targets, facts, interpreters)
    return 0


def _edit_file(
    args: argparse.Namespace, ctx: Context, path: Path
) -> tuple[DynamicFacts, str | None]:
    import os

    from manywheel.elf import dynamic_facts, parse_elf
    from manywheel.errors import open_regular
    from manywheel.repair import edit_file

    with os.fdopen(open_regular(path), "rb") as f:
        data = f.read()
    before = dynamic_facts(data)
    changes = _changes(args, before)
    _warn_absent(ctx, str(path), before, changes)
    if changes.empty and args.output is None:
        after = data
    else:
        result = edit_file(path, changes, output=args.output)
        after = result.data
        if ctx.verbosity:
            print(f"manywheel: {path}: {result.method.value}", file=ctx.stderr)
    return dynamic_facts(after), parse_elf(after, name=str(path)).interpreter


def _edit_members(
    args: argparse.Namespace, ctx: Context, wheel: Path, members: list[str]
) -> dict[str, tuple[DynamicFacts, str | None]]:
    from manywheel.elf import dynamic_facts, parse_elf
    from manywheel.errors import InputError
    from manywheel.repair import edit_wheel_members
    from manywheel.wheel import WheelArchive

    with WheelArchive.open(wheel) as archive:
        for member in members:
            if member not in archive:
                raise InputError(f"no member {member!r}", path=str(wheel))
        data = {m: archive.read_member(m) for m in members}
    changes: dict[str, ElfChanges] = {}
    for member, raw in data.items():
        before = dynamic_facts(raw)
        changes[member] = _changes(args, before)
        _warn_absent(ctx, f"{wheel}:{member}", before, changes[member])
    if all(c.empty for c in changes.values()):  # printing only: nothing to write
        return {m: (dynamic_facts(raw), parse_elf(raw).interpreter) for m, raw in data.items()}
    output, results = edit_wheel_members(wheel, changes, args.wheel_dir)
    print(f"{wheel.name} -> {output}", file=ctx.stderr)
    return {m: (dynamic_facts(r.data), parse_elf(r.data).interpreter) for m, r in results.items()}


def _warn_absent(ctx: Context, label: str, before: DynamicFacts, changes: ElfChanges) -> None:
    wanted = [old for old, _ in changes.replace_needed] + list(changes.remove_needed)
    for name in wanted:
        if name not in before.needed:
            print(f"manywheel: {label}: no DT_NEEDED {name}: nothing to change", file=ctx.stderr)


def _print(
    args: argparse.Namespace,
    ctx: Context,
    targets: _Targets,
    facts: dict[tuple[Path, str | None], DynamicFacts],
    interpreters: dict[tuple[Path, str | None], str | None],
) -> None:
    several = len(targets.order) > 1
    for key in targets.order:
        dyn = facts[key]
        label = f"{key[0]}:{key[1]}" if key[1] is not None else str(key[0])
        lines: list[str] = []
        if args.print_rpath:
            lines.append(":".join(dyn.runpath or dyn.rpath))
        if args.print_needed:
            lines.extend(dyn.needed)
        if args.print_soname and dyn.soname is not None:
            lines.append(dyn.soname)
        if args.print_interpreter and interpreters[key] is not None:
            lines.append(str(interpreters[key]))
        for line in lines:
            print(f"{label}: {line}" if several else line, file=ctx.stdout)
