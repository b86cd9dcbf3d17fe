"""Index pages: PEP 503 HTML (fragments, data-yanked, data-requires-python, <base>, relative
links), PEP 691 JSON (API version checked), find-links directories, merging as pip merges;
hostile pages raise only the documented error."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from manywheel.survey import (
    FindLinks,
    IndexUnavailableError,
    MergedIndex,
    ProjectNotFoundError,
    SimpleIndex,
    TransportConfig,
    UrlTransport,
)
from manywheel.survey.links import (
    InvalidPageError,
    files_from_anchors,
    html_anchors,
    json_files,
    json_projects,
)

SHA = "a" * 64


def _html(body: str) -> bytes:
    return f"<!DOCTYPE html><html><body>{body}</body></html>".encode()


def test_pep503_page() -> None:
    page = _html(
        f'<a href="../../files/demo-1.0.tar.gz#sha256={SHA}">demo-1.0.tar.gz</a>'
        '<a href="https://cdn.example/demo-2.0-py3-none-any.whl#md5=00" '
        'data-requires-python="&gt;=3.9" data-yanked="">demo-2.0-py3-none-any.whl</a>'
        '<a href="demo%2B-3.0.zip">demo+-3.0.zip</a>'
    )
    anchors, base = html_anchors(page, "https://idx.example/simple/demo/")
    files = files_from_anchors(anchors, base, "src")
    assert [(f.filename, f.url, f.sha256, f.requires_python, f.yanked) for f in files] == [
        ("demo-1.0.tar.gz", "https://idx.example/files/demo-1.0.tar.gz", SHA, None, False),
        ("demo-2.0-py3-none-any.whl", "https://cdn.example/demo-2.0-py3-none-any.whl", None,
         ">=3.9", True),
        ("demo+-3.0.zip", "https://idx.example/simple/demo/demo%2B-3.0.zip", None, None, False),
    ]  # fmt: skip


def test_base_href_moves_relative_links() -> None:
    page = _html('<base href="https://mirror.example/pkgs/"><a href="demo-1.0.tar.gz">x</a>')
    anchors, base = html_anchors(page, "https://idx.example/simple/demo/")
    [file] = files_from_anchors(anchors, base, "src")
    assert file.url == "https://mirror.example/pkgs/demo-1.0.tar.gz"


def test_pep691_pages() -> None:
    root = {"meta": {"api-version": "1.1"}, "projects": [{"name": "Demo"}, {"name": "x"}]}
    assert json_projects(json.dumps(root).encode(), "https://i/") == ["Demo", "x"]
    page = {
        "meta": {"api-version": "1.0"},
        "name": "demo",
        "files": [
            {"filename": "demo-1.0.tar.gz", "url": "../../f/demo-1.0.tar.gz",
             "hashes": {"sha256": SHA.upper()}, "requires-python": ">=3.8", "yanked": "bad",
             "size": 12},
        ],
    }  # fmt: skip
    [file] = json_files(json.dumps(page).encode(), "https://i/simple/demo/", "src")
    assert (file.url, file.sha256, file.requires_python, file.yanked, file.size) == (
        "https://i/f/demo-1.0.tar.gz",
        SHA,
        ">=3.8",
        True,
        12,
    )


@pytest.mark.parametrize(
    "document",
    [
        b"not json",
        b"[]",
        b'{"meta": {"api-version": "2.0"}, "files": []}',
        b'{"meta": {"api-version": "1.0"}, "files": {}}',
        b'{"meta": {"api-version": "1.0"}, "files": [{"url": "x"}]}',
        b'{"meta": {"api-version": "1.0"}, "files": [3]}',
    ],
)
def test_bad_json_pages(document: bytes) -> None:
    with pytest.raises(InvalidPageError):
        json_files(document, "https://i/simple/demo/", "src")


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=2000))
def test_any_bytes_as_html_or_json_raise_only_the_documented_error(data: bytes) -> None:
    try:
        anchors, base = html_anchors(data, "https://i/simple/demo/")
        files_from_anchors(anchors, base, "src")
    except InvalidPageError:
        pass
    with contextlib.suppress(InvalidPageError):
        json_files(data, "https://i/simple/demo/", "src")


@pytest.fixture
def transport() -> UrlTransport:
    return UrlTransport(TransportConfig(retries=0))


def test_file_index_and_find_links_merged_as_pip_merges(
    tmp_path: Path, transport: UrlTransport
) -> None:
    simple = tmp_path / "simple" / "demo"
    simple.mkdir(parents=True)
    (simple / "index.html").write_bytes(
        _html('<a href="../../files/demo-1.0.tar.gz">demo-1.0.tar.gz</a>'
              '<a href="../../files/demo-2.0.tar.gz">demo-2.0.tar.gz</a>')
    )  # fmt: skip
    (tmp_path / "simple" / "index.html").write_bytes(_html('<a href="demo/">demo</a>'))
    links = tmp_path / "wheels"
    links.mkdir()
    for name in ("demo-2.0.tar.gz", "demo-2.0-py3-none-any.whl", "other-1.0.tar.gz"):
        (links / name).write_bytes(b"x")
    index = MergedIndex([
        SimpleIndex((tmp_path / "simple").as_uri(), transport), FindLinks(str(links), transport)
    ])  # fmt: skip
    project = index.project_files("Demo")
    assert project.name == "demo"
    assert sorted(f.filename for f in project.files) == [
        "demo-1.0.tar.gz", "demo-2.0-py3-none-any.whl", "demo-2.0.tar.gz"
    ]  # fmt: skip
    # the simple index lists demo-2.0.tar.gz first: its entry wins
    [sdist] = [f for f in project.files if f.filename == "demo-2.0.tar.gz"]
    assert sdist.source.endswith("/simple/")
    assert list(index.project_names()) == ["demo", "other"]
    with pytest.raises(ProjectNotFoundError):
        index.project_files("missing")


def test_a_failing_source_makes_the_answer_partial(tmp_path: Path, transport: UrlTransport) -> None:
    links = tmp_path / "wheels"
    links.mkdir()
    (links / "demo-1.0.tar.gz").write_bytes(b"x")
    dead = SimpleIndex("http://127.0.0.1:9/simple", transport)  # discard port: refused
    index = MergedIndex([dead, FindLinks(str(links), transport)])
    project = index.project_files("demo")
    assert [f.filename for f in project.files] == ["demo-1.0.tar.gz"]
    [problem] = project.problems
    assert problem.startswith("http://127.0.0.1:9/simple/demo/: cannot fetch")
    with pytest.raises(IndexUnavailableError, match="cannot fetch"):
        MergedIndex([dead]).project_files("demo")
