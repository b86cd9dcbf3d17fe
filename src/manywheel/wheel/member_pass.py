"""One way to stream a wheel's members: each opened once, its first bytes peeked (the ELF magic),
handed to a visitor as a forward-only stream, and (by default) read to its end so its sha256 is
recorded on the archive (RECORD verification then costs no second inflate).

Small members are read whole in one step (one pread, one inflate); big ones stream in bounded
memory. Members are taken biggest first, small ones in batches, on threads: inflating, CRC-32
and sha256 release the GIL, so two threads use both cores. The audit's scan, ``manywheel elf``,
the survey's whole-member reads and :meth:`WheelArchive.compute_digests` all go through
:func:`stream_members`.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Protocol, TypeVar

from manywheel.wheel.stream import is_small

if TYPE_CHECKING:
    from manywheel.wheel.archive import WheelArchive
    from manywheel.wheel.zipformat import Member

__all__ = ["HEAD_SIZE", "Readable", "StreamedMember", "stream_members"]

_T = TypeVar("_T")
_R = TypeVar("_R")

#: Bytes of each member read before its visitor is called (enough for the ELF magic).
HEAD_SIZE = 4
#: A batch of small members: at most this many, or about this many compressed bytes, so that
#: thousands of small members cost a few hundred tasks, not thousands.
_BATCH_MEMBERS = 64
_BATCH_BYTES = 4 * 2**20


class Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


class StreamedMember:
    """One member as :func:`stream_members` hands it over: its first bytes (:attr:`head`), the
    whole content from the start through :meth:`read` (forward only), and :meth:`reopen` for a
    reader that must go back (a fresh stream from the first byte)."""

    __slots__ = ("_rest", "_unread", "head", "member", "reopen")

    def __init__(
        self, member: Member, head: bytes, rest: Readable, reopen: Callable[[], Readable]
    ) -> None:
        self.member = member
        self.head = head
        self.reopen = reopen
        self._unread = head
        self._rest = rest

    def read(self, size: int = -1, /) -> bytes:
        if not self._unread:
            return self._rest.read(size)
        if size < 0:
            data, self._unread = self._unread + self._rest.read(), b""
            return data
        data, self._unread = self._unread[:size], self._unread[size:]
        if len(data) < size:
            data += self._rest.read(size - len(data))
        return data

    def read1(self, size: int = -1, /) -> bytes:
        """Up to ``size`` bytes, what is at hand (io's meaning: the head first, then what one
        step of the stream gives); ``b""`` only at the end."""
        if self._unread:
            if size < 0:
                data, self._unread = self._unread, b""
            else:
                data, self._unread = self._unread[:size], self._unread[size:]
            return data
        read1 = getattr(self._rest, "read1", None)
        return read1(size) if read1 is not None else self._rest.read(size)


def stream_members(
    archive: WheelArchive,
    members: Sequence[Member],
    visit: Callable[[StreamedMember], _T],
    *,
    drain: bool = True,
    hashed: bool = True,
    workers: int = 1,
    progress: Callable[[int, int], None] | None = None,
) -> list[_T]:
    """``visit`` each of ``members`` (file members of ``archive``) once; the results in the
    order of ``members``. With ``drain``, each member is read to its end after its visit (its
    size, CRC-32 and, when ``hashed``, sha256 checked, the digest kept by the archive; without
    ``hashed`` nothing is hashed: for a caller that will not verify RECORD).
    ``progress(done, total)``
    (compressed bytes) is called as batches finish. The first error is raised; the members not
    started yet are not visited."""
    results: dict[int, _T] = {}
    total = sum(m.compressed_size for m in members)
    done = 0
    batches = _batches(members)

    def run(batch: list[int]) -> list[tuple[int, _T]]:
        return [(i, _visit_one(archive, members[i], visit, drain, hashed)) for i in batch]

    def finished(batch: list[int], visited: list[tuple[int, _T]]) -> None:
        nonlocal done
        results.update(visited)
        done += sum(members[i].compressed_size for i in batch)
        if progress is not None:
            progress(done, total)

    if workers <= 1 or len(batches) <= 1:
        for batch in batches:
            finished(batch, run(batch))
    else:
        _on_threads(run, batches, workers, finished)
    return [results[i] for i in range(len(members))]


def _on_threads(
    run: Callable[[list[int]], _R],
    batches: list[list[int]],
    workers: int,
    finished: Callable[[list[int], _R], None],
) -> None:
    """``run`` each batch on ``workers`` threads, taking them in order, and hand the results to
    ``finished`` in the batches' order, on this thread. The first error is raised here once
    the threads have stopped: the batches not started by then are not run. (What a
    ``ThreadPoolExecutor`` with ``shutdown(cancel_futures=True)`` does; ``concurrent.futures``
    would cost a small wheel's ``show`` its import, and ``logging``'s with it.)"""
    lock = threading.Lock()
    taken = 0
    stop = False
    outcomes: list[tuple[bool, object]] = [(False, None)] * len(batches)
    ready = [threading.Event() for _ in batches]

    def work() -> None:
        nonlocal taken
        while True:
            with lock:
                if stop or taken >= len(batches):
                    return
                index, taken = taken, taken + 1
            try:
                outcomes[index] = (True, run(batches[index]))
            except BaseException as e:  # handed to the caller's thread, raised there
                outcomes[index] = (False, e)
            ready[index].set()

    threads = [
        threading.Thread(target=work, name=f"manywheel-member_{n}")
        for n in range(min(workers, len(batches)))
    ]
    for thread in threads:
        thread.start()
    try:
        for index, batch in enumerate(batches):
            ready[index].wait()
            ok, value = outcomes[index]
            if not ok:
                assert isinstance(value, BaseException)
                raise value
            finished(batch, value)  # type: ignore[arg-type]
    finally:
        with lock:
            stop = True
        for thread in threads:
            thread.join()


def _visit_one(
    archive: WheelArchive,
    member: Member,
    visit: Callable[[StreamedMember], _T],
    drain: bool,
    hashed: bool,
) -> _T:
    if is_small(member) and not (drain or hashed):  # its first bytes, the rest if asked for
        head = archive._read_head(member, HEAD_SIZE)
        if head is not None:
            whole = _Whole(archive, member)
            return visit(StreamedMember(member, head, whole, whole.reopen))
    if is_small(member):  # whole in one step (its digest recorded), then read from memory
        data = archive.read_member(member, hashed=hashed)
        return visit(
            StreamedMember(member, data[:HEAD_SIZE], io.BytesIO(data[HEAD_SIZE:]), _memory(data))
        )

    def reopen() -> Readable:
        return archive.open_member(member, hashed=False)  # the first stream hashes, if asked

    with archive.open_member(member, hashed=hashed) as stream:
        head = stream.read(HEAD_SIZE)
        result = visit(StreamedMember(member, head, stream, reopen))
        if drain:
            stream.drain()
        return result


class _Whole:
    """A small member read whole (every check made) the first time more than its first bytes
    are wanted: a visitor that looks at the magic alone costs no inflate of the rest. As a
    stream, the member after its first ``HEAD_SIZE`` bytes."""

    __slots__ = ("_archive", "_data", "_member", "_rest")

    def __init__(self, archive: WheelArchive, member: Member) -> None:
        self._archive = archive
        self._member = member
        self._data: bytes | None = None
        self._rest: io.BytesIO | None = None

    def _read(self) -> bytes:
        if self._data is None:
            self._data = self._archive.read_member(self._member, hashed=False)
        return self._data

    def read(self, size: int = -1, /) -> bytes:
        if self._rest is None:
            self._rest = io.BytesIO(self._read()[HEAD_SIZE:])
        return self._rest.read(size)

    def reopen(self) -> Readable:
        return io.BytesIO(self._read())


def _memory(data: bytes) -> Callable[[], Readable]:
    return lambda: io.BytesIO(data)


def _batches(members: Sequence[Member]) -> list[list[int]]:
    """Indices of ``members``, biggest first so the threads finish together, consecutive small
    ones grouped (at most ``_BATCH_MEMBERS`` or about ``_BATCH_BYTES`` compressed)."""
    order = sorted(range(len(members)), key=lambda i: members[i].compressed_size, reverse=True)
    out: list[list[int]] = []
    size = 0
    for i in order:
        compressed = members[i].compressed_size
        if not out or len(out[-1]) >= _BATCH_MEMBERS or size + compressed > _BATCH_BYTES:
            out.append([])
            size = 0
        out[-1].append(i)
        size += compressed
    return out
