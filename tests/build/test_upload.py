"""``upload_wheels`` against a real pypiserver on the loopback interface (authentication on):
uploads, a re-run that uploads nothing, all or nothing when a wheel fails its check,
``skip_failed``, a name on the index with other bytes, refused credentials; and against a
recording server: the form twine sends, 5xx retries, redirects."""

from __future__ import annotations

import email.parser
import hashlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from manywheel.build import (
    Outcome,
    Repository,
    UploadError,
    UploadReport,
    upload_wheels,
)
from tests.build.indexserver import Answer, IndexServer, RecordedRequest, Recorder, pypiserver
from tests.build.wheels import THREADS, extension_wheel, host_python, metadata_text, pure_wheel


@pytest.fixture(scope="module")
def wheels(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    python = host_python()
    directory = tmp_path_factory.mktemp("upload-wheels")
    markdown = metadata_text(
        "mwupure",
        "2.0",
        "Author: Test Author\nKeywords: a,b\nProject-URL: Source, https://example.org/src\n"
        "Requires-Dist: packaging>=20\nClassifier: Programming Language :: Python :: 3\n",
    )
    return {
        "ext": extension_wheel(directory, python, "mwupext", "manylinux2014_x86_64"),
        "pure": pure_wheel(directory, "mwupure", markdown, version="2.0"),
        "lie": extension_wheel(directory, python, "mwuplie", "manylinux1_x86_64", code=THREADS),
        "other": extension_wheel(
            directory / "other",
            python,
            "mwupext",
            "manylinux2014_x86_64",
            code=("static int calls;\n", "calls++;"),
        ),
    }


@pytest.fixture
def server(tmp_path: Path) -> Iterator[IndexServer]:
    with pypiserver(tmp_path) as running:
        yield running


def _repository(server: IndexServer, password: str | None = None) -> Repository:
    return Repository(server.url, server.username, password or server.password)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _outcomes(report: UploadReport) -> dict[str, Outcome]:
    return {Path(w.path).name: w.outcome for w in report.wheels}


def test_upload_then_a_rerun_uploads_nothing(server: IndexServer, wheels: dict[str, Path]) -> None:
    paths = [wheels["ext"], wheels["pure"]]
    report = upload_wheels(paths, _repository(server))
    assert _outcomes(report) == {p.name: Outcome.UPLOADED for p in paths}
    assert server.files() == sorted(p.name for p in paths)
    for path in paths:
        assert _sha256(server.root / path.name) == _sha256(path)
    again = upload_wheels(paths, _repository(server))
    assert _outcomes(again) == {p.name: Outcome.EXISTS for p in paths}
    assert {w.detail for w in again.wheels} == {"with the same sha256"}


def test_a_failing_check_uploads_nothing(server: IndexServer, wheels: dict[str, Path]) -> None:
    report = upload_wheels([wheels["ext"], wheels["lie"], wheels["pure"]], _repository(server))
    assert _outcomes(report) == {
        wheels["ext"].name: Outcome.HELD_BACK,
        wheels["lie"].name: Outcome.FAILED_CHECK,
        wheels["pure"].name: Outcome.HELD_BACK,
    }
    assert report.failed_checks
    assert server.files() == []


def test_skip_failed_uploads_the_rest(server: IndexServer, wheels: dict[str, Path]) -> None:
    report = upload_wheels(
        [wheels["ext"], wheels["lie"], wheels["pure"]], _repository(server), skip_failed=True
    )
    assert _outcomes(report)[wheels["lie"].name] is Outcome.FAILED_CHECK
    assert server.files() == sorted([wheels["ext"].name, wheels["pure"].name])


def test_name_on_the_index_with_other_bytes(server: IndexServer, wheels: dict[str, Path]) -> None:
    upload_wheels([wheels["ext"]], _repository(server))
    other = wheels["other"]
    assert other.name == wheels["ext"].name
    report = upload_wheels([other], _repository(server))
    [result] = report.wheels
    assert result.outcome is Outcome.CONFLICT
    assert _sha256(other) in result.detail
    assert _sha256(wheels["ext"]) in result.detail
    assert _sha256(server.root / other.name) == _sha256(wheels["ext"])  # not replaced


def test_index_says_it_exists_when_the_page_cannot_be_read(
    server: IndexServer, wheels: dict[str, Path]
) -> None:
    """Without the simple page (a wrong --index-url), the server's 409 still means 'there'."""
    upload_wheels([wheels["pure"]], _repository(server))
    report = upload_wheels(
        [wheels["pure"]], _repository(server), index_url=f"{server.url}elsewhere/"
    )
    assert [(w.outcome, w.detail) for w in report.wheels] == [
        (Outcome.EXISTS, "the index says so (HTTP 409)")
    ]
    refused = upload_wheels(
        [wheels["pure"]],
        _repository(server),
        index_url=f"{server.url}elsewhere/",
        skip_existing=False,
    )
    assert [w.outcome for w in refused.wheels] == [Outcome.CONFLICT]


def test_refused_credentials(server: IndexServer, wheels: dict[str, Path]) -> None:
    repository = Repository(
        server.url, server.username, "wrong-password", sources={"username": "--username",
                                                                "password": "TWINE_PASSWORD"}
    )  # fmt: skip
    with pytest.raises(UploadError) as info:
        upload_wheels([wheels["ext"], wheels["pure"]], repository)
    message = str(info.value)
    assert message.startswith(f"{server.url}: HTTP 403 Forbidden")
    assert "user 'alice' from --username, password from TWINE_PASSWORD" in message
    assert "wrong-password" not in message + repr(info.value.report) + repr(repository)
    assert [w.outcome for w in info.value.report.wheels] == [Outcome.ERROR, Outcome.NOT_TRIED]
    assert server.files() == []


def test_unreachable_index(wheels: dict[str, Path], tmp_path: Path) -> None:
    with Recorder([(200, {}, b"")]).running() as recorder:
        url = recorder.url
    with pytest.raises(UploadError, match=rf"^{url}: cannot reach the index: "):
        upload_wheels([wheels["pure"]], Repository(url, "u", "p"), retries=1)


# --- what is sent ------------------------------------------------------------------------------


def _form(request: RecordedRequest) -> list[tuple[str, str | bytes]]:
    """The multipart body's fields, in order (the file as bytes)."""
    head = f"Content-Type: {request.headers['Content-Type']}\r\n\r\n".encode()
    message = email.parser.BytesParser().parsebytes(head + request.body)
    fields: list[tuple[str, str | bytes]] = []
    for part in message.get_payload():
        assert not isinstance(part, str)
        name = str(part.get_param("name", header="content-disposition"))
        payload = part.get_payload(decode=True)
        assert isinstance(payload, bytes)
        is_file = part.get_param("filename", header="content-disposition") is not None
        fields.append((name, payload if is_file else payload.decode()))
    return fields


def _twine_form(wheel: Path, tmp_path: Path) -> list[tuple[str, str | bytes]]:
    pytest.importorskip("twine", reason="twine (a test dependency) is not installed")
    with Recorder([(200, {}, b"")]).running() as recorder:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("TWINE_", "PIP_"))}
        argv = [sys.executable, "-m", "twine", "upload", "--repository-url", recorder.url,
                "-u", "u", "-p", "p", "--non-interactive", "--disable-progress-bar",
                str(wheel)]  # fmt: skip
        subprocess.run(argv, check=True, capture_output=True, env=env, timeout=120)
        [request] = recorder.uploads
    return _form(request)


