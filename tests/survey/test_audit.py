"""``--audit`` on the local indexes: it finds the real mislabelled wheel (a filename claiming
manylinux1 whose symbols need glibc 2.28), and what it says of every wheel it audits is what
``manywheel show`` says. The audit cache makes a re-run free, and a bad entry is ignored."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from manywheel.cli import main
from tests.survey.audits import AUDITED, MISLABELLED, PYTHON_ABI_MISLABELLED, compare_with_show
from tests.survey.conftest import local_wheel
from tests.survey.test_local_index import INDEX_ARGS


def run(tmp_path: Path, *args: str) -> tuple[int, dict[str, Any], str, str]:
    out, err = io.StringIO(), io.StringIO()
    report = tmp_path / "audit.json"
    code = main(["survey", *INDEX_ARGS, *args, "--json", str(report)], stdout=out, stderr=err,
                environ={})  # fmt: skip
    return code, json.loads(report.read_text()), out.getvalue(), err.getvalue()


def audits(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        a["filename"]: a for p in document["packages"] for r in p["releases"] for a in r["audits"]
    }


@pytest.fixture(scope="module")
def audited(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    tmp = tmp_path_factory.mktemp("audit")
    code, document, _, err = run(tmp, *AUDITED, "--audit", "--threads", "--cache-dir",
                                 str(tmp / "cache"), "-q")  # fmt: skip
    assert code == 1, err  # findings: the mislabelled wheel
    document["cache"] = str(tmp / "cache")
    return document


def test_finds_the_mislabelled_wheel(audited: dict[str, Any]) -> None:
    record = audits(audited)[MISLABELLED]
    [finding] = [f for f in record["findings"] if f["kind"] == "mislabelled"]
    assert finding["tags"] == ["manylinux1_x86_64"]
    assert record["best"] == "manylinux_2_28_x86_64"
    assert any("GLIBC_2.17" in r and "too new" in r for r in finding["reasons"])
    mislabelled = {name for name, a in audits(audited).items() if a["mislabelled"]}
    assert MISLABELLED in mislabelled
    assert audited["summary"]["audit"]["mislabelled"] == len(mislabelled)


def test_finds_an_untrue_python_tag(tmp_path: Path) -> None:
    """The other half of a truthful tag: protobuf 6.33.6 claims cp39-abi3, but its module uses
    PyUnicode_AsUTF8AndSize, in the Stable ABI since 3.10; its next release (cp310-abi3) is
    honest. The record says what ``manywheel show`` says of both."""
    code, document, out, err = run(tmp_path, "protobuf", "--releases", "all", "--audit",
                                   "--threads", "--cache-dir", str(tmp_path / "cache"))  # fmt: skip
    assert code == 1, err
    records = audits(document)
    record = records[PYTHON_ABI_MISLABELLED]
    [finding] = [f for f in record["findings"] if f["kind"] == "python-abi"]
    assert finding["tags"] == ["cp39-abi3"]
    assert finding["honest"] == ["cp310-abi3"]
    assert "PyUnicode_AsUTF8AndSize" in finding["message"]
    assert record["mislabelled"]
    assert f"mislabelled: {PYTHON_ABI_MISLABELLED}: claims cp39-abi3, is cp310-abi3" in out
    honest = [r for name, r in records.items() if name != PYTHON_ABI_MISLABELLED]
    assert honest
    assert not any(f["kind"] == "python-abi" for r in honest for f in r["findings"])
    for name, audit in records.items():
        compare_with_show(audit, local_wheel(name))


def test_agrees_with_show_on_every_wheel(audited: dict[str, Any]) -> None:
    records = audits(audited)
    assert len(records) >= len(AUDITED)
    for name, record in records.items():
        assert record["read"] == "local"
        compare_with_show(record, local_wheel(name))


def test_the_cache_makes_a_rerun_free_and_ignores_bad_entries(
    audited: dict[str, Any], tmp_path: Path
) -> None:
    cache = Path(audited["cache"])
    code, again, _, _ = run(tmp_path, *AUDITED, "--audit", "--threads", "--cache-dir",
                            str(cache), "-q")  # fmt: skip
    assert code == 1
    first, second = audits(audited), audits(again)
    assert all(a["cached"] for a in second.values())
    strip = ("cached", "bytes_fetched")
    assert {n: {k: v for k, v in a.items() if k not in strip} for n, a in first.items()} == {
        n: {k: v for k, v in a.items() if k not in strip} for n, a in second.items()
    }
    # one entry truncated, one edited to claim another wheel: both ignored, audited again
    entries = sorted(cache.rglob("*.json"))
    entries[0].write_text(entries[0].read_text()[:40])
    edited = json.loads(entries[1].read_text())
    edited["sha256"] = "0" * 64
    entries[1].write_text(json.dumps(edited))
    code, third, _, _ = run(tmp_path, *AUDITED, "--audit", "--threads", "--cache-dir",
                            str(cache), "-q")  # fmt: skip
    fresh = [n for n, a in audits(third).items() if not a["cached"]]
    assert len(fresh) == 2
    assert audits(third)[fresh[0]]["best"] == first[fresh[0]]["best"]


def test_text_output_lists_the_mislabelled_wheel(tmp_path: Path) -> None:
    out, err = io.StringIO(), io.StringIO()
    code = main(["survey", *INDEX_ARGS, "wasmtime", "--audit", "--threads", "--no-cache"],
                stdout=out, stderr=err, environ={})  # fmt: skip
    assert code == 1
    text = out.getvalue()
    assert "1 wheels, 1 mislabelled" in text
    assert f"mislabelled: {MISLABELLED}: claims manylinux1_x86_64, is manylinux_2_28_x86_64" in text
