"""The survey over HTTP, against real servers on the loopback interface serving the local indexes:
the same coverage as read from disk (PEP 691 JSON and PEP 503 HTML alike), the audit by ranges
and by whole downloads giving the same records (and both what ``manywheel show`` says), the
bytes fetched counted; and bad input — a 404, a 503 with Retry-After, an unreachable index, a
truncated or hostile wheel — reported per package while the survey goes on."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from manywheel.cli import main
from manywheel.survey import HttpTransport, TransportConfig
from tests.survey.audits import AUDITED, MISLABELLED, compare_with_show
from tests.survey.conftest import PYPI, PYPI_MORE, local_wheel, require_local_index
from tests.survey.server import Fault, IndexServer, serve
from tests.survey.test_local_index import INDEX_ARGS
from tests.wheel.builders import RawEntry, raw_zip, wheel_files


def run(*args: str, report: Path) -> tuple[int, dict[str, Any], str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(["survey", "--isolated", "-q", *args, "--json", str(report)], stdout=out,
                stderr=err, environ={})  # fmt: skip
    return code, json.loads(report.read_text()), err.getvalue()


@pytest.fixture(scope="module")
def servers() -> Iterator[tuple[IndexServer, IndexServer]]:
    require_local_index()
    with serve(PYPI) as first, serve(PYPI_MORE) as second:
        yield first, second


def http_args(servers: tuple[IndexServer, IndexServer]) -> list[str]:
    first, second = servers
    return ["-i", f"{first.url}/simple", "--extra-index-url", f"{second.url}/simple"]


def _coverage(document: dict[str, Any]) -> dict[str, Any]:
    """Each package's coverage, without where its files are served from."""
    return {
        p["name"]: [
            ({k: v for k, v in r.items() if k not in ("files", "audits")},
             sorted((f["filename"], f["sha256"]) for f in r["files"]))
            for r in p["releases"]
        ]
        for p in document["packages"]
    }  # fmt: skip


def test_coverage_over_http_is_the_coverage_from_disk(
    servers: tuple[IndexServer, IndexServer], tmp_path: Path
) -> None:
    file_args = INDEX_ARGS[:5]  # the two simple indexes, not find-links
    code, from_disk, _ = run(*file_args, "--all", report=tmp_path / "disk.json")
    assert code == 0
    code, over_http, _ = run(*http_args(servers), "--all", report=tmp_path / "http.json")
    assert code == 0
    assert _coverage(over_http) == _coverage(from_disk)
    assert len(over_http["packages"]) > 800
    # negotiated: JSON pages (PEP 691) when the server offers them...
    assert servers[0].json_pages > 700
    # ... and the same answers from HTML pages (PEP 503) when it does not
    with serve(PYPI, json=False) as html_only, serve(PYPI_MORE, json=False) as html_more:
        args = ["-i", f"{html_only.url}/simple", "--extra-index-url", f"{html_more.url}/simple"]
        code, from_html, _ = run(*args, "--all", report=tmp_path / "html.json")
        assert (code, html_only.json_pages) == (0, 0)
        assert html_only.html_pages > 700
    assert _coverage(from_html) == _coverage(from_disk)


