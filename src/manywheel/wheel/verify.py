"""``verify_wheel``: everything wrong with a readable wheel, as findings.

A finding is data: it names the member and what was expected and found. Input that cannot be read
safely at all (not a zip, hostile names, bombs, CRC errors) raises instead.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from enum import IntEnum
from typing import TYPE_CHECKING

from manywheel.errors import InvalidWheelError
from manywheel.values import value_class
from manywheel.wheel.archive import SIGNATURE_NAMES, WheelArchive, dist_info_dirs
from manywheel.wheel.filename import canonical_name, plainly_valid, tag_keys
from manywheel.wheel.record import STRONG_ALGORITHMS, Record, RecordEntry, encode_hash

if TYPE_CHECKING:
    from packaging.tags import Tag

__all__ = ["Finding", "FindingKind", "content_findings", "structural_findings", "verify_wheel"]


class FindingKind(IntEnum):
    DUPLICATE_NAME = 1
    HEADER_MISMATCH = 2
    DIST_INFO_COUNT = 3
    DIST_INFO_NAME = 4
    METADATA_MISMATCH = 5
    WHEEL_INVALID = 6
    WHEEL_VERSION = 7
    TAG_MISMATCH = 8
    RECORD_INVALID = 9
    RECORD_MISSING_ENTRY = 10
    RECORD_EXTRA_ENTRY = 11
    RECORD_DUPLICATE_ENTRY = 12
    RECORD_NO_HASH = 13
    RECORD_WEAK_HASH = 14
    HASH_MISMATCH = 15
    SIZE_MISMATCH = 16

    @property
    def label(self) -> str:
        return self.name.lower().replace("_", "-")


@value_class
class Finding:
    kind: FindingKind
    #: The member concerned (None for the wheel as a whole).
    member: str | None
    expected: str | None
    found: str | None
    message: str

    def __str__(self) -> str:
        text = f"{self.member}: {self.message}" if self.member else self.message
        if self.expected is not None or self.found is not None:
            text += f" (expected {self.expected}, found {self.found})"
        return text


def verify_wheel(wheel: WheelArchive | str | os.PathLike[str]) -> tuple[Finding, ...]:
    """Every finding for ``wheel``: structure, metadata, tags and RECORD, including each
    member's sha256 and size (one streaming pass per member; digests already computed on the
    archive are reused)."""
    if isinstance(wheel, WheelArchive):
        return structural_findings(wheel) + content_findings(wheel)
    with WheelArchive.open(wheel) as archive:
        return structural_findings(archive) + content_findings(archive)


def structural_findings(archive: WheelArchive) -> tuple[Finding, ...]:
    """Findings that need no member inflated beyond ``WHEEL``, ``METADATA`` and ``RECORD``."""
    findings = list(_zip_findings(archive))
    dirs = dist_info_dirs(archive.members)
    if len(dirs) != 1:
        findings.append(
            Finding(
                FindingKind.DIST_INFO_COUNT,
                None,
                "1",
                str(len(dirs)),
                f"wheel must have exactly one .dist-info directory, has {list(dirs)}",
            )
        )
        return tuple(findings)
    findings.extend(_identity_findings(archive, dirs[0]))
    findings.extend(_wheel_findings(archive, dirs[0]))
    findings.extend(_record_findings(archive, dirs[0]))
    return tuple(findings)


def _zip_findings(archive: WheelArchive) -> Iterator[Finding]:
    for name in sorted(archive.duplicate_names):
        count = sum(1 for m in archive.members if m.name == name)
        yield Finding(
            FindingKind.DUPLICATE_NAME,
            name,
            "1 entry",
            f"{count} entries",
            "member name appears more than once",
        )
    for mismatch in archive.header_mismatches:
        yield Finding(
            FindingKind.HEADER_MISMATCH,
            mismatch.member,
            mismatch.central,
            mismatch.local,
            f"local header disagrees on {mismatch.field}",
        )


def _same_version(left: str, right: str) -> bool:
    if left == right:  # what packaging would say of the same text, valid or not
        return True
    from packaging.version import InvalidVersion, Version

    try:
        return Version(left) == Version(right)
    except InvalidVersion:
        return left == right


def _identity_findings(archive: WheelArchive, dist_info: str) -> Iterator[Finding]:
    filename = archive.filename
    stem = dist_info[: -len(".dist-info")]
    name, _, version = stem.partition("-")
    if canonical_name(name) != canonical_name(filename.name) or not _same_version(
        version, filename.version
    ):
        yield Finding(
            FindingKind.DIST_INFO_NAME,
            dist_info,
            filename.dist_info,
            dist_info,
            ".dist-info directory does not match the filename",
        )
    member = f"{dist_info}/METADATA"
    try:
        meta = archive.metadata
    except InvalidWheelError as e:
        yield Finding(FindingKind.METADATA_MISMATCH, member, None, None, e.message)
        return
    if canonical_name(meta.name) != canonical_name(filename.name):
        yield Finding(
            FindingKind.METADATA_MISMATCH,
            member,
            filename.name,
            meta.name,
            "Name does not match the filename",
        )
    if not _same_version(meta.version, filename.version):
        yield Finding(
            FindingKind.METADATA_MISMATCH,
            member,
            filename.version,
            meta.version,
            "Version does not match the filename",
        )


def _wheel_findings(archive: WheelArchive, dist_info: str) -> Iterator[Finding]:
    member = f"{dist_info}/WHEEL"
    try:
        info = archive.wheel_info
    except InvalidWheelError as e:
        yield Finding(FindingKind.WHEEL_INVALID, member, None, None, e.message)
        return
    if info.wheel_version[:1] != (1,):
        found = ".".join(map(str, info.wheel_version))
        yield Finding(FindingKind.WHEEL_VERSION, member, "1.x", found, "unsupported Wheel-Version")
    if _plainly_same_tags(archive, info.tags):
        return
    wheel_tags: set[Tag] = set()
    for line in info.tags:
        expanded = _expand_tag_line(line)
        if expanded is None:
            yield Finding(
                FindingKind.WHEEL_INVALID, member, "python-abi-platform", line, "malformed Tag line"
            )
        else:
            wheel_tags |= expanded
    name_tags = archive.filename.tags
    if wheel_tags != name_tags:
        yield Finding(
            FindingKind.TAG_MISMATCH,
            member,
            _tags(name_tags),
            _tags(wheel_tags),
            "Tag lines do not match the filename's tags",
        )


def _plainly_same_tags(archive: WheelArchive, lines: tuple[str, ...]) -> bool:
    """Whether WHEEL's Tag lines, all plainly spelt, expand to the filename's tags (see
    :func:`~manywheel.wheel.filename.tag_keys`): then there is nothing to find, and no need
    to import ``packaging.tags``. ``False``: ask ``packaging``."""
    if not plainly_valid(archive.filename.raw):
        return False
    keys: set[tuple[str, str, str]] = set()
    for line in lines:
        expanded = tag_keys(line)
        if expanded is None:
            return False
        keys |= expanded
    return keys == archive.filename.tag_keys


def _expand_tag_line(line: str) -> set[Tag] | None:
    from packaging.tags import parse_tag

    try:
        return set(parse_tag(line))
    except ValueError:
        return None


def _tags(tags: set[Tag] | frozenset[Tag]) -> str:
    return ", ".join(sorted(str(tag) for tag in tags)) or "none"


def _record_findings(archive: WheelArchive, dist_info: str) -> Iterator[Finding]:
    record_name = f"{dist_info}/RECORD"
    try:
        record = archive.record
    except InvalidWheelError as e:
        yield Finding(FindingKind.RECORD_INVALID, record_name, None, None, e.message)
        return
    unhashed = {record_name, *(f"{dist_info}/{n}" for n in SIGNATURE_NAMES)}
    yield from _record_rows(archive, record, unhashed)
    listed = record.by_path()
    signatures = unhashed - {record_name}  # PEP 427: signatures need not be listed at all
    for member in archive.members:
        if not member.is_dir and member.name not in listed and member.name not in signatures:
            yield Finding(
                FindingKind.RECORD_MISSING_ENTRY,
                member.name,
                "a RECORD row",
                "none",
                "member is not listed in RECORD",
            )


def _record_rows(archive: WheelArchive, record: Record, unhashed: set[str]) -> Iterator[Finding]:
    seen: set[str] = set()
    for entry in record.entries:
        if entry.path in seen:
            yield Finding(
                FindingKind.RECORD_DUPLICATE_ENTRY,
                entry.path,
                "1 row",
                "another",
                f"listed again in RECORD (line {entry.line})",
            )
            continue
        seen.add(entry.path)
        if entry.path not in archive:
            yield Finding(
                FindingKind.RECORD_EXTRA_ENTRY,
                entry.path,
                "a member",
                "none",
                f"RECORD line {entry.line} lists a file the wheel does not have",
            )
        elif entry.algorithm is None and entry.path not in unhashed:
            yield Finding(
                FindingKind.RECORD_NO_HASH,
                entry.path,
                "sha256=…",
                "no hash",
                "RECORD gives no hash",
            )
        elif entry.algorithm is not None and entry.algorithm not in STRONG_ALGORITHMS:
            yield Finding(
                FindingKind.RECORD_WEAK_HASH,
                entry.path,
                "sha256 or stronger",
                entry.algorithm,
                "RECORD uses a weak or unknown hash",
            )


def content_findings(archive: WheelArchive) -> tuple[Finding, ...]:
    """Findings about members' content against RECORD (sizes, hashes): digests already computed
    on the archive are reused, others are streamed."""
    try:
        listed = archive.record.by_path()
        record_name = f"{archive.dist_info}/RECORD"
    except InvalidWheelError:
        return ()
    archive.compute_digests(p for p, e in listed.items() if e.algorithm == "sha256")
    findings: list[Finding] = []
    duplicates = archive.duplicate_names
    for path, entry in listed.items():
        if path == record_name or path not in archive or path in duplicates:
            continue
        member = archive.member(path)
        if entry.size is not None and entry.size != member.file_size:
            findings.append(
                Finding(
                    FindingKind.SIZE_MISMATCH,
                    path,
                    str(entry.size),
                    str(member.file_size),
                    "size differs from RECORD",
                )
            )
        if entry.algorithm is not None and entry.algorithm in STRONG_ALGORITHMS:
            findings.extend(_hash_finding(archive, entry))
    return tuple(findings)


def _hash_finding(archive: WheelArchive, entry: RecordEntry) -> Iterator[Finding]:
    assert entry.algorithm is not None and entry.digest is not None
    if entry.algorithm == "sha256":
        digest = archive.verified_digest(entry.path)
        if digest is None:
            with archive.open_member(entry.path) as stream:
                digest = stream.drain()
    else:
        import hashlib

        hasher = hashlib.new(entry.algorithm)
        with archive.open_member(entry.path) as stream:
            while chunk := stream.read(1 << 18):
                hasher.update(chunk)
        digest = hasher.digest()
    if digest != entry.digest:
        yield Finding(
            FindingKind.HASH_MISMATCH,
            entry.path,
            entry.hash_text,
            encode_hash(entry.algorithm, digest),
            "content does not match RECORD",
        )
