"""The one way members are streamed (the audit's scan, ``manywheel elf``, digests): each
member opened once, its head peeked without a second read, the rest streamed, and read to its
end only when asked."""

from __future__ import annotations

import hashlib
import os
import zipfile
from dataclasses import replace
from pathlib import Path
from typing import cast

import pytest

from manywheel.errors import InvalidWheelError
from manywheel.wheel import Member, MemberReader, StreamedMember, WheelArchive, stream_members
from tests.wheel.builders import wheel_files, write_wheel

#: Incompressible, bigger than a member read whole in one step (1 MiB): a streamed member.
BIG = os.urandom(3 * 2**20)
FILES = {
    "demo/big.bin": BIG,
    "demo/small.so": b"\x7fELF" + b"x" * 1000,
    "demo/empty": b"",
    **{f"demo/m{i}.py": f"n = {i}\n".encode() for i in range(150)},
}


class _CountingArchive(WheelArchive):
    """A real archive that counts how often each member is opened."""

    opened: dict[str, int]

    def open_member(self, member: str | Member, *, hashed: bool = True) -> MemberReader:
        name = member if isinstance(member, str) else member.name
        self.opened[name] = self.opened.get(name, 0) + 1
        return super().open_member(member, hashed=hashed)

    def read_member(self, member: str | Member, *, hashed: bool = True) -> bytes:
        name = member if isinstance(member, str) else member.name
        self.opened[name] = self.opened.get(name, 0) + 1
        return super().read_member(member, hashed=hashed)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("pass") / "demo-1.0-py3-none-any.whl"
    return write_wheel(path, wheel_files(FILES))


def _whole(streamed: StreamedMember) -> tuple[bytes, bytes, bytes]:
    """(head, everything read from the start, everything read again from ``reopen``)."""
    head, content = streamed.head, streamed.read(7) + streamed.read()
    return head, content, streamed.reopen().read()


@pytest.mark.parametrize("workers", [1, 2])
@pytest.mark.parametrize("drain", [True, False])
def test_each_member_is_opened_once_and_read_as_it_is(
    wheel: Path, workers: int, drain: bool
) -> None:
    archive = cast("_CountingArchive", _CountingArchive.open(wheel))
    archive.opened = {}
    with archive:
        members = [m for m in archive.members if not m.is_dir]
        seen = stream_members(archive, members, _whole, drain=drain, workers=workers)
        with zipfile.ZipFile(wheel) as z:
            for member, (head, content, again) in zip(members, seen, strict=True):
                expected = z.read(member.name)
                assert (head, content, again) == (expected[:4], expected, expected), member.name
        # reopen() above opened the big member once more, on the visitor's request only
        assert archive.opened.pop("demo/big.bin") == 2
        assert set(archive.opened.values()) == {1}
        assert archive.verified_digest("demo/big.bin") == hashlib.sha256(BIG).digest()


def test_read1_gives_the_content_as_it_comes(wheel: Path) -> None:
    """``read1`` (what the ELF stream reader uses): the head, then what each step gives, the
    whole content in order; every member still hashed to its end."""

    def by_read1(streamed: StreamedMember) -> tuple[bytes, bytes]:
        parts = []
        while chunk := streamed.read1(1 << 20):
            parts.append(chunk)
        return streamed.head, b"".join(parts)

    with WheelArchive.open(wheel) as archive:
        members = [m for m in archive.members if not m.is_dir]
        seen = stream_members(archive, members, by_read1, workers=2)
        with zipfile.ZipFile(wheel) as z:
            for member, (head, content) in zip(members, seen, strict=True):
                expected = z.read(member.name)
                assert (head, content) == (expected[:4], expected), member.name
        assert archive.verified_digest("demo/big.bin") == hashlib.sha256(BIG).digest()


def test_without_drain_a_member_is_read_only_as_far_as_its_visitor_reads(wheel: Path) -> None:
    with WheelArchive.open(wheel) as archive:
        members = [m for m in archive.members if not m.is_dir]
        stream_members(archive, members, lambda s: s.head, drain=False)
        assert archive.verified_digest("demo/big.bin") is None  # streamed: left after the head
        assert archive.verified_digest("demo/m7.py") == hashlib.sha256(b"n = 7\n").digest()


