"""What a command handler gets besides its arguments: streams, environment, verbosity, colour."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Mapping
from typing import TextIO, TypeAlias

from manywheel.values import value_class

__all__ = ["Context", "Handler", "Subparsers"]


@value_class
class Context:
    stdout: TextIO
    stderr: TextIO
    environ: Mapping[str, str]
    verbosity: int
    color: bool

    def paint(self, text: str, code: str) -> str:
        """Wrap ``text`` in the ANSI SGR ``code`` (e.g. ``"1;31"``) when colour is on."""
        return f"\x1b[{code}m{text}\x1b[0m" if self.color else text


Handler = Callable[[argparse.Namespace, Context], int]
Subparsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"
