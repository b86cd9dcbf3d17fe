"""The documentation: the library guide's examples run (in order, in one namespace, from the
top directory, on the repository's real NDK-built wheel), and the site builds in mkdocs' strict
mode with the API reference generated from the docstrings."""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.harness.availability import skip_or_fail

ROOT = Path(__file__).resolve().parents[1]
GUIDES = ("library.md",)
_BLOCK = re.compile(r"^```python\n(?P<code>.*?)^```$", re.M | re.S)


def _blocks(page: str) -> list[str]:
    return [m["code"] for m in _BLOCK.finditer((ROOT / "docs" / page).read_text("utf-8"))]


@pytest.mark.parametrize("page", GUIDES)
def test_examples_run(page: str, monkeypatch: pytest.MonkeyPatch) -> None:
    blocks = _blocks(page)
    assert len(blocks) >= 5
    monkeypatch.chdir(ROOT)
    namespace: dict[str, object] = {"__name__": f"docs.{page}"}
    for index, code in enumerate(blocks):
        compiled = compile(code, f"docs/{page} (block {index + 1})", "exec")
        exec(compiled, namespace)


def test_every_public_task_has_an_example() -> None:
    text = "\n".join(_blocks("library.md"))
    calls: tuple[str, ...] = ("audit_wheel(", "repair_wheel(", "read_elf(", "parse_elf(")
    calls += ("Resolver(",)
    calls += ("load_policies(", "verify_wheel(", "WheelArchive.open(", "rewrite_wheel(")
    for call in calls:
        assert f"manywheel.{call}" in text, call


@pytest.mark.slow
def test_site_builds_strictly(tmp_path: Path) -> None:
    if importlib.util.find_spec("mkdocs") is None:
        skip_or_fail("mkdocs is not installed (the docs dependency group)")
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, env=env, check=False, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    reference = (tmp_path / "api" / "index.html").read_text(encoding="utf-8")
    assert "Audit the wheel at" in reference  # audit_wheel's docstring
    assert "Bionic" in (tmp_path / "android" / "index.html").read_text(encoding="utf-8")
    assert "## Unreleased" not in reference
    changelog = (tmp_path / "changelog" / "index.html").read_text(encoding="utf-8")
    assert "Unreleased" in changelog
