"""``WheelArchive``: an open wheel. The central directory is read once when it opens, every
member is checked for safety, and members are streamed one at a time on demand.

A local file is read through its descriptor; :meth:`WheelArchive.open_reader` reads any other
:class:`~manywheel.wheel.source.RangeReader` (a remote file read by ranges) the same way."""

from __future__ import annotations

import io
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from types import TracebackType
from typing import TypeVar

from manywheel.errors import InvalidWheelError, UnsafeWheelError, open_regular
from manywheel.lazy import lazy_logger
from manywheel.wheel.filename import WheelFilename, canonical_name
from manywheel.wheel.member_pass import stream_members
from manywheel.wheel.metadata import (
    MetadataIdentity,
    WheelInfo,
    parse_metadata_identity,
    parse_wheel_info,
)
from manywheel.wheel.record import Record, parse_record
from manywheel.wheel.safety import check_member
from manywheel.wheel.source import FileReader, RangeReader
from manywheel.wheel.stream import MemberReader, is_small, read_head, read_whole
from manywheel.wheel.zipformat import HeaderMismatch, Member, read_directory

__all__ = ["SIGNATURE_NAMES", "WheelArchive", "dist_info_dirs"]

logger = lazy_logger(__name__)

_T = TypeVar("_T")

#: RECORD's signature files, which RECORD lists without a hash.
SIGNATURE_NAMES = ("RECORD.jws", "RECORD.p7s")


def dist_info_dirs(members: tuple[Member, ...]) -> tuple[str, ...]:
    """The distinct top-level ``*.dist-info`` directory names, in archive order."""
    seen: dict[str, None] = {}
    for member in members:
        top = member.name.split("/", 1)[0]
        if top.endswith(".dist-info") and "/" in member.name:
            seen.setdefault(top, None)
    return tuple(seen)


