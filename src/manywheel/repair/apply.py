"""Carrying out a :class:`RepairPlan`: patch members and grafted libraries — in memory with a
:class:`BytesPatcher` (manywheel's own editor: the member's bytes in, the edited bytes out, no
temporary file), else in a private temporary directory —, write the new wheel beside its
destination, prove its closure, and only then let the caller commit it."""

from __future__ import annotations

import errno
import logging
import shutil
import stat
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path

from manywheel.audit import AuditReport, ScannedElf, analyze
from manywheel.elf import EditMethod, ElfFile, parse_elf, read_elf
from manywheel.errors import ElfEditError, ToolError
from manywheel.policy import Verdict, WheelRequirements, evaluate
from manywheel.repair.patcher import BytesPatcher, ElfPatcher, NonePatcher, strip
from manywheel.repair.plan import (
    MemberPatch,
    RepairPlan,
    RepairRefusedError,
    excluded_sonames,
    without_libraries,
)
from manywheel.repair.request import RepairRequest
from manywheel.wheel import (
    Content,
    EditedMember,
    MemberContent,
    PendingWheel,
    WheelArchive,
    WheelFilename,
    rewrite_wheel,
    rewritten_filename,
    structural_findings,
)

__all__ = ["apply_plan", "check_closure", "script_shim"]

logger = logging.getLogger(__name__)


def script_shim(moved_to: str) -> bytes:
    """A script that runs the ELF executable moved to ``moved_to`` (auditwheel's shim)."""
    return f"""\
#!python
import os
import sys
import sysconfig


if __name__ == "__main__":
    os.execv(
        os.path.join(sysconfig.get_path("platlib"), {moved_to!r}),
        sys.argv,
    )
""".encode()


@dataclass(slots=True)
class _Edits:
    changes: dict[str, Content]
    additions: dict[str, Content]
    #: Members whose ELF bytes changed or are new: member -> the file on disk, or its facts
    #: when the editor already knows them.
    elves: dict[str, Path | ElfFile]
    #: Members edited while the wheel is written: their facts are known once it is.
    late: dict[str, _MemberEdit] = field(default_factory=dict)

    def settle(self) -> None:
        """Take the facts of the members edited during the write."""
        for name, edit in self.late.items():
            assert edit.after is not None, name
            self.elves[name] = edit.after


def _patched_copy(
    archive: WheelArchive, patch: MemberPatch, path: Path, patcher: ElfPatcher, strip_it: bool
) -> Path:
    """``patch.member`` streamed out to ``path``, stripped if asked, then patched."""
    with archive.open_member(patch.member) as stream, path.open("wb") as f:
        shutil.copyfileobj(stream, f, 1 << 20)
    try:
        if strip_it:
            strip(path)
        patcher.apply(path, patch.edits)
    except ToolError as e:  # name the member, not the temporary copy
        raise ToolError(e.message, path=str(archive.path), member=patch.member) from e
    return path


class _MemberEdit:
    """Edits one member's bytes on the wheel writer's threads (``EditedMember``) and keeps the
    facts of the result for the closure check."""

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


def _patch_members(
    archive: WheelArchive, report: AuditReport, plan: RepairPlan, work: Path, request: RepairRequest
) -> _Edits:
    """Each patched member: edited in memory by the wheel writer (:class:`EditedMember`) with a
    :class:`BytesPatcher`, else in a file of its own — two at a time: the inflate and a
    patcher's process leave the GIL free."""
    out = _Edits({}, {}, {})
    patcher, options = request.patcher, request.options
    if isinstance(patcher, BytesPatcher) and not options.strip:
        facts = {m.member: m.elf for m in report.members}
        for patch in plan.patches:
            edit = _MemberEdit(archive, patch, patcher, facts.get(patch.member))
            content = EditedMember(patch.member, edit)
            out.late[patch.moved_to or patch.member] = edit
            _place(archive, patch, content, out)
        return out
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="patch") as pool:
        paths = pool.map(
            lambda item: _patched_copy(
                archive, item[1], work / f"member-{item[0]}", patcher, options.strip
            ),
            enumerate(plan.patches),
        )
        for patch, path in zip(plan.patches, paths, strict=True):
            out.elves[patch.moved_to or patch.member] = path
            _place(archive, patch, path, out)
    return out


def _place(
    archive: WheelArchive, patch: MemberPatch, content: Path | EditedMember, out: _Edits
) -> None:
    """The patched member in the new wheel: where it was, or moved behind a script shim."""
    mode = archive.member(patch.member).mode & 0o7777 or 0o755
    if patch.moved_to is None:
        out.changes[patch.member] = MemberContent(content, mode)
    else:
        out.changes[patch.member] = MemberContent(script_shim(patch.moved_to), mode)
        out.additions[patch.moved_to] = MemberContent(content, mode)


