"""Every option of every command explains itself in ``--help``: a line of help, and for an
option that takes a value, its default (or that it has none)."""

from __future__ import annotations

import argparse

import pytest

from manywheel.cli.main import COMMAND_MODULES, build_parser


def _commands() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    [sub] = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(sub.choices)


def _options(parser: argparse.ArgumentParser) -> list[argparse.Action]:
    skip = (argparse._HelpAction, argparse._VersionAction)
    return [a for a in parser._actions if a.option_strings and not isinstance(a, skip)]


@pytest.mark.parametrize("command", sorted(_commands()))
def test_every_option_says_what_it_does_and_its_default(command: str) -> None:
    silent, undefaulted = [], []
    for action in _options(_commands()[command]):
        if action.help == argparse.SUPPRESS:  # refused options (patchelf's), hidden on purpose
            continue
        if not action.help:
            silent.append(action.option_strings[0])
        elif action.nargs != 0 and "default" not in action.help:
            undefaulted.append(action.option_strings[0])
    assert (silent, undefaulted) == ([], []), command


def test_the_global_options_too() -> None:
    parser = build_parser()
    for action in _options(parser):
        assert action.help and (action.nargs == 0 or "default" in action.help)
    assert len(_commands()) == len(COMMAND_MODULES)
