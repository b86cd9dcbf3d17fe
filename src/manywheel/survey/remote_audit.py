"""Audit one wheel where an index serves it, with manywheel's own audit, reading only what the
audit needs. Nothing from the wheel is ever executed.

Every way reads the same: the central directory, the first bytes of every member (its magic:
ELF or not, as the audit decides), the ELF members, and WHEEL, METADATA and RECORD for the
container checks; then the audit proper (:func:`manywheel.audit.analyze`) on what was read —
the facts ``manywheel show`` gets, without inflating or hashing the other members (RECORD's
hashes are ``manywheel verify``'s).

- A ``file://`` wheel is read from its file, its ELF members whole (on several threads).
- Over HTTP with ranges: the tail (end record, central directory), the local headers with each
  member's first bytes, then the ELF members — whole when small, and for big ones only the
  parts the ELF reader uses (:mod:`manywheel.survey.sparse`).
- A server that ignores ranges sends the whole file; so does ``ranges=False``: the file is then
  checked against the index's sha256 and read as a local one.

:func:`run_audit_job` is a plain function of a picklable job, so it runs the same in a thread,
a worker process or on a Dask worker.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import zlib
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Protocol
from urllib.parse import unquote, urlsplit

from manywheel.audit import AuditOptions, AuditReport, ScannedElf, analyze
from manywheel.errors import InvalidElfError, InvalidWheelError, ManywheelError
from manywheel.policy import PolicySet, load_policies
from manywheel.survey.audit_record import ReadMode, WheelAudit, findings_from_report
from manywheel.survey.model import DistFile
from manywheel.survey.ranged import RangedFile
from manywheel.survey.sparse import SparseOptions, read_elf_sparse, read_elf_whole
from manywheel.survey.transport import FetchError, TransportConfig, UrlTransport
from manywheel.wheel import FileReader, Member, RangeReader, WheelArchive, structural_findings

__all__ = ["AuditJob", "AuditPlan", "audit_remote_archive", "run_audit_job"]

logger = logging.getLogger(__name__)

ELF_MAGIC = b"\x7fELF"
#: Compressed bytes of each member fetched to see its magic (more only if they inflate to less).
PROBE_BYTES = 1024
#: The dist-info members the container checks read.
_DIST_INFO_FILES = frozenset({"WHEEL", "METADATA", "RECORD"})


@dataclass(frozen=True, slots=True)
class AuditPlan:
    """How every wheel of a survey is audited: plain values, picklable."""

    transport: TransportConfig = field(default_factory=TransportConfig)
    options: AuditOptions = field(default_factory=AuditOptions)
    #: Extra policy files (``--policy-file``).
    policy_files: tuple[str, ...] = ()
    #: Read remote wheels by ranges (``False``: download each whole).
    ranges: bool = True
    #: Read only the needed parts of big ELF members (see :mod:`manywheel.survey.sparse`).
    sparse: bool = True
    #: Wheels bigger than this are not fetched (an error record says so).
    max_bytes: int = 4 * 2**30
    #: Wheels bigger than this are skipped (``--audit-max-size``), when the index did not give
    #: their size and the first answer does.
    skip_over: int | None = None
    #: Where temporary files go (``None``: the system's temporary directory).
    temp_dir: str | None = None


@dataclass(frozen=True, slots=True)
class AuditJob:
    file: DistFile
    plan: AuditPlan


def run_audit_job(job: AuditJob, policies: PolicySet | None = None) -> WheelAudit:
    """Audit one wheel; every failure becomes the record's ``error`` (the survey goes on).
    ``policies`` may be shared by callers in one process (loaded here otherwise)."""
    file, plan = job.file, job.plan
    base = WheelAudit(file.filename, file.url, file.sha256, size=file.size)
    try:
        if policies is None:
            policies = load_policies(tuple(map(Path, plan.policy_files)))
        return _audit(file, plan, policies)
    except (ManywheelError, OSError) as e:
        return _failed(base, _describe(e))
    except Exception as e:  # a bug must not end a survey of thousands of wheels: report it
        logger.warning("%s: internal error", file.url, exc_info=True)
        return _failed(base, f"internal error: {type(e).__name__}: {e}")


def _failed(base: WheelAudit | DistFile, message: str | None) -> WheelAudit:
    return WheelAudit(base.filename, base.url, base.sha256, message, size=base.size)


def _describe(error: BaseException) -> str:
    if isinstance(error, OSError) and error.strerror:
        return f"{error.filename or ''}: {error.strerror}".lstrip(": ")
    return str(error)


def _audit(file: DistFile, plan: AuditPlan, policies: PolicySet) -> WheelAudit:
    parts = urlsplit(file.url)
    if parts.scheme == "file":
        path = Path(unquote(parts.path))
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        try:
            report = _audit_local(fd, file.filename, policies, plan.options)
        finally:
            os.close(fd)
        return _record(file, report, ReadMode.LOCAL, 0, path.stat().st_size)
    transport = UrlTransport(plan.transport)
    try:
        if not plan.ranges:
            return _download_and_audit(file, plan, policies, transport)
        with RangedFile.open(
            file.url, transport, limit=plan.max_bytes, directory=plan.temp_dir
        ) as remote:
            if plan.skip_over is not None and remote.size > plan.skip_over:
                skipped = f"{remote.size} bytes, over the limit of {plan.skip_over}"
                return replace(_failed(file, None), size=remote.size, skipped=skipped)
            if remote.complete:  # the server ignored the range: it sent the whole file
                _check_sha256(file, remote.fileno())
                report = _audit_local(remote.fileno(), file.filename, policies, plan.options)
                return _record(file, report, ReadMode.FULL, remote.bytes_fetched, remote.size)
            report = audit_remote_archive(remote, file.filename, policies, plan)
            return _record(file, report, ReadMode.RANGES, remote.bytes_fetched, remote.size)
    finally:
        transport.close()


def _download_and_audit(
    file: DistFile, plan: AuditPlan, policies: PolicySet, transport: UrlTransport
) -> WheelAudit:
    # a temporary file without a name: nothing is left behind, whatever ends the process
    with tempfile.TemporaryFile(prefix="manywheel-", suffix=".whl", dir=plan.temp_dir) as out:
        response = transport.download(file.url, out, limit=plan.max_bytes)
        if not response.ok:
            raise FetchError(f"HTTP {response.status}", path=file.url)
        out.flush()
        size = out.tell()
        _check_sha256(file, out.fileno())
        report = _audit_local(out.fileno(), file.filename, policies, plan.options)
    return _record(file, report, ReadMode.FULL, size, size)


def _check_sha256(file: DistFile, fd: int) -> None:
    if file.sha256 is None:
        return
    digest = hashlib.sha256()
    offset = 0
    while chunk := os.pread(fd, 1 << 20, offset):
        digest.update(chunk)
        offset += len(chunk)
    if digest.hexdigest() != file.sha256:
        raise InvalidWheelError(
            f"sha256 is {digest.hexdigest()}, the index says {file.sha256}", path=file.url
        )


def _audit_local(fd: int, filename: str, policies: PolicySet, options: AuditOptions) -> AuditReport:
    """A local file (open on ``fd``) audited under its own filename."""
    source = _LocalFile(fd)
    workers = options.workers or _usable_cores()
    return _audit_source(source, filename, policies, options, sparse=None, workers=workers)


def _usable_cores() -> int:
    """Threads reading a local wheel's ELF members: the usable cores, at most 4."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        cores = os.cpu_count() or 1
    return max(1, min(cores, 4))