@pytest.mark.parametrize("workers", [1, 2])
def test_neither_drained_nor_hashed_a_small_member_is_inflated_only_as_far_as_it_is_read(
    wheel: Path, workers: int
) -> None:
    """The audit's scan when RECORD is not verified (``show --json``): a small member whose
    visitor looks at its magic alone costs its first bytes, not a whole inflate (a lying CRC
    goes unseen there, as for a big member left after its head); one whose visitor reads on is
    read whole with every check, and ``reopen`` gives it again."""
    archive = cast("_CountingArchive", _CountingArchive.open(wheel))
    archive.opened = {}
    with archive:
        members = [m for m in archive.members if not m.is_dir]
        lying = [replace(m, crc=m.crc ^ 1) if m.name.endswith(".py") else m for m in members]

        def visit(streamed: StreamedMember) -> tuple[bytes, bytes | None, bytes | None]:
            if streamed.head != b"\x7fELF":
                return streamed.head, None, None
            return streamed.head, streamed.read(), streamed.reopen().read()

        seen = stream_members(archive, lying, visit, drain=False, hashed=False, workers=workers)
        by_name = dict(zip((m.name for m in members), seen, strict=True))
        assert by_name["demo/m7.py"] == (b"n = ", None, None)
        elf = FILES["demo/small.so"]
        assert by_name["demo/small.so"] == (elf[:4], elf, elf)
        # the .py members were never read whole; the ELF one once, the big one streamed, the
        # empty one (shorter than a magic) read whole as before
        assert set(archive.opened) == {"demo/small.so", "demo/big.bin", "demo/empty"}
        assert archive.opened["demo/small.so"] == 1
        with pytest.raises(InvalidWheelError, match="CRC-32"):
            stream_members(
                archive,
                [replace(archive.member("demo/small.so"), crc=0)],
                visit,
                drain=False,
                hashed=False,
            )


def test_a_visitor_that_reads_only_the_head_still_gets_every_digest(wheel: Path) -> None:
    with WheelArchive.open(wheel) as archive:
        members = [m for m in archive.members if not m.is_dir]
        heads = stream_members(archive, members, lambda s: s.head, workers=2)
        assert heads[[m.name for m in members].index("demo/small.so")] == b"\x7fELF"
        assert all(archive.verified_digest(m.name) is not None for m in members)


def test_progress_counts_compressed_bytes_to_the_total(wheel: Path) -> None:
    calls: list[tuple[int, int]] = []
    with WheelArchive.open(wheel) as archive:
        members = [m for m in archive.members if not m.is_dir]
        stream_members(archive, members, lambda s: None, progress=lambda d, t: calls.append((d, t)))
        total = sum(m.compressed_size for m in members)
    assert calls[-1] == (total, total)
    assert [d for d, _ in calls] == sorted(d for d, _ in calls)


def test_the_first_error_is_raised(wheel: Path) -> None:
    """A member whose CRC-32 does not match (as the central directory would lie): reading it to
    its end fails, naming it, whatever the other threads are doing."""
    with WheelArchive.open(wheel) as archive:
        members = [m for m in archive.members if not m.is_dir]
        big = archive.member("demo/big.bin")
        lying = [replace(big, crc=big.crc ^ 1), *(m for m in members if m is not big)]
        with pytest.raises(InvalidWheelError, match="CRC-32") as caught:
            stream_members(archive, lying, lambda s: None, workers=2)
        assert caught.value.member == "demo/big.bin"


def test_without_hashing_nothing_is_hashed_but_everything_is_checked(wheel: Path) -> None:
    """For a reader that will not verify RECORD: sizes and CRC-32 are still checked (a lying
    CRC fails as before), no digest is recorded."""
    with WheelArchive.open(wheel) as archive:
        members = [m for m in archive.members if not m.is_dir]
        heads = stream_members(archive, members, lambda s: s.head, hashed=False)
        assert heads[[m.name for m in members].index("demo/small.so")] == b"\x7fELF"
        assert all(archive.verified_digest(m.name) is None for m in members)
        big = archive.member("demo/big.bin")
        with pytest.raises(InvalidWheelError, match="CRC-32"):
            stream_members(archive, [replace(big, crc=big.crc ^ 1)], lambda s: None, hashed=False)
        with archive.open_member(big, hashed=False) as stream:
            assert stream.drain() == b""
            with pytest.raises(ValueError, match="without hashing"):
                stream.sha256()
