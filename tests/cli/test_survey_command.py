"""``manywheel survey`` on the command line: pip's configuration read as pip reads it (files,
environment, the null device), the outputs written whole or not at all, usage errors and the
documented exit codes (0 surveyed, 1 findings, 2 usage, 3 not surveyed)."""

from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path

import pytest

from manywheel.cli import main
from manywheel.cli.pip_config import PYPI, pip_config_files, read_pip_config

WHEEL = "demo-1.0-cp313-cp313-manylinux_2_17_x86_64.whl"


@pytest.fixture
def index(tmp_path: Path) -> Path:
    """A small file:// index: demo (a wheel and an sdist), docs (pure), src (source only)."""
    root = tmp_path / "index"
    files = {"demo": [WHEEL, "demo-1.0.tar.gz"], "docs": ["docs-2.0-py3-none-any.whl"],
             "src": ["src-0.1.tar.gz"]}  # fmt: skip
    for project, names in files.items():
        (root / "simple" / project).mkdir(parents=True)
        links = "".join(f'<a href="../../files/{n}">{n}</a>' for n in names)
        (root / "simple" / project / "index.html").write_text(f"<html><body>{links}</body></html>")
    (root / "files").mkdir()
    return root


def run(*argv: str, environ: dict[str, str] | None = None) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(["survey", *argv], stdout=out, stderr=err, environ=environ or {})
    return code, out.getvalue(), err.getvalue()


def test_exit_codes(index: Path) -> None:
    args = ["--isolated", "-i", (index / "simple").as_uri()]
    assert run(*args, "demo", "docs")[0] == 0
    code, out, err = run(*args, "demo", "src", "--target", "cp313-manylinux_2_17_aarch64")
    assert (code, err) == (1, "")  # findings: no wheel for the target
    assert "2 have no wheel for cp313-manylinux_2_17_aarch64" in out
    code, _, err = run(*args, "demo", "nothing")
    assert code == 3
    assert err == f"manywheel survey: nothing: not found on {(index / 'simple').as_uri()}/\n"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        ([], "name packages, give a list with -r/--from, or use --all"),
        (["demo", "--target", "cp313"], "--target 'cp313': expected PYTHON-PLATFORM"),
        (["demo", "--releases", "latest"], "--releases: expected a number or 'all'"),
        (["demo", "--no-index"], "--no-index without --find-links leaves nothing to read"),
    ],
)
def test_usage_errors(argv: list[str], message: str) -> None:
    code, out, err = run("--isolated", *argv)
    assert (code, out) == (2, "")
    assert err.startswith(f"manywheel survey: error: {message}")
    assert err.count("\n") == 1


def test_outputs_are_written_whole_or_not_at_all(index: Path, tmp_path: Path) -> None:
    args = ["--isolated", "-i", (index / "simple").as_uri()]
    report, table = tmp_path / "out.json", tmp_path / "out.csv"
    code, out, _ = run(*args, "demo", "docs", "src", "--json", str(report), "--csv", str(table))
    assert code == 0
    assert out.splitlines()[0].split()[:3] == ["package", "version", "kind"]
    document = json.loads(report.read_text())
    assert (document["format"], document["schema_version"]) == ("manywheel-survey", 1)
    assert [p["releases"][0]["kind"] for p in document["packages"]] == [
        "binary", "pure", "sdist-only"
    ]  # fmt: skip
    with table.open() as stream:
        rows = list(csv.DictReader(stream))
    assert [(r["name"], r["kind"], r["platforms"]) for r in rows] == [
        ("demo", "binary", "manylinux_x86_64"), ("docs", "pure", ""), ("src", "sdist-only", "")
    ]  # fmt: skip
    assert report.stat().st_mode & 0o777 == 0o666 & ~_umask()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["index", "out.csv", "out.json"]
    # an unreadable package list: nothing is written
    report.unlink()
    code, _, err = run(*args, "-r", str(tmp_path / "missing.txt"), "--json", str(report))
    assert code == 3
    assert "cannot read" in err
    assert not report.exists()


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_json_on_stdout_replaces_the_table(index: Path) -> None:
    code, out, _ = run("--isolated", "-i", (index / "simple").as_uri(), "docs", "--json", "-")
    assert code == 0
    assert json.loads(out)["packages"][0]["name"] == "docs"


# --- pip's configuration -----------------------------------------------------------------------