class Source(RangeReader, Protocol):
    """What the audit reads a wheel through: random reads, and a way to say which ranges are
    about to be read (a remote file fetches them together)."""

    read_ahead: int

    def fetch(self, ranges: Iterable[tuple[int, int]]) -> None: ...


class _LocalFile(FileReader):
    """A local file as a :class:`Source`: everything is there already."""

    __slots__ = ("read_ahead",)

    def __init__(self, fd: int) -> None:
        super().__init__(fd)
        self.read_ahead = 0

    def fetch(self, ranges: Iterable[tuple[int, int]]) -> None:
        """Nothing to fetch."""


def _record(
    file: DistFile, report: AuditReport, mode: ReadMode, fetched: int, size: int | None
) -> WheelAudit:
    return WheelAudit(
        file.filename,
        file.url,
        file.sha256,
        None,
        claimed=report.filename.platform_tags,
        best=report.best.tag if report.best is not None else None,
        best_after_repair=(
            report.best_after_repair.tag if report.best_after_repair is not None else None
        ),
        arch=report.arch,
        libc=report.libc.value if report.libc is not None else None,
        elf_members=len(report.members),
        findings=findings_from_report(report),
        read=mode,
        bytes_fetched=fetched,
        size=size,
    )


# --- the ranged audit ------------------------------------------------------------------------


