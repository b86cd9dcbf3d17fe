"""The audit on a Dask cluster — a scheduler and two worker processes started here, on the
loopback interface — gives the same report as the local run, and both workers take part."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from manywheel.cli import main
from tests.harness.availability import skip_or_fail
from tests.survey.audits import AUDITED
from tests.survey.conftest import require_local_index
from tests.survey.test_local_index import INDEX_ARGS

pytestmark = pytest.mark.slow

_START_TIMEOUT = 90.0


def _distributed() -> Any:
    try:
        import distributed
    except ImportError:
        skip_or_fail(
            "dask[distributed] is not installed (a test dependency: pip install -e .[survey])"
        )
    return distributed


@pytest.fixture(scope="module")
def scheduler(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A scheduler and two single-threaded worker processes; the scheduler's address."""
    distributed = _distributed()
    require_local_index()
    tmp = tmp_path_factory.mktemp("dask")
    info = tmp / "scheduler.json"
    log = (tmp / "cluster.log").open("w")
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1",
             "--port", "0", "--no-dashboard", "--scheduler-file", str(info)],
            stdout=log, stderr=subprocess.STDOUT,
        )
    ]  # fmt: skip
    try:
        deadline = time.monotonic() + _START_TIMEOUT
        while not info.exists() or not info.read_text().strip():
            if time.monotonic() > deadline or processes[0].poll() is not None:
                pytest.fail(
                    f"the Dask scheduler did not start: {(tmp / 'cluster.log').read_text()}"
                )
            time.sleep(0.2)
        address = json.loads(info.read_text())["address"]
        processes.extend(
            subprocess.Popen(
                [sys.executable, "-m", "distributed.cli.dask_worker", address,
                 "--nworkers", "1", "--nthreads", "1", "--no-dashboard", "--host",
                 "127.0.0.1", "--name", name, "--local-directory", str(tmp / name)],
                stdout=log, stderr=subprocess.STDOUT,
            )
            for name in ("one", "two")
        )  # fmt: skip
        with distributed.Client(address, timeout=_START_TIMEOUT) as client:
            client.wait_for_workers(2, timeout=_START_TIMEOUT)
        yield address
    finally:
        for process in processes[1:]:
            process.kill()  # test workers hold nothing: no graceful retirement needed
        processes[0].terminate()
        for process in reversed(processes):
            _stop(process)
        log.close()


def _stop(process: subprocess.Popen[bytes]) -> None:
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _run(tmp_path: Path, name: str, *args: str) -> dict[str, Any]:
    report = tmp_path / f"{name}.json"
    out, err = io.StringIO(), io.StringIO()
    code = main(["survey", *INDEX_ARGS, *AUDITED, "--audit", "--no-cache", "-q", *args,
                 "--json", str(report)], stdout=out, stderr=err, environ={})  # fmt: skip
    assert code == 1, err.getvalue()  # the mislabelled wheel
    document: dict[str, Any] = json.loads(report.read_text())
    return document


def _packages(document: dict[str, Any]) -> list[Any]:
    packages: list[Any] = document["packages"]
    return packages


def test_the_cluster_gives_the_local_report(scheduler: str, tmp_path: Path) -> None:
    distributed = _distributed()
    local = _run(tmp_path, "local", "--threads")
    with distributed.Client(scheduler) as client:
        client.get_task_stream()  # the scheduler records the tasks from now on
        started = time.time()
        on_dask = _run(tmp_path, "dask", "--scheduler", scheduler)
        stream = client.get_task_stream(start=started)
    assert _packages(on_dask) == _packages(local)
    assert on_dask["summary"] == local["summary"]
    audits = [t for t in stream if "run_audit_job" in str(t["key"])]
    assert len(audits) == local["summary"]["audit"]["wheels"]
    assert len({t["worker"] for t in audits}) == 2  # both workers audited


def test_a_local_cluster(tmp_path: Path) -> None:
    _distributed()
    require_local_index()
    out, err = io.StringIO(), io.StringIO()
    report = tmp_path / "r.json"
    code = main(["survey", *INDEX_ARGS, "pyodbc", "--audit", "--no-cache", "-q", "--scheduler",
                 "local", "--workers", "1", "--json", str(report)], stdout=out, stderr=err,
                environ={})  # fmt: skip
    assert code == 1, err.getvalue()  # its tags claim more than it is: libodbc not found
    [record] = json.loads(report.read_text())["packages"][0]["releases"][0]["audits"]
    assert (record["best"], record["mislabelled"]) == ("linux_x86_64", True)