@pytest.mark.parametrize("which", ["ext", "pure"])
def test_the_form_is_twines(which: str, wheels: dict[str, Path], tmp_path: Path) -> None:
    """Differential: the same fields, values and file as twine 7 sends for the same wheel."""
    wheel = wheels[which]
    expected = _twine_form(wheel, tmp_path)
    with Recorder([(200, {}, b"")]).running() as recorder:
        report = upload_wheels([wheel], Repository(recorder.url, "u", "p"))
        [request] = recorder.uploads
    assert [w.outcome for w in report.wheels] == [Outcome.UPLOADED]
    ours = _form(request)
    assert sorted(ours, key=repr) == sorted(expected, key=repr)
    assert dict(ours)["content"] == wheel.read_bytes()
    assert request.headers["Authorization"] == "Basic dTpw"  # u:p
    assert request.path == "/"
    assert {g.method for g in recorder.requests} == {"GET", "POST"}


def test_server_errors_are_retried(wheels: dict[str, Path]) -> None:
    script: list[Answer] = [(503, {}, b"busy"), (502, {}, b"bad gateway"), (200, {}, b"")]
    with Recorder(script).running() as recorder:
        report = upload_wheels(
            [wheels["pure"]], Repository(recorder.url, "u", "p"), retries=3, backoff=0.01
        )
        assert len(recorder.uploads) == 3
    assert [w.outcome for w in report.wheels] == [Outcome.UPLOADED]
    with Recorder([(500, {}, b"broken")]).running() as recorder:
        with pytest.raises(UploadError, match=r"HTTP 500 Internal Server Error: broken$"):
            upload_wheels(
                [wheels["pure"]], Repository(recorder.url, "u", "p"), retries=2, backoff=0.01
            )
        assert len(recorder.uploads) == 2


def test_redirect_is_not_followed(wheels: dict[str, Path]) -> None:
    answer = (301, {"Location": "https://elsewhere.invalid/legacy/"}, b"")
    with Recorder([answer]).running() as recorder:
        with pytest.raises(UploadError, match=r"redirected to https://elsewhere\.invalid/legacy/"):
            upload_wheels([wheels["pure"]], Repository(recorder.url, "u", "p"))
        assert len(recorder.uploads) == 1


def test_pypi_style_already_exists(wheels: dict[str, Path]) -> None:
    """PyPI answers 400 with "File already exists" in its reason."""
    answer = (400, {"Content-Type": "text/html"}, b"<html><body>400 File already exists.</body>")
    with Recorder([answer]).running() as recorder:
        report = upload_wheels([wheels["pure"]], Repository(recorder.url, "u", "p"))
    assert [w.outcome for w in report.wheels] == [Outcome.EXISTS]


def test_json_error_message(wheels: dict[str, Path]) -> None:
    body = b'{"errors": [{"status": 400, "message": "Invalid version."}]}'
    answer = (400, {"Content-Type": "application/json"}, body)
    with (
        Recorder([answer]).running() as recorder,
        pytest.raises(UploadError, match=r": HTTP 400 Bad Request: Invalid version\.$"),
    ):
        upload_wheels([wheels["pure"]], Repository(recorder.url, "u", "p"))