def _graft_libraries(plan: RepairPlan, work: Path, request: RepairRequest, out: _Edits) -> None:
    patcher, options = request.patcher, request.options
    for graft in plan.grafts:
        mode = (Path(graft.file).stat().st_mode & 0o7777) | stat.S_IWUSR
        if isinstance(patcher, BytesPatcher) and not options.strip:
            try:
                result = patcher.edit(Path(graft.file).read_bytes(), graft.edits, name=graft.file)
            except ElfEditError as e:
                raise ElfEditError(e.message, path=graft.file) from e
            out.additions[graft.member] = MemberContent(result.data, mode)
            out.elves[graft.member] = result.elf or parse_elf(result.data, name=graft.member)
            continue
        path = work / graft.name
        shutil.copyfile(graft.file, path)
        path.chmod(mode)
        try:
            if options.strip:
                strip(path)
            patcher.apply(path, graft.edits)
        except ToolError as e:
            raise ToolError(e.message, path=graft.file) from e
        out.additions[graft.member] = MemberContent(path, mode)
        out.elves[graft.member] = path


def _refuse_edits(report: AuditReport, plan: RepairPlan) -> None:
    """``--patcher none``: a plan that edits any ELF file cannot be carried out. Say which
    files, and when the edits are only the RPATH clean-up, how to do without it."""
    edited = [p.member for p in plan.patches if not p.edits.empty]
    edited += [f"{g.member} (grafted from {g.source})" for g in plan.grafts]
    if not edited:
        return
    shown = ", ".join(edited[:10]) + (f" and {len(edited) - 10} more" if len(edited) > 10 else "")
    cleanup_only = not plan.grafts and all(
        not p.edits.replace_needed and not p.edits.remove_needed for p in plan.patches
    )
    hint = (
        " (only removing RPATH entries that lead outside the wheel: --no-clean-rpaths keeps them)"
        if cleanup_only
        else ""
    )
    raise RepairRefusedError(
        f"the 'none' patcher cannot make the ELF edits this repair needs, in {len(edited)} "
        f"file(s): {shown}{hint}",
        path=report.path,
    )


def apply_plan(
    archive: WheelArchive,
    report: AuditReport,
    plan: RepairPlan,
    request: RepairRequest,
    *,
    dest_dir: Path,
    members: Mapping[str, bytes] | None = None,
) -> PendingWheel:
    """Write the repaired wheel (not yet committed) and check its closure; on any failure
    nothing is left in ``dest_dir``. ``members`` are other files to add or replace (the SBOM).
    With a :class:`NonePatcher` a plan that edits any ELF file is refused first."""
    if isinstance(request.patcher, NonePatcher):
        _refuse_edits(report, plan)
    with tempfile.TemporaryDirectory(prefix="manywheel-repair-") as tmp:
        work = Path(tmp)
        with _temporary_space(work):
            edits = _patch_members(archive, report, plan, work, request)
            _graft_libraries(plan, work, request, edits)
        for name, data in (members or {}).items():
            (edits.changes if name in archive else edits.additions)[name] = data
        closure = _ElfClosure(archive, report, plan, edits, request, dest_dir)
        pending = rewrite_wheel(
            archive,
            dest_dir,
            changes=edits.changes,
            additions=edits.additions,
            platforms=plan.platforms,
            compress_level=request.options.compress_level,
            source_date_epoch=request.options.source_date_epoch,
            while_writing=closure,
        )
        try:
            _check_written(pending)
            closure.check()
        except BaseException:
            pending.discard()
            raise
    return pending


class _ElfClosure:
    """The closure check of the repaired wheel's ELF files, made while the writer writes its
    last bytes (``rewrite_wheel``'s ``while_writing``: the edits are done by then, and their
    facts are all it needs); :meth:`check` raises its failure after the written wheel was read
    back, the order :func:`check_closure` keeps."""

    def __init__(  # noqa: PLR0917 - the repair's parts
        self,
        archive: WheelArchive,
        report: AuditReport,
        plan: RepairPlan,
        edits: _Edits,
        request: RepairRequest,
        dest_dir: Path,
    ) -> None:
        self._args = (archive, report, plan, edits, request, dest_dir)
        self._done = False
        self._error: Exception | None = None

    def __call__(self) -> None:
        archive, report, plan, edits, request, dest_dir = self._args
        self._done = True
        try:
            edits.settle()
            filename = rewritten_filename(archive, plan.platforms)
            path = str(dest_dir / filename.raw)
            _check_elves(path, filename, report, plan, edits.elves, request)
        except Exception as e:  # raised by check(), in its turn
            self._error = e

    def check(self) -> None:
        if not self._done:
            self()
        if self._error is not None:
            raise self._error


