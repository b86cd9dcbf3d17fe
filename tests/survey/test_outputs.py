"""The outputs' pieces: compact platform and Python columns, the progress line, the JSON document
streamed package by package, and the HTML page's sections (escaped, no script)."""

from __future__ import annotations

import io
import json

import pytest
from packaging.version import Version

from manywheel.survey import (
    AuditFinding,
    DistFile,
    FindingKind,
    JsonWriter,
    PackageRequest,
    PackageStatus,
    PackageSurvey,
    Progress,
    Release,
    ReleaseSurvey,
    Row,
    Summary,
    WheelAudit,
    classify,
    progress_line,
    render_html,
    table,
)
from manywheel.survey.text import compact_platforms, compact_pythons


@pytest.mark.parametrize(
    ("keys", "text"),
    [
        (("cp39", "cp310", "cp311", "cp312", "cp313"), "cp39-cp313"),
        (("cp38", "cp310", "cp311", "cp313t", "cp314t", "abi3", "pp310"),
         "cp38,cp310-cp311 cp313t-cp314t abi3 pp310"),
        (("py3",), "py3"),
        ((), ""),
    ],
)  # fmt: skip
def test_compact_pythons(keys: tuple[str, ...], text: str) -> None:
    assert compact_pythons(keys) == text


def test_compact_platforms() -> None:
    families = [
        ("manylinux_x86_64", "2.17"), ("manylinux_aarch64", "2.28"), ("musllinux_x86_64", "1.2"),
        ("macosx_arm64", "11.0"), ("win_amd64", ""),
    ]  # fmt: skip
    assert compact_platforms(families) == "gl:x86_64,aarch64 musl:x86_64 mac:arm64 win:amd64"


def test_progress_line() -> None:
    assert progress_line(Progress(3, 12, 2, 5, "numpy"), width=12) == (
        "[###         ] 3/12 packages, 2/5 wheels audited  numpy"
    )
    assert progress_line(Progress(7, None, 0, 0, "six")) == "7 packages  six"


def _package(name: str) -> PackageSurvey:
    files = (DistFile(f"{name}-1.0-cp313-cp313-manylinux_2_17_x86_64.whl", "u"),
             DistFile(f"{name}-1.0.tar.gz", "u"))  # fmt: skip
    release = Release(Version("1.0"), files)
    mislabel = AuditFinding(FindingKind.MISLABELLED, "claims more", None,
                            ("manylinux_2_17_x86_64",), ("<needs GLIBC_2.34>",))  # fmt: skip
    audit = WheelAudit(files[0].filename, "u", None, claimed=("manylinux_2_17_x86_64",),
                       best="manylinux_2_34_x86_64", findings=(mislabel,))  # fmt: skip
    survey = ReleaseSurvey("1.0", False, files, classify(release), None, (audit,))
    return PackageSurvey(PackageRequest(name), name, PackageStatus.OK, (), (survey,))


def test_json_streams_a_valid_document() -> None:
    stream = io.StringIO()
    writer = JsonWriter(stream)
    writer.start({"indexes": ["https://i/simple/"], "target": None})
    summary = Summary()
    for name in ("a", "b"):
        package = _package(name)
        writer.add(package)
        summary.add(package)
    missing = PackageSurvey(PackageRequest("gone"), "gone", PackageStatus.NOT_FOUND, ("404",))
    writer.add(missing)
    summary.add(missing)
    writer.finish(summary)
    document = json.loads(stream.getvalue())
    assert [p["name"] for p in document["packages"]] == ["a", "b", "gone"]
    assert document["summary"]["audit"]["mislabelled"] == 2
    assert document["summary"]["unsurveyed"] == 1
    assert stream.getvalue().count("\n") == 5  # a line per package, between head and summary


def test_html_sections_escaped_and_without_script() -> None:
    gone = PackageSurvey(PackageRequest("gone"), "gone", PackageStatus.NOT_FOUND, ("404",))
    rows = [Row.of(_package("a<b")), Row.of(gone)]
    summary = Summary()
    html = render_html(
        rows, summary, {"indexes": ["x"], "audit": True, "target": "cp313-win_amd64"}
    )
    assert "a&lt;b" in html and "a<b" not in html
    assert "&lt;needs GLIBC_2.34&gt;" in html
    for section in ('id="grid"', 'id="charts"', 'id="mislabelled"', 'id="target"', 'id="all"'):
        assert section in html
    assert "<script" not in html
    assert "default-src 'none'" in html


def test_table_lines() -> None:
    rows = [Row.of(_package("demo"))]
    summary = Summary()
    summary.add(_package("demo"))
    lines = table(rows, summary, target=None, audit=True, paint=lambda text, _: text)
    assert lines[0].split() == ["package", "version", "kind", "platforms", "pythons", "glibc",
                                "audit"]  # fmt: skip
    assert lines[1].split() == ["demo", "1.0", "binary", "gl:x86_64", "cp313", "2.17", "1",
                                "wheels,", "1", "mislabelled"]  # fmt: skip
    assert lines[-2] == (
        "mislabelled: demo-1.0-cp313-cp313-manylinux_2_17_x86_64.whl: claims "
        "manylinux_2_17_x86_64, is manylinux_2_34_x86_64 as it is"
    )
