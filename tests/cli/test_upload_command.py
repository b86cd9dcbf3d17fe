"""``manywheel upload`` against a real pypiserver on the loopback interface (authentication on):
credentials from the environment, a ``.pypirc`` and a keyring; one line per wheel; exit codes
0 / 1 / 2 / 3 / 4; a password never printed; and the end of the story — ``pip install
--index-url`` from that server into a fresh virtual environment imports and calls the
extension."""

from __future__ import annotations

import io
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from manywheel.cli import main
from tests.build.indexserver import IndexServer, pypiserver
from tests.build.wheels import THREADS, extension_wheel, host_python, metadata_text, pure_wheel
from tests.harness.sdists import HostPython


def _run(*argv: str, environ: dict[str, str] | None = None) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(["upload", *argv], stdout=out, stderr=err, environ=environ or {})
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def python() -> HostPython:
    return host_python()


@pytest.fixture(scope="module")
def wheels(python: HostPython, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    directory = tmp_path_factory.mktemp("upload-command")
    return {
        "ext": extension_wheel(directory, python, "mwcliup", "manylinux2014_x86_64"),
        "pure": pure_wheel(directory, "mwclipure", metadata_text("mwclipure", "1.0")),
        "lie": extension_wheel(directory, python, "mwclilie", "manylinux1_x86_64", code=THREADS),
    }


@pytest.fixture
def server(tmp_path: Path) -> Iterator[IndexServer]:
    with pypiserver(tmp_path / "index") as running:
        yield running


def _env(server: IndexServer, **extra: str) -> dict[str, str]:
    return {"TWINE_USERNAME": server.username, "TWINE_PASSWORD": server.password, **extra}


@pytest.mark.slow
def test_upload_rerun_and_pip_install(
    server: IndexServer, wheels: dict[str, Path], python: HostPython, tmp_path: Path
) -> None:
    ext, pure = str(wheels["ext"]), str(wheels["pure"])
    code, out, err = _run("--repository-url", server.url, ext, pure, environ=_env(server))
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].startswith(f"{ext}: uploaded (sha256 ")
    assert lines[1].startswith(f"{pure}: uploaded (sha256 ")
    assert err == f"{server.url}: 2 uploaded\n"
    code, out, err = _run("--repository-url", server.url, ext, pure, environ=_env(server))
    assert (code, err) == (0, f"{server.url}: 2 already there\n")
    assert out == (
        f"{ext}: already on the index (with the same sha256)\n"
        f"{pure}: already on the index (with the same sha256)\n"
    )
    _pip_install_and_call(server, python, tmp_path / "venv")


def _pip_install_and_call(server: IndexServer, python: HostPython, venv: Path) -> None:
    """A fresh venv of the Python the wheel was built for; pip with a clean environment (no
    PIP_* from the host) and only the loopback index."""
    subprocess.run([str(python.executable), "-m", "venv", str(venv)], check=True, timeout=300)
    env = {
        "PATH": f"{venv / 'bin'}:/usr/bin:/bin",
        "HOME": str(venv),
        "PIP_CONFIG_FILE": os.devnull,
    }
    index = server.simple.replace("//", f"//{server.username}:{server.password}@", 1)
    install = [str(venv / "bin" / "python"), "-m", "pip", "install", "--no-cache-dir",
               "--disable-pip-version-check", "--index-url", index, "mwcliup"]  # fmt: skip
    done = subprocess.run(
        install, check=False, capture_output=True, text=True, env=env, timeout=300
    )
    assert done.returncode == 0, done.stdout + done.stderr
    call = [str(venv / "bin" / "python"), "-c", "import mwcliup; print(mwcliup.answer())"]
    done = subprocess.run(
        call, check=False, capture_output=True, text=True, env=env, cwd="/", timeout=60
    )
    assert (done.returncode, done.stdout) == (0, "42\n"), done.stderr


def test_failing_check_uploads_nothing_exit_1(server: IndexServer, wheels: dict[str, Path]) -> None:
    ext, lie = str(wheels["ext"]), str(wheels["lie"])
    code, out, err = _run("--repository-url", server.url, ext, lie, environ=_env(server))
    assert code == 1
    lines = out.splitlines()
    assert lines[0].startswith(f"{lie}: tag: manylinux1_x86_64: ") and "GLIBC_2.34" in lines[0]
    assert lines[1] == f"{lie}: not uploaded: failed its check (1 problem)"
    assert lines[2] == f"{ext}: not uploaded (another wheel failed its check)"
    assert err == (
        f"{server.url}: 1 failed their check, 1 held back (nothing uploaded: --skip-failed "
        "uploads the wheels that pass)\n"
    )
    assert server.files() == []
    code, out, _ = _run(
        "--repository-url", server.url, "--skip-failed", ext, lie, environ=_env(server)
    )
    assert code == 1
    assert f"{ext}: uploaded (sha256 " in out
    assert server.files() == [wheels["ext"].name]


