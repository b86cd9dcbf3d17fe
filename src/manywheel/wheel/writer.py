"""``rewrite_wheel``: a new wheel from an open one plus changes, written beside its destination
and renamed into place only when the caller commits.

- Unchanged members are copied as their compressed bytes (no inflate, no deflate); changed and new
  members are deflated at the chosen level. A member edited in place (:class:`EditedMember`: a
  few bytes written over it) keeps its compressed stream but for the blocks around the edit
  (:mod:`manywheel.wheel.splice`).
- RECORD is regenerated. A hash of an unchanged member is reused only once it is verified (by a
  stream already read through the archive, or here); a RECORD that disagrees with its wheel stops
  the rewrite instead of being silently "fixed".
- Order: the input's own order for the members it keeps, new members after them sorted by name,
  every ``.dist-info`` member after all others, RECORD last. RECORD.jws/RECORD.p7s are dropped
  (a rewritten RECORD invalidates them).
- Reproducible: with ``source_date_epoch`` every member gets that time; without it, members keep
  their own times and new ones get the newest time found in the input. Never the clock.
- Modes (external attributes) are preserved; new members get the mode asked for.
"""

from __future__ import annotations

import hashlib
import logging
import mmap
import os
import stat
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import cast

from manywheel.errors import InputError, InvalidWheelError
from manywheel.wheel.archive import SIGNATURE_NAMES, WheelArchive
from manywheel.wheel.filename import WheelFilename
from manywheel.wheel.record import STRONG_ALGORITHMS, RecordEntry, encode_hash, render_record
from manywheel.wheel.safety import check_name
from manywheel.wheel.splice import inflate, splice
from manywheel.wheel.stream import CHUNK_SIZE
from manywheel.wheel.tags import retag
from manywheel.wheel.verify import structural_findings
from manywheel.wheel.zipformat import Member, Method, epoch_to_dos
from manywheel.wheel.zipwriter import Deflated, ZipSink, deflate_file

__all__ = [
    "Content",
    "EditedMember",
    "MemberContent",
    "PendingWheel",
    "rewrite_wheel",
    "rewritten_filename",
]

logger = logging.getLogger(__name__)

_UNIX = 3
_DEFAULT_MODE = 0o644


#: What an edit returns: patches ((offset, bytes), sorted and disjoint, the same size) or the
#: whole new content.
EditResult = Sequence[tuple[int, bytes]] | bytes


@dataclass(frozen=True, slots=True)
class EditedMember:
    """The source wheel's member ``member`` passed through ``edit``, on the writer's threads:
    given the member's bytes, ``edit`` returns the patches to write over them (the stream is
    then deflated again only around them) or the new bytes whole. ``edit`` may raise: the
    rewrite then stops with that error and writes nothing.

    A member bigger than :data:`EDIT_IN_MEMORY` is never held in memory: it is inflated to a
    temporary file, ``edit`` is given a read-only mapping of it (bytes-like: slices, ``find``,
    the buffer protocol), and the member is deflated again from the file with the patches
    written over it as it streams — memory stays bounded whatever its size (only a layout
    change, which builds the whole new file, needs memory of the member's size)."""

    member: str
    edit: Callable[[bytes], EditResult]


@dataclass(frozen=True, slots=True)
class MemberContent:
    """New content for a member: bytes, a file streamed from disk, or a member of the source
    wheel edited (:class:`EditedMember`); ``mode`` is the permission bits (default: the replaced
    member's, else the file's, else 0o644)."""

    data: bytes | Path | EditedMember
    mode: int | None = None


Content = bytes | Path | MemberContent


