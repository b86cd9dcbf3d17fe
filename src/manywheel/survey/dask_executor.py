"""Audits on a Dask cluster: an existing one (``--scheduler tcp://host:8786``) or a local cluster
of worker processes started here. Dask is an optional extra (``pip install
'manywheel[survey]'``) imported only when this executor is made.

Jobs and results are the same picklable values the other executors run; each worker fetches its
wheels itself, so the index must be reachable from the workers (a ``file://`` index only from
workers on this machine).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, TypeVar

from manywheel.errors import ManywheelError

__all__ = ["DaskExecutor", "DaskUnavailableError"]

logger = logging.getLogger(__name__)

_A = TypeVar("_A")
_R = TypeVar("_R")


class DaskUnavailableError(ManywheelError):
    """Dask (distributed) is not installed, or the scheduler cannot be reached."""


def _distributed() -> Any:
    try:
        import distributed
    except ImportError as e:
        raise DaskUnavailableError(
            "the Dask executor needs dask[distributed]: pip install 'manywheel[survey]'"
        ) from e
    return distributed


class DaskExecutor:
    in_process = False

    def __init__(
        self, scheduler: str | None = None, *, workers: int = 2, timeout: float = 30
    ) -> None:
        distributed = _distributed()
        self._cluster: Any = None
        try:
            if scheduler is None:
                self._cluster = distributed.LocalCluster(
                    n_workers=max(1, workers),
                    threads_per_worker=1,
                    processes=True,
                    dashboard_address="127.0.0.1:0",  # never a fixed port another owns
                    host="127.0.0.1",
                )
                self._client = distributed.Client(self._cluster, timeout=timeout)
            else:
                self._client = distributed.Client(scheduler, timeout=timeout)
        except (OSError, TimeoutError) as e:
            if self._cluster is not None:
                self._cluster.close()
            raise DaskUnavailableError(
                f"cannot reach the Dask scheduler: {e}", path=scheduler
            ) from e
        self.scheduler = scheduler or self._client.scheduler.address

    @property
    def description(self) -> str:
        workers = len(self._client.scheduler_info().get("workers", {}))
        where = "a local Dask cluster" if self._cluster is not None else "Dask"
        return f"{where} at {self.scheduler} ({workers} workers)"

    def submit(self, fn: Callable[[_A], _R], arg: _A, /) -> Future[_R]:
        remote = self._client.submit(fn, arg, pure=False)
        local: Future[_R] = Future()
        local.set_running_or_notify_cancel()

        def done(finished: Any) -> None:
            try:
                local.set_result(finished.result())
            except BaseException as e:  # the job's own exception, or the worker's death
                local.set_exception(e)

        remote.add_done_callback(done)
        return local

    def shutdown(self, *, wait: bool = True) -> None:
        if not wait:
            self._client.cancel(list(self._client.futures.values()), force=True)
        self._client.close()
        if self._cluster is not None:
            self._cluster.close()