class WheelArchive:
    """An open wheel file. Use :meth:`open` as a context manager; the file is only read."""

    def __init__(
        self,
        path: Path,
        reader: RangeReader,
        filename: WheelFilename,
        members: tuple[Member, ...],
        mismatches: tuple[HeaderMismatch, ...],
    ) -> None:
        self.path = path
        self.filename = filename
        self.members = members
        self.header_mismatches = mismatches
        self._reader = reader
        #: Whether closing the archive closes the reader's descriptor (only :meth:`open`'s own).
        self._owns_reader = False
        self._closed = False
        self._by_name: dict[str, Member] = {}
        self._duplicates: set[str] = set()
        for member in members:
            if member.name in self._by_name:
                self._duplicates.add(member.name)
            self._by_name.setdefault(member.name, member)
        #: sha256 digests of members streamed to their end (and so checked against their CRC).
        self._digests: dict[str, bytes] = {}
        self._dist_info_dirs = dist_info_dirs(members)
        self._record: Record | None = None
        #: Each member's local header as read when the archive opened (by index; ``None``
        #: where not kept).
        self._local_headers: tuple[bytes | None, ...] = ()

    @classmethod
    def open(cls, path: str | os.PathLike[str]) -> WheelArchive:
        """Open and check ``path``: its filename, its zip structure, every member's name, type and
        encryption. Raises :class:`InvalidWheelError` or :class:`UnsafeWheelError`."""
        path = Path(path)
        fd = open_regular(path)  # a missing or unreadable file is said before a bad name
        try:
            archive = cls._read(path, FileReader(fd), _filename(path))
        except BaseException:
            os.close(fd)
            raise
        archive._owns_reader = True
        return archive

    @classmethod
    def open_reader(cls, reader: RangeReader, path: str | os.PathLike[str]) -> WheelArchive:
        """Open and check the wheel ``reader`` reads, as :meth:`open` does a file; ``path``
        names it (its last part is the wheel's filename). Closing the archive leaves the reader
        alone."""
        path = Path(path)
        return cls._read(path, reader, _filename(path))

    @classmethod
    def _read(cls, path: Path, reader: RangeReader, filename: WheelFilename) -> WheelArchive:
        where = str(path)
        headers: list[bytes | None] = []
        members, mismatches = read_directory(reader, where, headers=headers)
        for member in members:
            check_member(member, path=where)
        logger.debug("opened %s: %d members", path, len(members))
        archive = cls(path, reader, filename, members, mismatches)
        archive._local_headers = tuple(headers)
        return archive

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            if self._owns_reader and isinstance(self._reader, FileReader):
                os.close(self._reader.fileno())

    def fileno(self) -> int:
        """The read-only descriptor the archive reads through (for raw copies); only for a
        wheel opened from a local file."""
        if self._closed:
            raise ValueError("the archive is closed")
        if not isinstance(self._reader, FileReader):  # as io's streams without a descriptor
            raise io.UnsupportedOperation(f"{self.path} is not read from a local file")
        return self._reader.fileno()

    def __enter__(self) -> WheelArchive:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def duplicate_names(self) -> frozenset[str]:
        return frozenset(self._duplicates)

    def member(self, name: str) -> Member:
        """The member called ``name``. Raises KeyError when there is none, and
        :class:`UnsafeWheelError` when the name is ambiguous (it appears more than once)."""
        if name in self._duplicates:
            raise UnsafeWheelError(
                "member name appears more than once", path=str(self.path), member=name
            )
        return self._by_name[name]

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    def open_member(self, member: str | Member, *, hashed: bool = True) -> MemberReader:
        """A forward-only stream of the member's content (see :class:`MemberReader`). Reading it
        to its end records its sha256 digest on this archive (see :meth:`verified_digest`),
        unless ``hashed`` is false (nothing is hashed then; size and CRC-32 are checked)."""
        if self._closed:
            raise ValueError("the archive is closed")
        if isinstance(member, str):
            member = self.member(member)
        return MemberReader(self._reader, member, str(self.path), self._remember, hashed=hashed)

    def read_member(self, member: str | Member, *, hashed: bool = True) -> bytes:
        """The whole content of a member, in memory: meant for small members (those of
        :func:`~manywheel.wheel.stream.is_small` are read in one step). Records its digest, as
        reading a stream to its end does (unless ``hashed`` is false)."""
        if self._closed:
            raise ValueError("the archive is closed")
        if isinstance(member, str):
            member = self.member(member)
        if not is_small(member):
            with self.open_member(member, hashed=hashed) as stream:
                return stream.readall()
        data, digest = read_whole(self._reader, member, str(self.path), hashed=hashed)
        if hashed:
            self._digests[member.name] = digest
        return data

    def _read_head(self, member: Member, size: int) -> bytes | None:
        """The first ``size`` bytes of a member, inflated no further, unchecked (its size and
        CRC-32 are checked at its end), or ``None`` where only reading it whole can tell (see
        :func:`~manywheel.wheel.stream.read_head`): for :func:`stream_members`, in this
        package (the public surface stays as pinned)."""
        if self._closed:
            raise ValueError("the archive is closed")
        return read_head(self._reader, member, size)

    def _local_header(self, member: Member) -> bytes | None:
        """``member``'s local header (fixed part, name and extra field) as it was read when the
        archive opened; ``None`` when it was not kept (a long extra field) or ``member`` is not
        this archive's (for the writer, in this package)."""
        headers, index = self._local_headers, member.index
        if index < len(headers) and self.members[index] is member:
            return headers[index]
        return None

    def verified_digest(self, name: str) -> bytes | None:
        """The sha256 of a member that was streamed to its end (size and CRC checked), or None."""
        return self._digests.get(name)

    def compute_digests(self, names: Iterable[str], *, workers: int = 2) -> None:
        """Stream the named members to their end on ``workers`` threads (inflating, CRC and
        sha256 all release the GIL), so :meth:`verified_digest` knows them. Members already
        known, directories and ambiguous names are skipped; the first error is raised."""
        todo = [
            self._by_name[name]
            for name in dict.fromkeys(names)
            if name in self._by_name and name not in self._duplicates and name not in self._digests
        ]
        stream_members(self, [m for m in todo if not m.is_dir], _ignore, workers=workers)

    def _remember(self, member: Member, digest: bytes) -> None:
        self._digests[member.name] = digest

    @property
    def dist_info(self) -> str:
        """The one ``.dist-info`` directory whose name and version match the filename."""
        dirs = self._dist_info_dirs
        want_name = canonical_name(self.filename.name)
        matching = [d for d in dirs if _dist_info_identity(d)[0] == want_name]
        if len(dirs) != 1 or len(matching) != 1:
            raise InvalidWheelError(
                f"expected one .dist-info directory for {self.filename.name}, found {list(dirs)}",
                path=str(self.path),
            )
        return matching[0]

    def _text(self, name: str) -> str:
        if name not in self:
            raise InvalidWheelError("missing", path=str(self.path), member=name)
        try:
            # not hashed here: these few small files are hashed with the others when RECORD
            # is verified (and a reader that does not verify it needs no hashlib)
            return self.read_member(name, hashed=False).decode("utf-8")
        except UnicodeDecodeError as e:
            raise InvalidWheelError("not UTF-8", path=str(self.path), member=name) from e

    @property
    def wheel_info(self) -> WheelInfo:
        name = f"{self.dist_info}/WHEEL"
        return _with_path(lambda: parse_wheel_info(self._text(name), member=name), self.path)

    @property
    def metadata(self) -> MetadataIdentity:
        name = f"{self.dist_info}/METADATA"
        return _with_path(lambda: parse_metadata_identity(self._text(name), member=name), self.path)

    @property
    def record(self) -> Record:
        """RECORD, parsed once per open archive."""
        if self._record is None:
            name = f"{self.dist_info}/RECORD"
            self._record = _with_path(
                lambda: parse_record(self._text(name), member=name), self.path
            )
        return self._record

    @property
    def signatures(self) -> tuple[str, ...]:
        """RECORD.jws / RECORD.p7s members present (their signatures are not checked)."""
        names = (f"{self.dist_info}/{n}" for n in SIGNATURE_NAMES)
        return tuple(n for n in names if n in self)


def _filename(path: Path) -> WheelFilename:
    try:
        return WheelFilename.parse(path.name)
    except InvalidWheelError as e:
        e.path = str(path)
        raise


def _ignore(_: object) -> None:
    """A visitor that only lets the member be read to its end (and so hashed)."""


def _dist_info_identity(directory: str) -> tuple[str, str]:
    stem = directory[: -len(".dist-info")]
    name, _, version = stem.partition("-")
    return canonical_name(name), version


def _with_path(parse: Callable[[], _T], path: Path) -> _T:
    try:
        return parse()
    except InvalidWheelError as e:
        if e.path is None:
            e.path = str(path)
        raise
