"""Where audits run, behind one Protocol: threads in this process, a pool of worker processes, or
a Dask cluster (:mod:`manywheel.survey.dask_executor`, an optional extra). An audit job is a
plain function of picklable values, so scaling out is choosing an executor, nothing else.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from typing import Protocol, TypeVar

__all__ = ["Executor", "ProcessExecutor", "ThreadExecutor"]

_A = TypeVar("_A")
_R = TypeVar("_R")


class Executor(Protocol):
    """Runs ``fn(arg)`` somewhere and hands back a future."""

    #: Whether jobs run in this process (they may then share loaded objects).
    in_process: bool

    @property
    def description(self) -> str:
        """What it is, for progress lines: ``2 threads``, ``dask tcp://...``."""
        ...

    def submit(self, fn: Callable[[_A], _R], arg: _A, /) -> Future[_R]: ...

    def shutdown(self) -> None:
        """Stop, cancelling what has not started."""
        ...


class ThreadExecutor:
    """Threads of this process (an audit mostly waits on inflate and the network, both of
    which release the GIL)."""

    in_process = True

    def __init__(self, workers: int) -> None:
        self.workers = max(1, workers)
        self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="manywheel-audit")

    @property
    def description(self) -> str:
        return f"{self.workers} thread{'s' if self.workers != 1 else ''}"

    def submit(self, fn: Callable[[_A], _R], arg: _A, /) -> Future[_R]:
        return self._pool.submit(fn, arg)

    def shutdown(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


class ProcessExecutor:
    """Worker processes on this machine (started with ``forkserver``: never a fork of a
    process that has threads)."""

    in_process = False

    def __init__(self, workers: int) -> None:
        self.workers = max(1, workers)
        context = multiprocessing.get_context("forkserver")
        self._pool = ProcessPoolExecutor(self.workers, mp_context=context)

    @property
    def description(self) -> str:
        return f"{self.workers} process{'es' if self.workers != 1 else ''}"

    def submit(self, fn: Callable[[_A], _R], arg: _A, /) -> Future[_R]:
        return self._pool.submit(fn, arg)

    def shutdown(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