def _audits(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {a["filename"]: a for p in document["packages"] for r in p["releases"]
            for a in r["audits"]}  # fmt: skip


def _comparable(record: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in record.items() if k not in ("url", "read", "bytes_fetched", "cached")}


@pytest.mark.slow
def test_audit_by_ranges_and_by_downloads_agree(
    servers: tuple[IndexServer, IndexServer], tmp_path: Path
) -> None:
    common = [*http_args(servers), *AUDITED, "--audit", "--threads", "--no-cache"]
    for server in servers:
        server.reset()
    code, ranged, _ = run(*common, report=tmp_path / "ranges.json")
    assert code == 1  # the mislabelled wheel
    sent_by_ranges = {name: sum(s.sent_for(name)[1] for s in servers) for name in _audits(ranged)}
    with serve(PYPI, ranges=False) as whole, serve(PYPI_MORE, ranges=False) as whole_more:
        args = ["-i", f"{whole.url}/simple", "--extra-index-url", f"{whole_more.url}/simple"]
        code, downloaded, _ = run(*args, *AUDITED, "--audit", "--threads", "--no-cache",
                                  report=tmp_path / "whole.json")  # fmt: skip
        assert code == 1
    by_ranges, by_downloads = _audits(ranged), _audits(downloaded)
    assert set(by_ranges) == set(by_downloads)
    for name, record in by_ranges.items():
        size = local_wheel(name).stat().st_size
        assert (record["read"], by_downloads[name]["read"]) == ("ranges", "full")
        assert _comparable(record) == _comparable(by_downloads[name]), name
        compare_with_show(record, local_wheel(name))
        # what the survey counts is what the server sent
        assert record["bytes_fetched"] == sent_by_ranges[name]
        assert by_downloads[name]["bytes_fetched"] == size
        assert record["bytes_fetched"] <= size  # small wheels: the tail is most of them
    # the big ELF member is read in part: a fraction of the wheel
    big = by_ranges[MISLABELLED]
    assert big["bytes_fetched"] < 0.35 * big["size"], big["bytes_fetched"] / big["size"]
    summary = ranged["summary"]["audit"]
    assert summary["bytes_fetched"] == sum(sent_by_ranges.values())
    assert summary["bytes_of_wheels"] == sum(local_wheel(n).stat().st_size for n in by_ranges)


def test_missing_and_failing_pages(
    servers: tuple[IndexServer, IndexServer], tmp_path: Path
) -> None:
    first, _ = servers
    first.faults["/simple/six/"] = Fault(status=503, retry_after="0", times=1)
    try:
        code, document, err = run(*http_args(servers), "six", "no-such-project", "pyyaml",
                                  report=tmp_path / "r.json")  # fmt: skip
    finally:
        del first.faults["/simple/six/"]
    statuses = {p["name"]: p["status"] for p in document["packages"]}
    assert statuses == {"six": "ok", "no-such-project": "not-found", "pyyaml": "ok"}
    assert code == 3
    [line] = err.splitlines()
    assert line.startswith("manywheel survey: no-such-project: not found on http://127.0.0.1:")


def test_an_unreachable_index(tmp_path: Path) -> None:
    code, document, err = run("-i", "http://127.0.0.1:9/simple", "--retries", "0", "six",
                              "numpy", report=tmp_path / "r.json")  # fmt: skip
    assert code == 3
    assert [p["status"] for p in document["packages"]] == ["error", "error"]
    assert all("cannot fetch" in p["problems"][0] for p in document["packages"])
    assert len(err.splitlines()) == 2


def test_a_truncated_wheel_is_reported_and_the_survey_goes_on(
    servers: tuple[IndexServer, IndexServer], tmp_path: Path
) -> None:
    _, more = servers
    path = f"/files/{MISLABELLED}"
    more.faults[path] = Fault(truncate=1000)
    try:
        code, document, err = run(*http_args(servers), "wasmtime", "ujson", "--audit",
                                  "--threads", "--no-cache", "--retries", "1",
                                  report=tmp_path / "r.json")  # fmt: skip
    finally:
        del more.faults[path]
    assert code == 3
    packages = {p["name"]: p for p in document["packages"]}
    assert packages["wasmtime"]["status"] == "partial"
    [record] = packages["wasmtime"]["releases"][0]["audits"]
    assert "cannot fetch" in record["error"]
    assert packages["ujson"]["status"] == "ok"
    assert all(a["error"] is None for r in packages["ujson"]["releases"] for a in r["audits"])
    assert f"manywheel survey: wasmtime: {MISLABELLED}: " in err


def _hostile_index(root: Path) -> None:
    """A one-project index whose wheel inflates past the size its headers declare."""
    files = wheel_files({"evil/_x.so": b"\x7fELF" + b"\0" * 4000},
                        name="evil", tags=("cp311-cp311-manylinux_2_17_x86_64",))  # fmt: skip
    entries = [RawEntry(n.encode(), d) for n, d in files.items()]
    entries[0] = RawEntry(b"evil/_x.so", b"\x7fELF" + b"\0" * 4000, declared_size=100)
    (root / "files").mkdir(parents=True)
    name = "evil-1.0-cp311-cp311-manylinux_2_17_x86_64.whl"
    (root / "files" / name).write_bytes(raw_zip(entries))
    (root / "simple" / "evil").mkdir(parents=True)
    (root / "simple" / "evil" / "index.html").write_text(
        f'<html><body><a href="../../files/{name}">{name}</a></body></html>'
    )


@pytest.mark.parametrize("ranges", [True, False], ids=["ranges", "whole"])
def test_a_hostile_wheel_is_refused(tmp_path: Path, ranges: bool) -> None:
    _hostile_index(tmp_path / "index")
    with serve(tmp_path / "index", ranges=ranges) as server:
        code, document, _err = run("-i", f"{server.url}/simple", "evil", "--audit", "--threads",
                                  "--no-cache", report=tmp_path / "r.json")  # fmt: skip
    assert code == 3
    [record] = document["packages"][0]["releases"][0]["audits"]
    assert "zip bomb" in record["error"]
    assert record["read"] == "local"  # no record of how it was read: it was refused


def test_retry_after_is_honoured(servers: tuple[IndexServer, IndexServer]) -> None:
    first, _ = servers
    slept: list[float] = []
    transport = HttpTransport(TransportConfig(retries=3, max_retry_after=5), sleep=slept.append)
    first.faults["/simple/six/"] = Fault(status=429, retry_after="3", times=1)
    first.faults["/simple/numpy/"] = Fault(status=503, retry_after="120", times=2)
    first.faults["/simple/scipy/"] = Fault(status=503, times=10)
    try:
        assert transport.get(f"{first.url}/simple/six/", limit=1 << 20).status == 200
        assert slept == [3.0]
        assert transport.get(f"{first.url}/simple/numpy/", limit=1 << 20).status == 200
        assert slept == [3.0, 5.0, 5.0]  # at most max_retry_after
        slept.clear()
        assert transport.get(f"{first.url}/simple/scipy/", limit=1 << 20).status == 503
        assert len(slept) == 3  # backoff: the retries, then the answer
        assert slept[0] < slept[1] < slept[2]
    finally:
        for path in ("/simple/six/", "/simple/numpy/", "/simple/scipy/"):
            first.faults.pop(path, None)
        transport.close()


def test_audit_max_size_applies_to_sizes_learnt_from_the_server(
    servers: tuple[IndexServer, IndexServer], tmp_path: Path
) -> None:
    """PEP 691 pages give sizes; without them (HTML pages) the first answer does: either way a
    wheel over the limit is left out of the audit, not reported as a failure."""
    _, more = servers
    with serve(PYPI_MORE, json=False) as html_only:
        for server in (more, html_only):
            code, document, err = run("-i", f"{server.url}/simple", "wasmtime", "--audit",
                                      "--threads", "--no-cache", "--audit-max-size", "5M",
                                      report=tmp_path / "r.json")  # fmt: skip
            assert (code, err) == (0, "")
            [package] = document["packages"]
            assert (package["status"], package["releases"][0]["audits"]) == ("ok", [])
