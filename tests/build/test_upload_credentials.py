"""Where to upload and as whom, as twine decides it; the index's simple page in both its forms;
a password is never in a message or a ``repr``."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from manywheel.build import (
    CredentialsError,
    Outcome,
    Repository,
    RepositoryRequest,
    resolve_repository,
    upload_wheels,
)
from manywheel.build.simple_index import simple_index_for
from tests.build.indexserver import Recorder
from tests.build.wheels import metadata_text, pure_wheel

PYPIRC = """
[distutils]
index-servers =
    pypi
    private

[server-login]
username = fallback-user
password = fallback-pass

[pypi]
password = pypi-token

[private]
repository = https://packages.example.org/upload/
username = bob
password = bob-pass
ca_cert = /etc/ssl/private-ca.pem
client_cert = /etc/ssl/me.pem
"""


def _resolve(tmp_path: Path, environ: dict[str, str] | None = None, **request: str) -> Repository:
    pypirc = tmp_path / "pypirc"
    if not pypirc.exists():
        pypirc.write_text(PYPIRC, encoding="utf-8")
    request.setdefault("config_file", str(pypirc))
    return resolve_repository(RepositoryRequest(**request), environ or {})  # type: ignore[arg-type]


def test_pypirc_section(tmp_path: Path) -> None:
    repository = _resolve(tmp_path, repository="private")
    assert (repository.url, repository.username, repository.password) == (
        "https://packages.example.org/upload/",
        "bob",
        "bob-pass",
    )
    assert (repository.ca_cert, repository.client_cert) == (
        "/etc/ssl/private-ca.pem",
        "/etc/ssl/me.pem",
    )
    assert repository.sources["password"] == f"{tmp_path / 'pypirc'} [private]"


def test_pypi_needs_no_section_and_uses_tokens(tmp_path: Path) -> None:
    repository = _resolve(tmp_path)
    assert repository.url == "https://upload.pypi.org/legacy/"
    assert (repository.username, repository.password) == ("__token__", "pypi-token")
    (tmp_path / "pypirc").write_text("", encoding="utf-8")
    testpypi = _resolve(tmp_path, repository="testpypi")
    assert (testpypi.url, testpypi.username) == ("https://test.pypi.org/legacy/", "__token__")


def test_command_line_then_environment_then_file(tmp_path: Path) -> None:
    environ = {"TWINE_USERNAME": "env-user", "TWINE_PASSWORD": "env-pass",
               "TWINE_REPOSITORY": "private", "TWINE_CERT": "/env/ca.pem"}  # fmt: skip
    repository = _resolve(tmp_path, environ, username="cli-user")
    assert (repository.url, repository.username, repository.password, repository.ca_cert) == (
        "https://packages.example.org/upload/",
        "cli-user",
        "env-pass",
        "/env/ca.pem",
    )
    assert repository.sources["username"] == "--username"
    assert repository.sources["password"] == "TWINE_PASSWORD"


def test_repository_url_skips_the_file_and_takes_user_information(tmp_path: Path) -> None:
    repository = _resolve(tmp_path, {"TWINE_REPOSITORY_URL": "http://carol:p%40ss@127.0.0.1:8080/"})
    assert (repository.url, repository.username, repository.password) == (
        "http://127.0.0.1:8080/",
        "carol",
        "p@ss",
    )
    assert repository.ca_cert is None  # the file's sections are not read


def test_server_login_defaults(tmp_path: Path) -> None:
    (tmp_path / "pypirc").write_text(
        PYPIRC.replace("username = bob\npassword = bob-pass\n", ""), encoding="utf-8"
    )
    repository = _resolve(tmp_path, repository="private")
    assert (repository.username, repository.password) == ("fallback-user", "fallback-pass")


def test_errors(tmp_path: Path) -> None:
    with pytest.raises(CredentialsError, match=r"no \[nope\] section \(index-servers\) in "):
        _resolve(tmp_path, repository="nope")
    with pytest.raises(CredentialsError, match=r"missing-pypirc: no such file"):
        _resolve(tmp_path, config_file=str(tmp_path / "missing-pypirc"))
    broken = tmp_path / "broken"
    broken.write_text("[private]\npassword = very-secret\nno equals sign here\n")
    with pytest.raises(CredentialsError) as info:
        _resolve(tmp_path, config_file=str(broken), repository="private")
    assert str(info.value) == f"{broken}: malformed .pypirc at line 3"
    with pytest.raises(CredentialsError, match="is not an http"):
        _resolve(tmp_path, repository_url="file:///tmp/index")


def test_missing_default_pypirc_is_fine(tmp_path: Path) -> None:
    repository = resolve_repository(RepositoryRequest(), {"HOME": str(tmp_path)})
    assert repository.url == "https://upload.pypi.org/legacy/"
    assert repository.password is None


def test_prompt_when_nothing_else_says(tmp_path: Path) -> None:
    asked: list[tuple[str, bool]] = []

    def prompt(text: str, secret: bool) -> str:
        asked.append((text, secret))
        return "typed-secret" if secret else "typed-user"

    request = RepositoryRequest(repository_url="https://packages.example.org/upload/")
    repository = resolve_repository(request, {"HOME": str(tmp_path)}, prompt=prompt)
    assert (repository.username, repository.password) == ("typed-user", "typed-secret")
    assert [secret for _, secret in asked] == [False, True]
    quiet = RepositoryRequest(repository_url=request.repository_url, non_interactive=True)
    assert resolve_repository(quiet, {}, prompt=prompt).password is None


def test_password_not_in_repr() -> None:
    repository = Repository("https://x/", "u", "hunter2")
    assert "hunter2" not in repr(repository)
    assert "hunter2" not in repr(RepositoryRequest(password="hunter2"))


@pytest.mark.parametrize(
    ("upload", "simple"),
    [
        ("https://upload.pypi.org/legacy/", "https://pypi.org/simple/"),
        ("https://test.pypi.org/legacy/", "https://test.pypi.org/simple/"),
        ("http://127.0.0.1:8080/", "http://127.0.0.1:8080/simple/"),
        ("https://devpi.example.org/user/index/legacy/", "https://devpi.example.org/user/index/simple/"),
        ("https://nexus.example.org/repository/pypi", "https://nexus.example.org/repository/pypi/simple/"),
    ],
)  # fmt: skip
def test_simple_index_next_to_the_upload_url(upload: str, simple: str) -> None:
    assert simple_index_for(upload) == simple


def test_pep_691_json_page(tmp_path: Path) -> None:
    """An index answering the simple API in JSON: the file there with the same sha256 is not
    sent again; the request asked for JSON first."""
    wheel = pure_wheel(tmp_path, "mwjson", metadata_text("mwjson", "1.0"))
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
    files = [{"filename": wheel.name, "url": "x", "hashes": {"sha256": digest}}]
    page = {"meta": {"api-version": "1.1"}, "name": "mwjson", "files": files}
    answer = (
        200,
        {"Content-Type": "application/vnd.pypi.simple.v1+json"},
        json.dumps(page).encode(),
    )
    with Recorder([(500, {}, b"must not be called")], get=answer).running() as recorder:
        report = upload_wheels([wheel], Repository(recorder.url, "u", "p"))
        [request] = recorder.requests
    assert [w.outcome for w in report.wheels] == [Outcome.EXISTS]
    assert request.path == "/simple/mwjson/"
    assert request.headers["Accept"].startswith("application/vnd.pypi.simple.v1+json")


def test_same_name_twice_is_refused(tmp_path: Path) -> None:
    from manywheel.errors import ManywheelError

    wheel = pure_wheel(tmp_path / "a", "mwtwice", metadata_text("mwtwice", "1.0"))
    copy = pure_wheel(tmp_path / "b", "mwtwice", metadata_text("mwtwice", "1.0"))
    with pytest.raises(ManywheelError, match=r"the same wheel name given twice: mwtwice-1\.0"):
        upload_wheels([wheel, copy], Repository("http://127.0.0.1:9/", "u", "p"))