class PendingWheel:
    """A complete wheel written under its final name in a private hidden directory inside the
    destination directory (so no partial ``*.whl`` ever appears there). Re-read it at
    :attr:`path`, then :meth:`commit` (an atomic rename into place) or :meth:`discard`. Leaving
    a ``with`` block without committing discards it."""

    def __init__(self, path: Path, final_path: Path) -> None:
        self.path = path
        self.final_path = final_path
        #: Each member's compressed size as written (a size report needs no second read).
        self.compressed_sizes: dict[str, int] = {}
        self._state = "pending"
        #: The data's flush to disk, started as soon as it is written (see :meth:`flush_soon`).
        self._flushing: threading.Thread | None = None
        self._flush_error: OSError | None = None

    def flush_soon(self) -> None:
        """Start flushing the written data to disk on a thread of its own, while the caller
        reads the wheel back; :meth:`commit` waits for it."""
        if self._flushing is not None:
            return
        try:
            fd = os.open(self.path, os.O_RDONLY | os.O_CLOEXEC)
        except OSError:  # commit flushes it itself, and says what fails
            return

        def flush() -> None:
            try:
                os.fsync(fd)
            except OSError as e:  # raised by commit
                self._flush_error = e
            finally:
                os.close(fd)

        self._flushing = threading.Thread(target=flush, name="manywheel-fsync", daemon=True)
        self._flushing.start()

    def _flushed(self, durable: bool) -> bool:
        """Wait for a flush started by :meth:`flush_soon` (raising its error when the commit
        is to be ``durable``); whether one was started."""
        if self._flushing is None:
            return False
        self._flushing.join()
        if durable and self._flush_error is not None:
            raise self._flush_error
        return True

    @property
    def filename(self) -> WheelFilename:
        return WheelFilename.parse(self.final_path.name)

    def commit(self, *, durable: bool = True) -> Path:
        """Rename the wheel into place (replacing a file of the same name) and return its path.
        With ``durable``, the data and the directory entry are flushed to disk first."""
        if self._state != "pending":
            raise ValueError(f"the wheel was already {self._state}")
        try:
            if not self._flushed(durable) and durable:
                _fsync_path(self.path)
            self.path.replace(self.final_path)
        except OSError as e:  # name the wheel, not the temporary file (which is discarded)
            self.discard()
            raise OSError(e.errno, e.strerror, str(self.final_path)) from e
        self.path.parent.rmdir()
        if durable:
            _fsync_path(self.final_path.parent)
        self._state = "committed"
        logger.info("wrote %s", self.final_path)
        return self.final_path

    def discard(self) -> None:
        """Delete the temporary wheel (and its private directory); a no-op after commit."""
        if self._state == "pending":
            if self._flushing is not None:
                self._flushing.join()
            self.path.unlink(missing_ok=True)
            self.path.parent.rmdir()
            self._state = "discarded"

    def __enter__(self) -> PendingWheel:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.discard()