@contextmanager
def _temporary_space(work: Path) -> Iterator[None]:
    """A full temporary directory while copies are made in ``work``: the error names the
    temporary directory (TMPDIR), never a temporary file."""
    try:
        yield
    except OSError as e:
        if e.errno not in (errno.ENOSPC, errno.EDQUOT):
            raise
        if e.filename is not None and not str(e.filename).startswith(str(work)):
            raise
        where = f"{work.parent} (the temporary directory, TMPDIR)"
        raise OSError(e.errno, e.strerror, where) from e


def check_closure(
    pending: PendingWheel,
    report: AuditReport,
    plan: RepairPlan,
    new_elves: Mapping[str, Path | ElfFile],
    request: RepairRequest,
) -> None:
    """Audit the written wheel before it is committed: every claimed tag must be allowed as it
    is — every DT_NEEDED inside the wheel or on the policy's whitelist, every version need
    within the policy. When no ELF file changed (only tags), the plan's own verdict stands (the
    same facts, judged once); otherwise the written wheel's ELF files are resolved again and
    judged against the claimed policies only."""
    filename = _check_written(pending)
    _check_elves(str(pending.path), filename, report, plan, new_elves, request)


def _check_written(pending: PendingWheel) -> WheelFilename:
    """The written wheel read back: no structural finding (its zip, RECORD against its
    directory); its filename."""
    with WheelArchive.open(pending.path) as archive:
        findings = structural_findings(archive)
        filename = archive.filename
    if findings:
        raise RepairRefusedError(
            f"the repaired wheel has findings: {findings[0]}", path=str(pending.path)
        )
    return filename


def _check_elves(  # noqa: PLR0917 - the closure check's parts
    path: str,
    filename: WheelFilename,
    report: AuditReport,
    plan: RepairPlan,
    new_elves: Mapping[str, Path | ElfFile],
    request: RepairRequest,
) -> None:
    """Every claimed tag allowed for the repaired wheel's ELF files (``path``, ``filename``:
    the wheel's): the unchanged members' facts with the changed and new members' own."""
    replaced = set(new_elves) | {p.member for p in plan.patches}
    if not replaced and plan.verdict is not None:
        _check_claims(plan, plan.verdict, report)
        return
    # Unchanged members keep their facts (same bytes); changed and new ones are read again.
    # An included library is a member of the repaired wheel now, judged as one.
    kept = tuple(ScannedElf(m.member, m.elf, 0) for m in report.members if m.member not in replaced)
    fresh = tuple(
        ScannedElf(name, elf if isinstance(elf, ElfFile) else read_elf(elf), 0)
        for name, elf in new_elves.items()
    )
    audit = replace(request.audit, include=())
    after = analyze(
        path, filename, kept + fresh, (), policies=None, options=audit, facts=request.facts
    )
    assert after.requirements is not None
    excluded = excluded_sonames(after, request.options.exclude) | set(plan.excluded)
    req = without_libraries(after.requirements, frozenset(excluded))
    _check_claims(plan, _judge_claims(plan, req, request), report)


def _judge_claims(plan: RepairPlan, req: WheelRequirements, request: RepairRequest) -> Verdict:
    """The claimed policies' verdicts on the repaired wheel's ``req`` (with ``linux``'s, which
    every judgment has): the proof judges what the repair promises, not every policy again."""
    linux = next(p for p in request.policies if p.is_generic)
    claimed = {id(c.policy): c.policy for c in plan.claimed}
    return evaluate(
        (*claimed.values(), linux),
        req,
        check_isa=request.audit.check_isa,
        check_execstack=request.audit.check_execstack,
    )


def _check_claims(plan: RepairPlan, verdict: Verdict, report: AuditReport) -> None:
    """Every tag the plan claims must be allowed as it is by ``verdict``."""
    for claim in plan.claimed:
        judged = verdict.get(claim.policy.name)
        if judged is None or not judged.allowed:
            reasons = () if judged is None else judged.reasons
            detail = "; ".join(r.message for r in reasons[:5]) or "policy not applicable"
            raise RepairRefusedError(
                f"closure check failed: the repaired wheel is not {claim.tag}: {detail}",
                path=report.path,
            )
