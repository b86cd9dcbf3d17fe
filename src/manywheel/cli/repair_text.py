"""``manywheel repair``'s text: what was done to each wheel, as ``--json`` says it.

The tag; each library grafted (from where, under which name, needed by whom); each file patched
and how — DT_NEEDED renamed, DT_NEEDED removed, RPATH set (and what it was), the build
machine's RPATH/RUNPATH entries removed and which —; the libraries left out and why; the SBOM and
license texts; and why the size changed: the members added, grown and shrunk, from the two
wheels' central directories.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from manywheel.audit import ElfMember
    from manywheel.repair import Graft, MemberPatch, RepairResult

__all__ = ["describe"]

#: Patched files listed one by one before the rest are summed up (unless -v).
_PATCHED = 10


def describe(result: RepairResult, *, verbose: bool = False) -> str:
    plan = result.plan
    if plan is None:
        return f"{result.input.name}: pure wheel copied to {result.output}"
    lines = [f"{result.input.name} -> {result.output}", f"  tag: {plan.target.tag}"]
    lines += _grafts(plan.grafts, result)
    members = {m.member: m for m in result.report.members}
    patched = list(plan.patches)
    shown = patched if verbose else patched[:_PATCHED]
    for patch in shown:
        lines += _patch(patch, members.get(patch.member))
    if len(patched) > len(shown):
        lines.append(f"  … and {len(patched) - len(shown)} more files patched (-v lists them)")
    provided = dict(plan.provided)
    lines.extend(
        f"  {name}: left out, from the wheel {provided[name]} (--from-wheel)"
        if name in provided
        else f"  {name}: left out (--exclude)"
        for name in plan.excluded
    )
    if result.sbom is not None:
        owners = ", ".join(dict.fromkeys(f"{o.name} {o.version}" for _, o in result.sbom_packages))
        lines.append(f"  SBOM {result.sbom}: {owners}")
    for text in result.licenses:
        origin = f"{text.package.name} {text.package.version}" if text.package else "given"
        lines.append(f"  license {text.member} ({origin})")
    lines.extend(f"  no license text found for {source}" for source in result.unlicensed)
    if result.license_note:
        lines.append(f"  note: {result.license_note}")
    lines += _size(result)
    return "\n".join(lines)


def _grafts(grafts: tuple[Graft, ...], result: RepairResult) -> list[str]:
    needed_by = {e.soname: e.needed_by for e in result.report.external}
    lines = []
    for graft in grafts:
        size = Path(graft.file).stat().st_size
        who = sorted({w for s in graft.sonames for w in needed_by.get(s, ())})
        by = f", needed by {', '.join(who[:3])}" + (" …" if len(who) > 3 else "") if who else ""
        lines.append(f"  grafted {graft.source} as {graft.member} ({size:,} bytes{by})")
        if graft.included:
            lines.append(f"    (--include: the program must dlopen it from {graft.member})")
    return lines


def _patch(patch: MemberPatch, member: ElfMember | None) -> list[str]:
    """How one member was patched, each change on a line of its own."""
    where = patch.member
    if patch.moved_to is not None:
        where = f"{patch.member} (moved to {patch.moved_to}; a script there runs it)"
    changes = list(_changes(patch, member))
    if not changes:
        return [f"  patched {where}"]
    return [f"  patched {where}:", *(f"    {c}" for c in changes)]


def _changes(patch: MemberPatch, member: ElfMember | None) -> Iterator[str]:
    edits = patch.edits
    for old, new in edits.replace_needed:
        yield f"DT_NEEDED {old} renamed {new}"
    for name in edits.remove_needed:
        yield f"DT_NEEDED {name} removed"
    if edits.soname is not None:
        yield f"DT_SONAME set to {edits.soname}"
    if member is None:
        if edits.rpath is not None:
            yield f"RPATH set to {edits.rpath}"
        elif edits.remove_rpath:
            yield "RPATH/RUNPATH removed"
        return
    before = [*member.elf.rpath, *member.elf.runpath]
    kind = "RUNPATH" if member.elf.runpath and not member.elf.rpath else "RPATH"
    after = [] if edits.rpath is None else edits.rpath.split(":")
    gone = [e for e in before if e not in after and e in member.foreign_rpaths]
    machine = f"the build machine's {', '.join(gone)} removed (it leads outside the wheel)"
    if edits.rpath is not None and after != before:
        new_kind = kind if edits.keep_runpath else "RPATH"
        was = f" (was {kind} {':'.join(before)})" if before else ""
        yield f"{new_kind} set to {edits.rpath}{was}" + (f"; {machine}" if gone else "")
    elif edits.remove_rpath and before:
        yield machine if gone == before else f"{kind} {':'.join(before)} removed"


def _size(result: RepairResult) -> list[str]:
    """The size, and why it changed: members added, grown, shrunk (compressed sizes)."""
    grown = result.output_size - result.input_size
    lines = [f"  size: {result.input_size:,} -> {result.output_size:,} bytes ({grown:+,})"]
    why = _size_reasons(result)
    if why:
        lines.append(f"    {'; '.join(why)}")
    return lines


def _size_reasons(result: RepairResult) -> list[str]:
    sizes = result.compressed_sizes
    if sizes is None:
        sizes = _read_sizes(result)
    if sizes is None:
        return []
    old, new = sizes
    added = {n: s for n, s in new.items() if n not in old}
    removed = {n: s for n, s in old.items() if n not in new}
    changed = {n: new[n] - old[n] for n in new.keys() & old.keys() if new[n] != old[n]}
    out = []
    if added:
        out.append(f"{len(added)} members added (+{sum(added.values()):,})")
    if removed:
        out.append(f"{len(removed)} removed (-{sum(removed.values()):,})")
    for label, sign in (("grew", 1), ("shrank", -1)):
        part = {n: d for n, d in changed.items() if d * sign > 0}
        if part:
            biggest = max(part, key=lambda n: abs(part[n]))
            out.append(
                f"{len(part)} {label} ({sum(part.values()):+,}, most {biggest} {part[biggest]:+,})"
            )
    return out


def _read_sizes(result: RepairResult) -> tuple[dict[str, int], dict[str, int]] | None:
    """The members' compressed sizes read from both wheels (``None``: one cannot be read)."""
    from manywheel.wheel import WheelArchive

    try:
        with (
            WheelArchive.open(result.input) as before,
            WheelArchive.open(result.output) as after,
        ):
            old = {m.name: m.compressed_size for m in before.members}
            new = {m.name: m.compressed_size for m in after.members}
    except (OSError, ValueError):  # the size line stands without its reasons
        return None
    return old, new