def _fsync_path(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@dataclass(frozen=True, slots=True)
class _Plan:
    """What to write, in order: (name, member to copy or None, new content or None)."""

    items: tuple[tuple[str, Member | None, MemberContent | None], ...]
    record_name: str
    record_member: Member


def _as_content(value: Content) -> MemberContent:
    content = value if isinstance(value, MemberContent) else MemberContent(value)
    if not isinstance(content.data, (bytes, Path, EditedMember)):  # a str would be a path
        raise TypeError(
            f"member content must be bytes, a Path or an EditedMember, not "
            f"{type(content.data).__name__}"
        )
    return content


def _check_request(
    source: WheelArchive,
    changes: Mapping[str, Content],
    additions: Mapping[str, Content],
    removals: Iterable[str],
    protected: set[str],
) -> set[str]:
    removed = set(removals)
    for name in (*changes, *additions, *removed):
        check_name(name)
        if name in protected:
            raise InputError(f"{name} is written by the writer itself and cannot be changed")
    for name in (*changes, *additions):
        if name.endswith("/"):
            raise InputError(f"{name!r} names a directory; directories need no content")
    for name in (*changes, *removed):
        if name not in source:
            raise InputError(f"no member {name!r} to change or remove", path=str(source.path))
    for name in additions:
        if name in source:
            raise InputError(f"member {name!r} already exists; change it instead")
    if overlap := set(changes) & removed:
        raise InputError(f"both changed and removed: {sorted(overlap)}")
    return removed


def _plan(
    source: WheelArchive,
    changes: Mapping[str, Content],
    additions: Mapping[str, Content],
    removals: Iterable[str],
    wheel_text: str | None,
) -> _Plan:
    dist_info = source.dist_info
    record_name = f"{dist_info}/RECORD"
    wheel_name = f"{dist_info}/WHEEL"
    dropped = {f"{dist_info}/{n}" for n in SIGNATURE_NAMES} | {record_name}
    protected = dropped | ({wheel_name} if wheel_text is not None else set())
    removed = _check_request(source, changes, additions, removals, protected)
    edits = {name: _as_content(value) for name, value in changes.items()}
    if wheel_text is not None:
        edits[wheel_name] = MemberContent(wheel_text.encode("utf-8"))
    items: list[tuple[str, Member | None, MemberContent | None]] = [
        (member.name, member, edits.get(member.name))
        for member in source.members
        if member.name not in dropped and member.name not in removed
    ]
    items.extend((name, None, _as_content(additions[name])) for name in sorted(additions))
    for _, _, content in items:
        edited = content.data if content is not None else None
        if isinstance(edited, EditedMember) and edited.member not in source:
            raise InputError(f"no member {edited.member!r} to edit", path=str(source.path))
    prefix = f"{dist_info}/"
    items.sort(key=lambda item: item[0].startswith(prefix))  # stable: dist-info last
    for name in sorted(n for n in dropped - {record_name} if n in source):
        logger.warning("dropping %s: the rewritten RECORD invalidates its signature", name)
    return _Plan(tuple(items), record_name, source.member(record_name))


def _wheel_text(
    source: WheelArchive, platforms: Sequence[str] | None, remove_platforms: Sequence[str] | None
) -> tuple[str | None, str]:
    if not platforms:
        return None, source.filename.raw
    info = source.wheel_info
    new = retag(source.filename.platform_tags, info.tags, platforms, remove_platforms)
    text = info.with_tags(new.wheel_tags, purelib=False if new.platlib else None)
    return text, source.filename.with_platforms(new.platform_tags).raw


def rewritten_filename(
    source: WheelArchive,
    platforms: Sequence[str] | None = None,
    remove_platforms: Sequence[str] | None = None,
) -> WheelFilename:
    """The name :func:`rewrite_wheel` gives the wheel it writes with these platform tags (for a
    file that names the wheel it is written into, such as an SBOM)."""
    return WheelFilename.parse(_wheel_text(source, platforms, remove_platforms)[1])


def rewrite_wheel(
    source: WheelArchive,
    dest_dir: str | os.PathLike[str],
    *,
    changes: Mapping[str, Content] | None = None,
    additions: Mapping[str, Content] | None = None,
    removals: Iterable[str] = (),
    platforms: Sequence[str] | None = None,
    remove_platforms: Sequence[str] | None = None,
    compress_level: int = 6,
    source_date_epoch: int | None = None,
    verify_unchanged: bool = True,
    while_writing: Callable[[], None] | None = None,
) -> PendingWheel:
    """Write a new wheel from ``source`` into ``dest_dir`` (as a temporary file; see
    :class:`PendingWheel`). ``changes`` replace existing members, ``additions`` add new ones,
    ``removals`` drop members; ``platforms`` retags the wheel (see :func:`retag`).
    With ``verify_unchanged`` (the default) every unchanged member is hashed (reusing digests the
    archive already has) and checked against RECORD; without it their RECORD rows are carried over
    as they are, so the copy costs no inflate and a wrong row stays detectable.
    ``while_writing`` is called on this thread once every member's content is made (every
    :class:`EditedMember` edited), while the last bytes are still being written; what it
    raises stops the rewrite.

    Raises :class:`InvalidWheelError` when ``source`` has structural findings or a RECORD row
    that does not match, :class:`InputError` for a bad request."""
    if not -1 <= compress_level <= 9:  # -1: zlib's default (6), as auditwheel's -z allows
        raise InputError(f"compression level must be -1 to 9, not {compress_level}")
    findings = structural_findings(source)
    if findings:
        raise InvalidWheelError(
            f"refusing to rewrite a wheel with {len(findings)} finding(s), first: {findings[0]}",
            path=str(source.path),
        )
    wheel_text, final_name = _wheel_text(source, platforms, remove_platforms)
    plan = _plan(source, changes or {}, additions or {}, removals, wheel_text)
    dest = Path(dest_dir)
    if (dest / final_name).exists() and (dest / final_name).samefile(source.path):
        raise InputError("the new wheel would replace its own input", path=str(source.path))
    try:
        temp_dir = Path(tempfile.mkdtemp(dir=dest, prefix=".manywheel-", suffix=".tmp"))
    except OSError as e:  # name the wheel directory, not the temporary name tried in it
        raise OSError(e.errno, e.strerror, str(dest)) from e
    pending = PendingWheel(temp_dir / final_name, dest / final_name)
    try:
        fd = os.open(pending.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o666)
        with os.fdopen(fd, "wb", buffering=0) as out:
            sink = ZipSink(out.fileno(), background=True)
            try:
                _Writer(source, sink, compress_level, source_date_epoch, verify_unchanged).write(
                    plan, while_writing
                )
            finally:
                sink.close()
        pending.compressed_sizes = sink.compressed_sizes()
        pending.flush_soon()
    except OSError as e:
        pending.discard()
        if e.filename is None or str(e.filename).startswith(str(temp_dir)):
            # a full or read-only wheel directory: name the wheel being written, never the
            # temporary file it was being written to
            raise OSError(e.errno, e.strerror, str(pending.final_path)) from e
        raise
    except BaseException:
        pending.discard()
        raise
    return pending


class _Writer:
    def __init__(
        self, source: WheelArchive, sink: ZipSink, level: int, epoch: int | None, verify: bool
    ) -> None:
        self._source = source
        self._sink = sink
        self._level = level
        self._epoch_dos = None if epoch is None else epoch_to_dos(epoch)
        newest = max((m.dos_datetime for m in source.members), default=epoch_to_dos(0))
        self._new_dos = newest if self._epoch_dos is None else self._epoch_dos
        self._verify = verify
        self._record = source.record.by_path()
        self._rows: list[tuple[str, str, str]] = []

    def write(self, plan: _Plan, while_writing: Callable[[], None] | None = None) -> None:
        if self._verify:  # hash the kept members on both cores before copying them in order
            self._source.compute_digests(
                name
                for name, member, content in plan.items
                if member is not None and content is None
            )
        pool = ThreadPoolExecutor(max_workers=_DEFLATE_WORKERS, thread_name_prefix="deflate")
        try:
            with tempfile.TemporaryDirectory(prefix="manywheel-deflate-") as tmp:
                deflated = self._deflate_ahead(plan, Path(tmp), pool)
                for name, member, content in plan.items:
                    if content is not None:
                        self._write_new(name, member, content, deflated.get(name))
                    elif member is not None:
                        self._copy(member)
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
        record = plan.record_member
        rows = [*self._rows, (plan.record_name, "", "")]
        self._sink.write_content(
            plan.record_name,
            render_record(rows),
            external_attr=_attr(record, None),
            create_system=record.create_system,
            dos_datetime=self._time(record),
            level=self._level,
        )
        if while_writing is not None:
            while_writing()
        self._sink.finish()

    def _time(self, member: Member | None) -> int:
        if self._epoch_dos is not None or member is None:
            return self._new_dos
        return member.dos_datetime

    def _copy(self, member: Member) -> None:
        if not member.is_dir:
            self._rows.append(self._unchanged_row(member))
        self._sink.copy_member(
            self._source_fd(),
            member,
            dos_datetime=self._time(member),
            source_header=self._source._local_header(member),
        )

    def _source_fd(self) -> int:
        return self._source.fileno()

    def _unchanged_row(self, member: Member) -> tuple[str, str, str]:
        entry = self._record.get(member.name)
        if entry is None:
            raise InvalidWheelError(
                "not listed in RECORD", path=str(self._source.path), member=member.name
            )
        if not self._verify:
            return member.name, entry.hash_text, "" if entry.size is None else str(entry.size)
        sha256, listed = self._digests(member, entry.algorithm)
        self._check_row(member, entry, listed)
        return member.name, encode_hash("sha256", sha256), str(member.file_size)

    def _digests(self, member: Member, algorithm: str | None) -> tuple[bytes, bytes]:
        """The member's sha256, and its digest in RECORD's algorithm (one streaming pass, or
        none when the archive already verified it)."""
        other = None
        if algorithm != "sha256" and algorithm in STRONG_ALGORITHMS:
            other = hashlib.new(algorithm)
        digest = self._source.verified_digest(member.name)
        if digest is None or other is not None:
            with self._source.open_member(member) as stream:
                while chunk := stream.read(CHUNK_SIZE):
                    if other is not None:
                        other.update(chunk)
                digest = stream.sha256()
        return digest, digest if other is None else other.digest()

    def _check_row(self, member: Member, entry: RecordEntry, digest: bytes) -> None:
        same_size = entry.size in (None, member.file_size)
        if entry.algorithm in STRONG_ALGORITHMS and entry.digest == digest and same_size:
            return
        found = encode_hash(entry.algorithm or "sha256", digest)
        raise InvalidWheelError(
            f"RECORD says {entry.hash_text or 'no hash'} size {entry.size}, content is {found} "
            f"size {member.file_size}; refusing to carry a wrong RECORD over",
            path=str(self._source.path),
            member=member.name,
        )

    def _deflate_ahead(
        self, plan: _Plan, tmp: Path, pool: ThreadPoolExecutor
    ) -> dict[str, Future[tuple[Path | bytes, Deflated]]]:
        """Start deflating the big new contents on a thread pool (zlib releases the GIL), each
        into its own file, so they are ready when the in-order write reaches them; the output
        is the same bytes as deflating them in line."""
        big = [
            (name, content)
            for name, _, content in plan.items
            if content is not None
            and (isinstance(content.data, EditedMember) or _size(content.data) >= _DEFLATE_AHEAD)
        ]
        return {
            name: pool.submit(self._deflate_to, content.data, tmp / f"{i}.deflate")
            for i, (name, content) in enumerate(big)
        }

    def _deflate_to(
        self, data: bytes | Path | EditedMember, dest: Path
    ) -> tuple[Path | bytes, Deflated]:
        if not isinstance(data, EditedMember):
            return dest, deflate_file(data, self._level, dest)
        member = self._source.member(data.member)
        if member.file_size > EDIT_IN_MEMORY:
            return dest, self._edit_from_file(data, member, dest)
        raw, content = None, None
        if member.method == Method.DEFLATED:
            raw = os.pread(self._source.fileno(), member.compressed_size, member.data_offset)
            content = inflate(raw, member.file_size, member.crc)
        if content is None:  # stored, or a stream the splice will not touch: the usual read
            raw, content = None, self._source.read_member(member)
        result = data.edit(content)
        if isinstance(result, bytes):
            return dest, deflate_file(result, self._level, dest)
        spliced = splice(raw, content, result, self._level) if raw is not None else None
        if spliced is None:
            return dest, deflate_file(apply_writes(content, result), self._level, dest)
        deflated = Deflated(spliced.sha256, spliced.crc, spliced.size, len(spliced.data))
        if len(spliced.data) <= _SPLICED_IN_MEMORY:  # (no file written and read back)
            return spliced.data, deflated
        dest.write_bytes(spliced.data)
        return dest, deflated

    def _edit_from_file(self, data: EditedMember, member: Member, dest: Path) -> Deflated:
        """A big member edited with bounded memory: inflated to a file beside ``dest``, edited
        through a read-only mapping, deflated again from the file with the patches written
        over it."""
        spill = dest.with_suffix(".member")
        try:
            return self._edit_spilled(data, member, dest, spill)
        except OSError as e:  # a full TMPDIR: name it and the member, not a temporary file
            where = f"{dest.parent.parent} (the temporary directory, TMPDIR) for {member.name}"
            raise OSError(e.errno, e.strerror, where) from e
        finally:
            spill.unlink(missing_ok=True)

    def _edit_spilled(
        self, data: EditedMember, member: Member, dest: Path, spill: Path
    ) -> Deflated:
        with self._source.open_member(member) as stream, spill.open("wb") as out:
            while chunk := stream.read(CHUNK_SIZE):
                out.write(chunk)
        with spill.open("rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as mm:
            # the editor reads a mapping as it reads bytes (slices, find, unpack_from)
            result = data.edit(cast(bytes, mm))
        if isinstance(result, bytes):  # a layout change: the editor built the whole file
            return deflate_file(result, self._level, dest)
        return deflate_file(_patched_chunks(spill, result), self._level, dest)

    def _write_new(
        self,
        name: str,
        member: Member | None,
        content: MemberContent,
        ahead: Future[tuple[Path | bytes, Deflated]] | None = None,
    ) -> None:
        attr = _attr(member, content)
        system = _UNIX if member is None else member.create_system
        if ahead is not None:
            path, deflated = ahead.result()
            written = self._sink.write_deflated(
                name,
                path,
                deflated,
                external_attr=attr,
                create_system=system,
                dos_datetime=self._time(member),
            )
            if isinstance(path, Path):
                path.unlink()
            self._rows.append((name, encode_hash("sha256", written.sha256), str(written.size)))
            return
        assert not isinstance(content.data, EditedMember)  # always deflated ahead
        written = self._sink.write_content(
            name,
            content.data,
            external_attr=attr,
            create_system=system,
            dos_datetime=self._time(member),
            level=self._level,
        )
        self._rows.append((name, encode_hash("sha256", written.sha256), str(written.size)))


#: Spliced streams at most this big wait for the in-order write in memory, not in a file (the
#: edited members come in order and the write is seldom behind: a few are held at a time).
_SPLICED_IN_MEMORY = 1 << 20
#: New contents at least this big are deflated ahead, on threads.
_DEFLATE_AHEAD = 1 << 20
#: Edited members bigger than this are edited from a temporary file, never in memory.
EDIT_IN_MEMORY = 256 << 20
_DEFLATE_WORKERS = 2


def _patched_chunks(path: Path, patches: Sequence[tuple[int, bytes]]) -> Iterator[bytes]:
    """The file at ``path`` in chunks, with ``patches`` ((offset, bytes), sorted, disjoint)
    written over it."""
    position = 0
    with path.open("rb") as f:
        while chunk := f.read(CHUNK_SIZE):
            end = position + len(chunk)
            if any(offset < end and offset + len(raw) > position for offset, raw in patches):
                edited = bytearray(chunk)
                for offset, raw in patches:
                    lo, hi = max(offset, position), min(offset + len(raw), end)
                    if lo < hi:
                        edited[lo - position : hi - position] = raw[lo - offset : hi - offset]
                chunk = bytes(edited)
            yield chunk
            position = end


def _size(data: bytes | Path | EditedMember) -> int:
    if isinstance(data, EditedMember):
        return 0
    return len(data) if isinstance(data, bytes) else data.stat().st_size


def apply_writes(data: bytes, writes: Sequence[tuple[int, bytes]]) -> bytes:
    """``data`` with ``writes`` ((offset, bytes), sorted, disjoint) written over it."""
    view = memoryview(data)
    parts: list[bytes | memoryview] = []
    at = 0
    for offset, raw in writes:
        if offset < at or offset + len(raw) > len(data):
            raise ValueError(f"a write at 0x{offset:x} overlaps another or runs past the end")
        parts += [view[at:offset], raw]
        at = offset + len(raw)
    parts.append(view[at:])
    return b"".join(parts)


def _attr(member: Member | None, content: MemberContent | None) -> int:
    mode = None if content is None else content.mode
    if mode is None and content is not None and isinstance(content.data, Path):
        mode = stat.S_IMODE(content.data.stat().st_mode) if member is None else None
    if mode is None and member is not None:
        return member.external_attr
    return (stat.S_IFREG | (_DEFAULT_MODE if mode is None else mode)) << 16
