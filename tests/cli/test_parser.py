"""The command line builds only the requested subcommand's parser (start-up), and nothing a
user sees changes: ``--help`` and an unknown command still list every subcommand."""

from __future__ import annotations

import io
import sys

import pytest

from manywheel.cli import main
from manywheel.cli.main import COMMAND_MODULES, build_parser


def _commands(command: str | None) -> list[str]:
    parser = build_parser(command)
    (subparsers,) = [a for a in parser._actions if a.dest == "command"]
    return list(subparsers.choices)  # type: ignore[arg-type]


def test_one_command_one_parser() -> None:
    assert _commands("show") == ["show"]
    assert _commands(None) == [
        m.rsplit(".", 1)[1].removesuffix("_command") for m in COMMAND_MODULES
    ]
    assert _commands("nonsense") == _commands(None)


@pytest.mark.parametrize(
    "argv",
    [["show", "--help"], ["-v", "show", "--help"], ["--color", "never", "show", "--help"],
     ["--color=never", "-vv", "show", "--help"]],
    ids=["plain", "verbose", "color-value", "color-equals"],
)  # fmt: skip
def test_the_command_is_found_behind_the_main_options(argv: list[str]) -> None:
    out = io.StringIO()
    assert main(argv, stdout=out, stderr=io.StringIO()) == 0
    assert out.getvalue().startswith("usage: manywheel show")


def test_help_and_a_misspelling_list_every_command() -> None:
    out, err = io.StringIO(), io.StringIO()
    assert main(["--help"], stdout=out, stderr=err) == 0
    assert all(f"    {name}" in out.getvalue() for name in _commands(None))
    assert main(["shwo", "x.whl"], stdout=io.StringIO(), stderr=err) == 2
    assert "invalid choice: 'shwo'" in err.getvalue() and "'survey'" in err.getvalue()


def test_only_the_requested_command_module_is_imported() -> None:
    import subprocess

    probe = (
        "import io, sys; from manywheel.cli import main; "
        "main(['show', '--help'], stdout=io.StringIO()); "
        "print(' '.join(m for m in sys.modules if m.endswith('_command')))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout.split()
    assert loaded == ["manywheel.cli.show_command"]
