"""Edits made ahead of the plan: once the audit has scanned a wheel, the RPATH clean-up's edit
of each member whose RPATH leads outside it is known (:func:`rpath_cleanup_patches`), while the
audit still resolves and judges the wheel — Python on one core, the other one idle. Those
members are read, edited and deflated again then, on a thread of their own, in archive order;
the writer takes each result whose patch the plan turns out to make the same (a member the
repair changes more in is edited by the writer, as any other). What the thread has not started
when the writer reaches a member is left to the writer, never made twice.

The results are the bytes the writer would have made (:func:`edited_stream`); the edited
files' facts are kept for the closure check as when the writer edits them. Memory is bounded:
members bigger than :data:`LARGEST` are left to the writer, and the thread holds at most
:data:`BUDGET` bytes of results not taken yet (it waits for the writer beyond that)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence

from manywheel.elf import EditMethod, ElfFile, parse_elf
from manywheel.errors import ElfEditError
from manywheel.repair.patcher import BytesPatcher
from manywheel.repair.plan import MemberPatch
from manywheel.wheel import Deflated, EditedMember, WheelArchive, edited_stream

__all__ = ["BUDGET", "LARGEST", "EditsAhead", "PatchEdit"]

#: The biggest member edited ahead (inflated size): what the thread holds while it edits one.
LARGEST = 64 << 20
#: The most bytes of results (compressed) waiting for the writer.
BUDGET = 64 << 20

logger = logging.getLogger(__name__)

_PENDING, _RUNNING, _SKIPPED = "pending", "running", "skipped"


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
    """``patches`` (of members of ``archive`` with facts ``before``) edited and deflated again
    at ``level`` on a daemon thread, in order; :meth:`claim` hands one over to the writer."""

    def __init__(
        self,
        archive: WheelArchive,
        patches: Sequence[MemberPatch],
        before: dict[str, ElfFile],
        patcher: BytesPatcher,
        level: int,
    ) -> None:
        self._archive = archive
        self._level = level
        self._patches = {
            p.member: p
            for p in patches
            if p.member in archive and archive.member(p.member).file_size <= LARGEST
        }
        self._edits = {
            name: PatchEdit(archive, p, patcher, before.get(name))
            for name, p in self._patches.items()
        }
        self._state: dict[str, object] = dict.fromkeys(self._patches, _PENDING)
        self._held = 0
        self._stopped = threading.Event()
        #: How many results the writer took (the rest it made itself).
        self.taken = 0
        self._changed = threading.Condition()
        self._thread = threading.Thread(target=self._run, name="manywheel-edits-ahead", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        for name, edit in self._edits.items():
            with self._changed:
                while not self._stopped.is_set() and self._held > BUDGET:
                    self._changed.wait()
                if self._stopped.is_set():
                    return
                if self._state.get(name) is not _PENDING:
                    continue  # the writer has it
                self._state[name] = _RUNNING
            made: tuple[bytes, Deflated] | None = None
            try:
                made = edited_stream(self._archive, EditedMember(name, edit), self._level)
            except Exception:
                made = None
            with self._changed:
                if self._stopped.is_set():  # (closed meanwhile: what was made is let go)
                    self._changed.notify_all()
                    return
                self._state[name] = made
                if made is not None:
                    self._held += len(made[0])
                self._changed.notify_all()

    def claim(self, patch: MemberPatch) -> EditedMember | None:
        """The writer's :class:`EditedMember` for ``patch`` when it is one of the patches made
        ahead (the same patch: the same edits, the member not moved), else ``None``."""
        if self._patches.get(patch.member) != patch:
            return None
        edit = self._edits[patch.member]
        return EditedMember(patch.member, edit, lambda: self._take(patch.member))

    def edit_of(self, member: str) -> PatchEdit:
        """The edit :meth:`claim` put in the writer's member (its facts once it is made)."""
        return self._edits[member]

    def _take(self, name: str) -> tuple[bytes, Deflated] | None:
        with self._changed:
            state = self._state.get(name)
            if state is _PENDING:
                self._state[name] = _SKIPPED
                return None
            while self._state.get(name) is _RUNNING:
                self._changed.wait()
            state = self._state.pop(name, None)
            if not isinstance(state, tuple):
                return None
            self._held -= len(state[0])
            self.taken += 1
            self._changed.notify_all()
            return state

    def wait(self) -> None:
        """Until the thread has stopped: every edit it will make is made (it may also wait
        for the writer to take results: then until :meth:`close`)."""
        self._thread.join()

    def close(self) -> None:
        """Stop (after the member being edited, if any) and let go of what is held."""
        with self._changed:
            self._stopped.set()
            self._state.clear()
            self._held = 0
            self._changed.notify_all()
        self._thread.join()
        logger.debug(
            "%d of %d edits made while the audit judged the wheel", self.taken, len(self._edits)
        )