def test_pypirc(server: IndexServer, wheels: dict[str, Path], tmp_path: Path) -> None:
    pypirc = tmp_path / "pypirc"
    pypirc.write_text(
        "[distutils]\nindex-servers =\n    local\n\n"
        f"[local]\nrepository = {server.url}\nusername = {server.username}\n"
        f"password = {server.password}\n",
        encoding="utf-8",
    )
    code, out, err = _run("--config-file", str(pypirc), "-r", "local", str(wheels["pure"]))
    assert code == 0, err
    assert server.files() == [wheels["pure"].name]
    code, _, err = _run("--config-file", str(pypirc), "-r", "missing", str(wheels["pure"]))
    assert (code, err) == (
        2,
        f"manywheel: error: no [missing] section (index-servers) in {pypirc}\n",
    )
    home = tmp_path / "home"
    home.mkdir()
    (home / ".pypirc").write_text(pypirc.read_text().replace("local", "work"), encoding="utf-8")
    environ = {"HOME": str(home), "TWINE_REPOSITORY": "work"}
    code, out, _ = _run(str(wheels["pure"]), environ=environ)
    assert code == 0
    assert out == f"{wheels['pure']}: already on the index (with the same sha256)\n"


def test_keyring(server: IndexServer, wheels: dict[str, Path]) -> None:
    keyring = pytest.importorskip("keyring", reason="keyring (optional) is not installed")
    from keyring.backend import KeyringBackend

    asked: list[tuple[str, str]] = []

    class Memory(KeyringBackend):
        priority = 1

        def get_password(self, service: str, username: str) -> str | None:
            asked.append((service, username))
            found = (service, username) == (server.url, server.username)
            return server.password if found else None

        def set_password(self, service: str, username: str, password: str) -> None:
            raise NotImplementedError

        def delete_password(self, service: str, username: str) -> None:
            raise NotImplementedError

    before = keyring.get_keyring()
    keyring.set_keyring(Memory())  # type: ignore[no-untyped-call]
    try:
        environ = {"TWINE_USERNAME": server.username}
        code, out, err = _run(
            "--repository-url", server.url, "--non-interactive", str(wheels["pure"]),
            environ=environ,
        )  # fmt: skip
    finally:
        keyring.set_keyring(before)
    assert code == 0, out + err
    assert asked == [(server.url, server.username)]
    assert server.files() == [wheels["pure"].name]


def test_refused_password_is_never_printed(server: IndexServer, wheels: dict[str, Path]) -> None:
    secret = "Wrong-Secret-123"
    url_with_password = server.url.replace("//", f"//{server.username}:{secret}@", 1)
    for argv, environ in (
        (["--repository-url", server.url, "-p", secret, "-u", server.username], {}),
        (["--repository-url", url_with_password], {}),
        (["--repository-url", server.url], {"TWINE_USERNAME": "x", "TWINE_PASSWORD": secret}),
    ):
        code, out, err = _run("-vv", *argv, str(wheels["pure"]), environ=environ)
        assert code == 4
        assert secret not in out + err
        assert f"manywheel: error: {server.url}: HTTP 403 Forbidden (user " in err
    assert server.files() == []


def test_no_credentials_non_interactive(server: IndexServer, wheels: dict[str, Path]) -> None:
    code, _, err = _run("--repository-url", server.url, "--non-interactive", str(wheels["pure"]))
    assert code == 4
    assert err.endswith(
        f"manywheel: error: {server.url}: HTTP 401 Unauthorized (no password was found: "
        "TWINE_PASSWORD, .pypirc or keyring)\n"
    )


def test_unreadable_wheel_exit_3(
    server: IndexServer, wheels: dict[str, Path], tmp_path: Path
) -> None:
    bad = tmp_path / "bad-1.0-py3-none-any.whl"
    bad.write_bytes(b"not a zip")
    code, out, err = _run("--repository-url", server.url, str(bad), str(wheels["pure"]),
                          environ=_env(server))  # fmt: skip
    assert code == 3
    assert out.startswith(f"{bad}: not uploaded: failed its check (")
    assert err.splitlines()[-1].startswith(f"manywheel: error: {bad}")
    assert server.files() == []


def test_bad_repository_url() -> None:
    code, _, err = _run("--repository-url", "ftp://example.org/", "x-1.0-py3-none-any.whl")
    assert (code, err) == (
        2,
        "manywheel: error: --repository-url: 'ftp://example.org/' is not an http(s) URL\n",
    )
