"""Where audits run, behind one Protocol: threads in this process, a pool of worker processes, or
a Dask cluster (:mod:`manywheel.survey.dask_executor`, an optional extra). An audit job is a
plain function of picklable values, so scaling out is choosing an executor, nothing else.
"""

from __future__ import annotations

import logging
import multiprocessing
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any, Protocol, TypeVar

__all__ = ["DaemonPool", "Executor", "ProcessExecutor", "ThreadExecutor"]

logger = logging.getLogger(__name__)

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

    def shutdown(self, *, wait: bool = True) -> None:
        """Stop, cancelling what has not started; ``wait=False`` (an interrupted survey) does
        not wait for the jobs running."""
        ...


_Job = tuple[Future[Any], Callable[[Any], Any], Any]


class DaemonPool:
    """A pool of daemon threads. ``concurrent.futures.ThreadPoolExecutor`` joins its threads at
    interpreter exit, so a Ctrl-C would wait for requests in flight (up to their timeouts);
    these threads die with the process, and their temporary files have no names to leave."""

    def __init__(self, workers: int, name: str) -> None:
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._threads = [
            threading.Thread(target=self._work, name=f"{name}-{i}", daemon=True)
            for i in range(max(1, workers))
        ]
        for thread in self._threads:
            thread.start()
        self._closed = False

    def _work(self) -> None:
        while (job := self._jobs.get()) is not None:
            future, fn, arg = job
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(fn(arg))
            except BaseException as e:  # handed to whoever waits on the future
                future.set_exception(e)

    def submit(self, fn: Callable[[_A], _R], arg: _A, /) -> Future[_R]:
        if self._closed:
            raise RuntimeError("the pool is shut down")
        future: Future[_R] = Future()
        self._jobs.put((future, fn, arg))
        return future

    def shutdown(self, *, wait: bool = True, cancel_futures: bool = False) -> None:
        """Stop taking jobs; with ``cancel_futures``, jobs not started are cancelled; with
        ``wait``, the running ones are waited for."""
        self._closed = True
        if cancel_futures:
            while True:
                try:
                    job = self._jobs.get_nowait()
                except queue.Empty:
                    break
                if job is not None:
                    job[0].cancel()
        for _ in self._threads:
            self._jobs.put(None)
        if wait:
            for thread in self._threads:
                thread.join()


class ThreadExecutor:
    """Threads of this process (an audit mostly waits on inflate and the network, both of
    which release the GIL)."""

    in_process = True

    def __init__(self, workers: int) -> None:
        self.workers = max(1, workers)
        self._pool = DaemonPool(self.workers, "manywheel-audit")

    @property
    def description(self) -> str:
        return f"{self.workers} thread{'s' if self.workers != 1 else ''}"

    def submit(self, fn: Callable[[_A], _R], arg: _A, /) -> Future[_R]:
        return self._pool.submit(fn, arg)

    def shutdown(self, *, wait: bool = True) -> None:
        self._pool.shutdown(wait=wait, cancel_futures=True)


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

    def shutdown(self, *, wait: bool = True) -> None:
        """``wait=False`` (interrupted) also ends the workers: their audits are not waited
        for (Python 3.14's ``terminate_workers``, done by hand for older ones)."""
        workers = list(getattr(self._pool, "_processes", {}).values()) if not wait else []
        self._pool.shutdown(wait=wait, cancel_futures=True)
        for process in workers:
            process.terminate()
