"""Fixtures for the build tests: running ``manywheel build`` in-process, and the demo's matrix
(every CPython the zig environment can target on this machine) run once per session through
the whole pipeline: built, repaired, tested on clean Debian roots (the demo's own
``test-command``), checked, and uploaded to a pypiserver on the loopback interface."""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import zipfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from manywheel.cli.main import main
from tests.build.indexserver import IndexServer, pypiserver
from tests.harness.availability import Unavailable, skip_or_fail
from tests.harness.sdists import find_python

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"
PROJECTS = Path(__file__).resolve().parent / "projects"


@dataclass(frozen=True, slots=True)
class BuildCall:
    code: int
    stdout: str
    stderr: str

    @property
    def document(self) -> dict[str, Any]:
        loaded: dict[str, Any] = json.loads(self.stdout)
        return loaded

    def builds(self) -> dict[str, dict[str, Any]]:
        return {b["identifier"]: b for b in self.document["builds"]}


def assert_schema(call: BuildCall) -> None:
    """The document matches docs/build-json.md's schema (tests/build/data/build-schema.json)."""
    schema = json.loads((Path(__file__).parent / "data" / "build-schema.json").read_text())
    jsonschema.validate(call.document, schema)
    statuses = [b["status"] for b in call.document["builds"]]
    summary = call.document["summary"]
    assert [summary[s] for s in ("built", "failed", "unavailable")] == [
        statuses.count(s) for s in ("built", "failed", "unavailable")
    ]
    assert summary["exit_code"] == call.code


def run_build(
    args: Sequence[str], *, log_dir: Path, environ: Mapping[str, str] | None = None
) -> BuildCall:
    """``manywheel build ARGS --log-dir LOG_DIR`` in this process (``environ``: the process's
    environment without ``CIBW_*``/``MANYWHEEL_*``/``TWINE_*``, plus what it says)."""
    out, err = io.StringIO(), io.StringIO()
    prefixes = ("CIBW_", "MANYWHEEL_", "TWINE_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}
    env.update(environ or {})
    argv = ["build", *args, "--log-dir", str(log_dir)]
    code = main(argv, environ=env, stdout=out, stderr=err)
    return BuildCall(code, out.getvalue(), err.getvalue())


def tree_digest(root: Path) -> str:
    """Every path, mode and content under ``root``: equal digests mean an untouched tree."""
    h = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        h.update(str(path.relative_to(root)).encode() + b"\0")
        h.update(oct(path.lstat().st_mode).encode())
        if path.is_file() and not path.is_symlink():
            h.update(path.read_bytes())
    return h.hexdigest()


def host_cpythons(minimum: tuple[int, int] = (3, 8)) -> list[str]:
    """The CPython versions with headers this machine has (found by the harness's own probe,
    not manywheel's discovery): the ones the zig environment must build."""
    found = []
    for minor in range(minimum[1], 16):
        try:
            find_python(f"3.{minor}")
        except Unavailable:
            continue
        found.append(f"3.{minor}")
    return found


def upload_args(server: IndexServer) -> list[str]:
    """``build --upload`` to ``server`` with its credentials, never prompting."""
    return ["--upload", "--repository-url", server.url, "-u", server.username,
            "-p", server.password, "--non-interactive"]  # fmt: skip


@dataclass(frozen=True, slots=True)
class DemoMatrix:
    call: BuildCall
    wheelhouse: Path
    versions: tuple[str, ...]
    digest_before: str
    digest_after: str
    index: IndexServer


@pytest.fixture(scope="session")
def demo_index(tmp_path_factory: pytest.TempPathFactory) -> Iterator[IndexServer]:
    """A pypiserver on loopback the demo matrix uploads to (stopped after the session)."""
    with pypiserver(tmp_path_factory.mktemp("demo-index")) as server:
        yield server


@pytest.fixture(scope="session")
def demo_matrix(tmp_path_factory: pytest.TempPathFactory, demo_index: IndexServer) -> DemoMatrix:
    """examples/demo as its pyproject.toml configures it (before-all building libdemo with
    zig's compiler into the prefix, its test run from ``tests/``), for every host CPython >= 3.8,
    manylinux_x86_64 with zig, uploaded to ``demo_index``: one run (``--json``) shared by the
    tests that check it."""
    versions = host_cpythons()
    if not versions:
        skip_or_fail("no CPython >= 3.8 with headers on this machine (pyenv or python3.X)")
    base = tmp_path_factory.mktemp("demo-matrix")
    demo = EXAMPLES / "demo"
    before = tree_digest(demo)
    call = run_build(
        [
            str(demo),
            "-w",
            str(base / "wheelhouse"),
            "--env",
            "zig",
            "--build",
            "*-manylinux_x86_64",
            "--archs",
            "x86_64",
            *upload_args(demo_index),
            "--json",
        ],
        log_dir=base / "logs",
    )
    if call.code != 0 and "could not download ziglang" in call.stderr:
        skip_or_fail(f"zig cannot be fetched here: {call.stderr.strip()}")
    digest = tree_digest(demo)
    return DemoMatrix(call, base / "wheelhouse", tuple(versions), before, digest, demo_index)


def need_pythons(*versions: str) -> None:
    """Skip (fail in CI) unless the host has these CPythons with headers."""
    try:
        for version in versions:
            find_python(version)
    except Unavailable as e:
        skip_or_fail(str(e))


def cpython_tag(version: str) -> str:
    return "cp" + version.replace(".", "")


def environ_without_python() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "PIP_"))}


def import_unzipped(
    wheel: Path, site: Path, python: Path, code: str
) -> subprocess.CompletedProcess[str]:
    """Unzip ``wheel`` into the bare directory ``site`` and run ``code`` with the host's
    ``python`` in isolated mode from ``/``, with ``site`` first on ``sys.path``."""
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(site)
    return subprocess.run(
        [str(python), "-I", "-c", f"import sys; sys.path.insert(0, {str(site)!r}); {code}"],
        capture_output=True,
        text=True,
        cwd="/",
        env=environ_without_python(),
        check=False,
    )
