"""Edits made ahead of the plan, while the audit scans the wheel: the RPATH clean-up's edit of a
member whose RPATH leads outside the wheel depends on that member alone
(:func:`rpath_cleanup_patches`), so it is made on the scanning thread as soon as the member is
read and parsed — from the bytes the scan has in memory (never inflated again), on both cores,
interleaved with the scan's other work — and the writer takes each result whose patch the plan
turns out to make the same. A member the repair changes more in (a graft's DT_NEEDED, libpython,
another wheel's directory) is edited by the writer as the plan says, as any other.

The results are the bytes the writer would have made (:func:`edited_stream`); the edited
files' facts are kept for the closure check as when the writer edits them. Memory is bounded:
only members the scan reads whole (at most ``CONTENT_LIMIT``) are edited here, and at most
:data:`BUDGET` bytes of results (compressed) are kept; the rest is left to the writer."""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence

from manywheel.audit import ScannedElf
from manywheel.elf import EditMethod, ElfFile, parse_elf
from manywheel.errors import ElfEditError
from manywheel.repair.options import RepairOptions
from manywheel.repair.patcher import BytesPatcher
from manywheel.repair.plan import MemberPatch, rpath_cleanup_patches
from manywheel.wheel import Deflated, EditedMember, WheelArchive, edited_stream

__all__ = ["BUDGET", "EditsAhead", "PatchEdit"]

logger = logging.getLogger(__name__)

#: The most bytes of results (compressed) kept for the writer.
BUDGET = 256 << 20


class PatchEdit:
    """Edits one member's bytes as ``patch`` says (an :class:`EditedMember`'s ``edit``, called
    on the writer's threads or ahead) and keeps the facts of the result for the closure
    check."""

    def __init__(
        self,
        archive: WheelArchive,
        patch: MemberPatch,
        patcher: BytesPatcher,
        before: ElfFile | None,
    ) -> None:
        self._archive = archive
        self._patch = patch
        self._patcher = patcher
        self._before = before
        self.after: ElfFile | None = None

    def __call__(self, data: bytes) -> Sequence[tuple[int, bytes]] | bytes:
        member = self._patch.member
        try:
            result = self._patcher.edit(data, self._patch.edits, name=member)
        except ElfEditError as e:  # name the wheel and the member
            raise ElfEditError(e.message, path=str(self._archive.path), member=member) from e
        if self._before is not None:
            self.after = result.facts_after(self._before)
        else:
            self.after = result.elf or parse_elf(result.data, name=member)
        if result.method in (EditMethod.IN_PLACE, EditMethod.UNCHANGED):
            return result.patches  # (none when unchanged: the member is copied as it was)
        return result.data


class EditsAhead:
    """The clean-up's edits of ``archive``'s members, made by :meth:`on_content` (the scan's
    callback, on its threads) with ``patcher`` at compression ``level``; :meth:`claim` hands
    one over to the writer."""

    def __init__(
        self,
        archive: WheelArchive,
        options: RepairOptions,
        patcher: BytesPatcher,
        level: int,
        *,
        android: bool,
    ) -> None:
        self._archive = archive
        self._options = options
        self._patcher = patcher
        self._level = level
        self._android = android
        self._lock = threading.Lock()
        self._made: dict[str, tuple[MemberPatch, PatchEdit, tuple[bytes, Deflated]]] = {}
        self._held = 0
        #: How many results the writer took (the other members it edited itself).
        self.taken = 0

    def on_content(self, name: str, elf: ElfFile, content: bytes) -> None:
        """Make the clean-up's edit of member ``name`` (facts ``elf``, bytes ``content``) if it
        has one; a failure is left to the writer, which makes the edit again and reports it."""
        scanned = (ScannedElf(name, elf, len(content)),)
        patches = rpath_cleanup_patches(scanned, self._options, android=self._android)
        if not patches:
            return
        (patch,) = patches
        edit = PatchEdit(self._archive, patch, self._patcher, elf)
        try:
            made = edited_stream(
                self._archive, EditedMember(name, edit), self._level, content=content
            )
        except Exception:
            logger.debug("%s: editing ahead failed; the writer edits it", name, exc_info=True)
            return
        if made is None:
            return
        with self._lock:
            if self._held + len(made[0]) <= BUDGET:
                self._made[name] = (patch, edit, made)
                self._held += len(made[0])

    def claim(self, patch: MemberPatch) -> tuple[EditedMember, PatchEdit] | None:
        """The writer's :class:`EditedMember` for ``patch`` and its edit (whose facts it keeps)
        when it was made ahead with the same patch (the same edits, the member not moved),
        else ``None``."""
        with self._lock:
            entry = self._made.get(patch.member)
        if entry is None or entry[0] != patch:
            return None
        edit = entry[1]
        return EditedMember(patch.member, edit, lambda: self._take(patch.member)), edit

    def _take(self, name: str) -> tuple[bytes, Deflated] | None:
        with self._lock:
            entry = self._made.pop(name, None)
            if entry is None:
                return None
            self._held -= len(entry[2][0])
            self.taken += 1
            return entry[2]

    def close(self) -> None:
        """Let go of the results not taken."""
        with self._lock:
            logger.debug(
                "%d edits made while the wheel was scanned, %d left", self.taken, len(self._made)
            )
            self._made.clear()
            self._held = 0