def test_pip_config_files_in_pips_order(tmp_path: Path) -> None:
    env = {"HOME": str(tmp_path), "XDG_CONFIG_DIRS": "/a:/b", "XDG_CONFIG_HOME": "/c"}
    files = [str(p) for p in pip_config_files(env)]
    assert files[:3] == ["/a/pip/pip.conf", "/b/pip/pip.conf", "/etc/pip.conf"]
    assert files[3:5] == [f"{tmp_path}/.pip/pip.conf", "/c/pip/pip.conf"]
    assert files[5].endswith("/pip.conf")  # the interpreter's site file
    assert pip_config_files({**env, "PIP_CONFIG_FILE": os.devnull}) == []
    own = tmp_path / "mine.conf"
    own.write_text("[global]\n")
    with_file = [str(p) for p in pip_config_files({**env, "PIP_CONFIG_FILE": str(own)})]
    assert with_file[-1] == str(own)
    assert f"{tmp_path}/.pip/pip.conf" not in with_file  # PIP_CONFIG_FILE replaces the user's


def test_pip_config_values_and_environment(tmp_path: Path) -> None:
    conf = tmp_path / "pip.conf"
    conf.write_text(
        "[global]\nextra-index-url = file:///a/simple\n    file:///b/simple\n"
        "find-links = /opt/wheels\ncert = /etc/ca.pem\ntimeout = 60\n"
        "[install]\nindex-url = https://mirror.example/simple\n"
    )
    env = {"HOME": str(tmp_path / "home"), "XDG_CONFIG_DIRS": str(tmp_path / "none"),
           "PIP_CONFIG_FILE": str(conf)}  # fmt: skip
    config = read_pip_config(env)
    assert config.index_url == "https://mirror.example/simple"
    assert config.extra_index_urls == ("file:///a/simple", "file:///b/simple")
    assert (config.find_links, config.cert, config.timeout) == (
        ("/opt/wheels",),
        "/etc/ca.pem",
        60.0,
    )
    assert str(conf) in config.files
    overridden = read_pip_config({**env, "PIP_INDEX_URL": "file:///x", "PIP_NO_INDEX": "yes",
                                  "PIP_FIND_LINKS": "/one /two"})  # fmt: skip
    assert (overridden.index_url, overridden.no_index) == ("file:///x", True)
    assert overridden.find_links == ("/one", "/two")
    nothing = {"HOME": str(tmp_path / "home"), "PIP_CONFIG_FILE": os.devnull}
    assert read_pip_config(nothing).index_url == PYPI


def test_the_survey_reads_pips_configuration(index: Path, tmp_path: Path) -> None:
    """No index named: the one pip is configured with (here, a config file naming the test's
    file:// index as pip's index-url), as ``pip config list`` would show it."""
    conf = tmp_path / "pip.conf"
    conf.write_text(f"[global]\nindex-url = {(index / 'simple').as_uri()}\n")
    env = {"HOME": str(tmp_path / "home"), "XDG_CONFIG_DIRS": str(tmp_path / "none"),
           "PIP_CONFIG_FILE": str(conf)}  # fmt: skip
    code, out, err = run("demo", "--json", "-", environ=env)
    assert (code, err) == (0, "")
    document = json.loads(out)
    assert document["indexes"] == [f"{(index / 'simple').as_uri()}/"]
    assert document["packages"][0]["releases"][0]["kind"] == "binary"


@pytest.mark.parametrize("executor", ["--threads", "--workers=2"], ids=["threads", "processes"])
def test_interrupted_promptly_with_nothing_written(tmp_path: Path, executor: str) -> None:
    """Ctrl-C while a wheel is being fetched from a slow server: exit 130 in a moment (not when
    the server answers), no output file, one line on stderr."""
    import signal
    import subprocess
    import sys
    import time

    from tests.survey.server import Fault, serve

    root = tmp_path / "index"
    (root / "simple" / "slow").mkdir(parents=True)
    name = "slow-1.0-cp313-cp313-manylinux_2_17_x86_64.whl"
    (root / "simple" / "slow" / "index.html").write_text(
        f'<html><body><a href="../../files/{name}">{name}</a></body></html>'
    )
    (root / "files").mkdir()
    (root / "files" / name).write_bytes(b"PK" * 100)
    report = tmp_path / "out.json"
    with serve(root) as server:
        server.faults[f"/files/{name}"] = Fault(delay=3600)  # waiting for it would hang
        process = subprocess.Popen(
            [sys.executable, "-m", "manywheel", "survey", "--isolated", "-i",
             f"{server.url}/simple", "slow", "--audit", executor, "--no-cache", "--json",
             str(report)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env={"PATH": os.environ["PATH"]},
        )  # fmt: skip
        deadline = time.monotonic() + 30
        while not any(name in path for path in server.arrived):
            assert time.monotonic() < deadline, "the wheel was never asked for"
            time.sleep(0.05)
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=600)  # a guard against a hang, not a measure
    assert process.returncode == 130
    assert err.decode().strip().splitlines()[-1] == "manywheel: interrupted"
    assert not report.exists()
    assert [p.name for p in tmp_path.iterdir()] == ["index"]
