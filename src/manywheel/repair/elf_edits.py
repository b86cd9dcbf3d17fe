"""Editing ELF files outside a repair (what ``manywheel patch`` does): a file replaced atomically
or written elsewhere, and members of a wheel edited into a new wheel — never the input wheel.

A wheel member is edited by writing a *new* wheel (same name, same tags) into a directory other
than the input's: the wheel's RECORD must list the new hash, so editing a member in place would
mean rewriting the input, which manywheel never does. Unchanged members are copied as their
compressed bytes; an edited member keeps its compressed stream but for the blocks around the
edit (see :mod:`manywheel.wheel.splice`).
"""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from manywheel.elf import EditMethod, ElfChanges, ElfEdit, edit_elf
from manywheel.errors import ElfEditError, InputError
from manywheel.wheel import EditedMember, MemberContent, WheelArchive, rewrite_wheel

__all__ = ["MemberEdit", "edit_file", "edit_wheel_members", "replace_file"]


def replace_file(path: Path, data: bytes, mode: int | None = None) -> None:
    """Write ``data`` to a new file beside ``path`` and rename it over ``path`` (atomic: a
    reader sees the old file or the new one). ``mode``: the new file's permission bits (default:
    those of the file replaced, else 0o644)."""
    if mode is None:
        mode = stat.S_IMODE(path.stat().st_mode) if path.exists() else 0o644
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        Path(name).chmod(mode)
        Path(name).replace(path)
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise


def edit_file(path: Path, changes: ElfChanges, *, output: Path | None = None) -> ElfEdit:
    """Edit the ELF file at ``path``: replaced atomically (mode kept), or written to ``output``
    (with ``path``'s mode) leaving ``path`` as it is. Nothing is written when nothing changes
    (``output`` then gets a copy)."""
    data = path.read_bytes()
    result = edit_elf(data, changes, name=str(path))
    mode = stat.S_IMODE(path.stat().st_mode)
    if output is not None and (result.changed or not _same_file(path, output)):
        replace_file(output, result.data, mode)
    elif result.changed:
        replace_file(path, result.data, mode)
    return result


def _same_file(a: Path, b: Path) -> bool:
    return b.exists() and a.exists() and a.samefile(b)


@dataclass(slots=True)
class MemberEdit:
    """One member's edit, run by the wheel writer; :attr:`result` once it ran."""

    member: str
    changes: ElfChanges
    wheel: str
    result: ElfEdit | None = None

    def __call__(self, data: bytes) -> Sequence[tuple[int, bytes]] | bytes:
        try:
            self.result = edit_elf(data, self.changes, name=self.member)
        except ElfEditError as e:
            raise ElfEditError(e.message, path=self.wheel, member=self.member) from e
        if self.result.method in (EditMethod.IN_PLACE, EditMethod.UNCHANGED):
            return self.result.patches
        return self.result.data


def edit_wheel_members(
    wheel: Path,
    changes: Mapping[str, ElfChanges],
    dest_dir: Path,
    *,
    compress_level: int = 6,
) -> tuple[Path, dict[str, ElfEdit]]:
    """Write a copy of ``wheel`` into ``dest_dir`` with its members ``changes`` names edited;
    returns the new wheel and each member's edit. ``dest_dir`` must not be the input's own
    directory (the input is never replaced). Nothing is left in ``dest_dir`` on failure."""
    dest_dir.mkdir(parents=True, exist_ok=True)
    if (dest_dir / wheel.name).exists() and (dest_dir / wheel.name).samefile(wheel):
        raise InputError(
            "the new wheel would replace its input: write it to another directory",
            path=str(wheel),
        )
    edits = {
        member: MemberEdit(member, member_changes, str(wheel))
        for member, member_changes in changes.items()
    }
    with WheelArchive.open(wheel) as archive:
        for member in edits:
            if member not in archive:
                raise InputError(f"no member {member!r}", path=str(wheel))
        contents = {
            member: MemberContent(EditedMember(member, edit)) for member, edit in edits.items()
        }
        pending = rewrite_wheel(archive, dest_dir, changes=contents, compress_level=compress_level)
    with pending:
        output = pending.commit()
    results = {member: edit.result for member, edit in edits.items()}
    assert all(r is not None for r in results.values())
    return output, {m: r for m, r in results.items() if r is not None}