def audit_remote_archive(
    remote: RangedFile, filename: str, policies: PolicySet, plan: AuditPlan
) -> AuditReport:
    """The audit of a wheel read by ranges (one member after another: the fetches of each are
    parallel already)."""
    sparse = SparseOptions() if plan.sparse else None
    return _audit_source(remote, filename, policies, plan.options, sparse=sparse, workers=1)


def _audit_source(
    source: Source,
    filename: str,
    policies: PolicySet,
    options: AuditOptions,
    *,
    sparse: SparseOptions | None,
    workers: int,
) -> AuditReport:
    """The audit from the central directory, the members' magic and the ELF members (big
    ones sparsely with ``sparse``), ``workers`` members at a time."""
    source.read_ahead = PROBE_BYTES  # each local header comes with its member's first bytes
    with WheelArchive.open_reader(source, filename) as archive:
        files = [m for m in archive.members if not m.is_dir]
        source.fetch(_first_bytes(files))
        elves = [m for m in files if _is_elf(archive, m, source)]
        whole = [m for m in elves if sparse is None or m.compressed_size <= sparse.min_compressed]
        source.fetch((m.data_offset, m.compressed_size) for m in whole)
        biggest_first = sorted(elves, key=lambda m: -m.compressed_size)

        def scan(member: Member) -> ScannedElf:
            return _scan(archive, member, source, sparse)

        with ThreadPoolExecutor(max(1, workers), thread_name_prefix="manywheel-scan") as pool:
            found = dict(zip(biggest_first, pool.map(scan, biggest_first), strict=True))
        scanned = tuple(found[m] for m in elves)
        findings = structural_findings(archive)
        return analyze(str(archive.path), archive.filename, scanned, findings,
                       policies=policies, options=options)  # fmt: skip


def _first_bytes(files: list[Member]) -> list[tuple[int, int]]:
    """Each member's first compressed bytes (all of a dist-info file the checks read)."""
    wanted = []
    for member in files:
        parts = member.name.split("/")
        whole = len(parts) == 2 and parts[0].endswith(".dist-info") and parts[1] in _DIST_INFO_FILES
        length = member.compressed_size if whole else min(member.compressed_size, PROBE_BYTES)
        wanted.append((member.data_offset, length))
    return wanted


def _is_elf(archive: WheelArchive, member: Member, remote: Source) -> bool:
    """Whether the member's content starts with the ELF magic, from its first bytes."""
    if member.file_size < len(ELF_MAGIC):
        return False
    if member.method == 0:
        return remote.pread(member.data_offset, len(ELF_MAGIC)) == ELF_MAGIC
    inflater = zlib.decompressobj(-15)
    head = b""
    taken, step = 0, PROBE_BYTES
    while len(head) < len(ELF_MAGIC) and taken < member.compressed_size and not inflater.eof:
        step = min(step, member.compressed_size - taken)
        raw = remote.pread(member.data_offset + taken, step)
        taken += len(raw)
        try:
            head += inflater.decompress(raw, len(ELF_MAGIC) - len(head))
        except zlib.error as e:
            raise InvalidWheelError(
                f"corrupt deflate data: {e}", path=str(archive.path), member=member.name
            ) from e
        step *= 2
    return head[: len(ELF_MAGIC)] == ELF_MAGIC


def _scan(
    archive: WheelArchive, member: Member, remote: Source, sparse: SparseOptions | None
) -> ScannedElf:
    """The member's ELF facts, its errors naming the wheel and the member as the audit's do."""
    try:
        if sparse is not None and member.compressed_size > sparse.min_compressed:
            assert isinstance(remote, RangedFile)
            elf = read_elf_sparse(archive, member, remote, sparse)
        else:  # fetched with the others
            elf = read_elf_whole(archive, member)
    except InvalidElfError as e:
        raise InvalidElfError(
            e.message, path=str(archive.path), member=member.name, offset=e.offset
        ) from e
    return ScannedElf(member.name, elf, member.file_size)
