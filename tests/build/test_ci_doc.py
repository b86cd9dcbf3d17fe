"""docs/ci.md stays true: its workflow is YAML, every ``manywheel`` command in it is one the
command line accepts, and its cibuildwheel configuration is read with cibuildwheel's
meanings (what cibuildwheel itself makes of it, option by option)."""

from __future__ import annotations

import contextlib
import io
import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml

from manywheel.build import load_config
from manywheel.cli.main import build_parser

DOC = Path(__file__).resolve().parents[2] / "docs" / "ci.md"


def _blocks(language: str) -> list[str]:
    text = DOC.read_text(encoding="utf-8")
    return re.findall(rf"^```{language}\n(.*?)^```$", text, re.M | re.S)


def _runs(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["run"]] if isinstance(node.get("run"), str) else []
        return found + [r for value in node.values() for r in _runs(value)]
    if isinstance(node, list):
        return [r for item in node for r in _runs(item)]
    return []


def _manywheel_commands() -> list[list[str]]:
    commands = []
    for block in _blocks("yaml"):
        for run in _runs(yaml.safe_load(block)):
            for line in run.splitlines():
                words = shlex.split(line.split(">", 1)[0])
                if "manywheel" in words[:-1]:  # the command, not `pipx install manywheel`
                    commands.append(words[words.index("manywheel") + 1 :])
    return commands


def test_the_workflow_is_yaml_with_a_build_and_an_upload() -> None:
    workflow = yaml.safe_load(_blocks("yaml")[0])
    assert set(workflow["jobs"]) == {"build", "upload"}
    assert workflow["jobs"]["upload"]["needs"] == "build"


def test_every_manywheel_command_is_accepted() -> None:
    commands = _manywheel_commands()
    assert {c[0] for c in commands} == {"build", "upload"}
    parser = build_parser()
    for argv in commands:
        with contextlib.redirect_stderr(io.StringIO()) as err:
            try:
                parser.parse_args(argv)
            except SystemExit:
                pytest.fail(f"manywheel {shlex.join(argv)}: {err.getvalue()}")


@pytest.mark.parametrize(
    "identifier",
    ["cp39-manylinux_x86_64", "cp313-manylinux_aarch64", "cp313-musllinux_x86_64",
     "cp314-manylinux_x86_64"],
)  # fmt: skip
def test_the_cibuildwheel_configuration_is_read_as_cibuildwheel_reads_it(
    identifier: str, tmp_path: Path
) -> None:
    from tests.build.test_config_cibuildwheel import BASE, _compare, _theirs

    toml = next(b for b in _blocks("toml") if "[tool.cibuildwheel]" in b)
    (tmp_path / "pyproject.toml").write_text(toml, encoding="utf-8")
    ours, theirs = load_config(tmp_path, environ=BASE), _theirs(tmp_path, BASE)
    assert ours.globals.selects(identifier) == theirs.globals.build_selector(identifier)
    _compare(ours.options_for(identifier), theirs.build_options(identifier), identifier, BASE)
    assert ours.options_for(identifier).test_command == "pytest {project}/tests"
