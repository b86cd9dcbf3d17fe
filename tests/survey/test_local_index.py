"""The proof on real data: a survey of the machine's local indexes — every project of the two
PEP 503 trees and the find-links directory pip is configured with, every release — checked
against a direct listing of their files."""

from __future__ import annotations

import io
import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from packaging.version import Version

from manywheel.cli import main
from tests.survey.conftest import FIND_LINKS, PYPI, PYPI_MORE, require_local_index
from tests.survey.listing import Listing, expected_kind, listing, versions

INDEX_ARGS = [
    "--isolated",
    "-i", (PYPI / "simple").as_uri(),
    "--extra-index-url", (PYPI_MORE / "simple").as_uri(),
    "-f", str(FIND_LINKS),
]  # fmt: skip


def survey(tmp_path: Path, *args: str) -> tuple[int, dict[str, Any], str]:
    out, err = io.StringIO(), io.StringIO()
    report = tmp_path / "survey.json"
    code = main(["survey", *args, "--json", str(report)], stdout=out, stderr=err, environ={})
    return code, json.loads(report.read_text()), out.getvalue() + err.getvalue()


@pytest.fixture(scope="module")
def every_release(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    require_local_index()
    tmp = tmp_path_factory.mktemp("survey")
    code, document, output = survey(tmp, *INDEX_ARGS, "--all", "--releases", "all", "-q")
    assert code == 0, output
    return document


@pytest.fixture(scope="module")
def direct() -> Listing:
    require_local_index()
    return listing([PYPI / "simple", PYPI_MORE / "simple"], FIND_LINKS)


def test_every_project_and_every_file(every_release: dict[str, Any], direct: Listing) -> None:
    packages = {p["name"]: p for p in every_release["packages"]}
    assert len(packages) == len(direct.files) > 800
    for name, files in direct.files.items():
        package = packages[name]
        assert package["status"] == "ok", name
        surveyed = {f["filename"] for r in package["releases"] for f in r["files"]}
        assert surveyed == {n for n in files if n in surveyed}, name
        assert len(surveyed) + package["files_left_out"] == len(files), name


def test_each_release_classified_as_its_files_say(
    every_release: dict[str, Any], direct: Listing
) -> None:
    packages = {p["name"]: p for p in every_release["packages"]}
    releases = 0
    for name, files in direct.files.items():
        by_version = versions(files)
        surveyed = {Version(r["version"]): r for r in packages[name]["releases"]}
        assert set(surveyed) == set(by_version), name
        for version, release in surveyed.items():
            assert {f["filename"] for f in release["files"]} == by_version[version]
            assert release["kind"] == expected_kind(by_version[version]), (name, version)
            releases += 1
    assert releases > 900


def test_latest_counts_and_platforms(tmp_path: Path, direct: Listing) -> None:
    """The default survey (latest release of each project): the totals, and for each binary
    package the platform families and oldest glibc its wheels' names give."""
    code, document, _ = survey(tmp_path, *INDEX_ARGS, "--all", "-q")
    assert code == 0
    expected: Counter[str] = Counter()
    families: Counter[str] = Counter()
    for files in direct.files.values():
        finals = [v for v in versions(files) if not v.is_prerelease]
        newest = max(finals or versions(files))
        kind = expected_kind(versions(files)[newest])
        expected[kind] += 1
        if kind == "binary":
            platforms = {
                t for n in versions(files)[newest] if n.endswith(".whl")
                for t in n[:-4].rsplit("-", 1)[-1].split(".") if t != "any"
            }  # fmt: skip
            families.update({_family(t) for t in platforms})
    summary = document["summary"]
    assert summary["packages"] == len(direct.files)
    assert summary["kinds"] == dict(expected)
    assert summary["platform_families"] == dict(families)
    assert expected["binary"] > 200 and expected["pure"] > 500


def _family(tag: str) -> str:
    for alias in ("manylinux1", "manylinux2010", "manylinux2014"):
        if tag.startswith(alias + "_"):
            return "manylinux_" + tag[len(alias) + 1 :]
    head, *rest = tag.split("_")
    while rest and rest[0].isdigit():
        rest = rest[1:]
    return "_".join([head, *rest])


def test_text_table_of_a_few(tmp_path: Path) -> None:
    require_local_index()
    out, err = io.StringIO(), io.StringIO()
    code = main(["survey", *INDEX_ARGS, "numpy", "six", "wasmtime"], stdout=out, stderr=err,
                environ={})  # fmt: skip
    assert (code, err.getvalue()) == (0, "")
    lines = out.getvalue().splitlines()
    assert lines[0].split() == ["package", "version", "kind", "platforms", "pythons", "glibc"]
    rows = {line.split()[0]: line.split()[1:] for line in lines[1:4]}
    assert rows["six"][1] == "pure"
    assert rows["numpy"][1:] == ["binary", "gl:x86_64", "cp311", "2.27"]
    assert rows["wasmtime"][1:] == ["binary", "gl:x86_64", "py3", "2.5"]
    assert "3 packages: 2 binary, 1 pure" in lines
