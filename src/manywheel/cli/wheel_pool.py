"""Many wheels in one call, on every core: ``show A.whl B.whl ...`` and ``verify`` hand each wheel
to a process of their own, forked from the command's process once it has loaded what every wheel
needs (the modules, the policies), so no worker pays for start-up again. Each wheel's output is
made in its worker and printed by the command in the order the wheels were given.

Processes, not threads: most of an audit of a small wheel is Python (ELF parsing, resolution,
judgment) and holds the GIL. Forked, not spawned: a spawned worker would import everything
again, the very cost this saves.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

__all__ = ["map_in_processes", "usable_cores"]

_T = TypeVar("_T")
_R = TypeVar("_R")


def usable_cores() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


#: What the forked workers run, ``(work, items)``: set by the parent just before they are forked
#: (they inherit it: neither needs pickling), cleared after.
_job: list[tuple[Callable[[Any], Any], Sequence[Any]]] = []


def _run(index: int) -> Any:
    work, items = _job[0]
    return work(items[index])


def map_in_processes(
    work: Callable[[_T], _R], items: Sequence[_T], *, workers: int
) -> Iterator[_R]:
    """``work(item)`` for each item, the results in the order of ``items``. With more than one
    item and ``workers > 1``, in up to ``workers`` forked processes (``work`` and ``items`` need
    not be picklable; the results must be); otherwise here, one after the other. The first
    error is raised where its result would have been; the items not started are dropped."""
    workers = min(workers, len(items))
    if workers <= 1 or not hasattr(os, "fork"):
        yield from map(work, items)
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    _job[:] = [(work, items)]
    try:
        context = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(workers, mp_context=context) as pool:
            futures = [pool.submit(_run, i) for i in range(len(items))]
            try:
                for future in futures:
                    yield future.result()
            except BaseException:
                pool.shutdown(wait=True, cancel_futures=True)
                raise
    finally:
        _job.clear()
