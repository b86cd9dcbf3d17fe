"""Reading a ``repair-wheel-command``: which of its commands are ``manywheel repair`` or
``auditwheel repair`` (run in-process, with their flags) and which are other commands (run in
the build's environment).

cibuildwheel joins a TOML array of commands with `` && `` (an override's ``inherit`` appends
or prepends the same way), so a command is split at each ``&&`` outside quotes. A command with
any other shell operator (``|``, ``;``, ``||``, ``&``, redirections, subshells, command
substitution) is not split: it runs whole, as one command.
"""

from __future__ import annotations

import shlex
from pathlib import PurePosixPath

from manywheel.values import value_class

__all__ = ["RepairPart", "split_repair_command"]

#: How the repair tools are named at the start of a command.
_TOOLS = frozenset({"manywheel", "auditwheel"})
_OPERATORS = frozenset(";|&<>()`")


@value_class
class RepairPart:
    """One command of a ``repair-wheel-command``: its text, and for ``manywheel repair`` /
    ``auditwheel repair`` the arguments after ``repair`` (``None`` for another command)."""

    text: str
    repair_args: tuple[str, ...] | None = None


def _split_and(command: str) -> list[str] | None:
    """``command`` split at each ``&&`` outside quotes; ``None`` when another operator is
    there outside quotes (then the command is not split)."""
    parts, start, quote, index = [], 0, "", 0
    while index < len(command):
        char = command[index]
        if char == "\\" and quote != "'":
            index += 2
            continue
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif command.startswith("&&", index):
            parts.append(command[start:index])
            start = index = index + 2
            continue
        elif char in _OPERATORS or command.startswith("$(", index):
            return None
        index += 1
    parts.append(command[start:])
    return parts


def _repair_args(text: str) -> tuple[str, ...] | None:
    """The arguments after ``repair`` when ``text`` runs manywheel's or auditwheel's repair
    (``auditwheel repair``, ``/usr/bin/manywheel repair``, ``python -m auditwheel repair``)."""
    try:
        argv = shlex.split(text)
    except ValueError:
        return None
    if any("$" in word for word in argv):  # a variable the shell would expand
        return None
    if len(argv) >= 3 and PurePosixPath(argv[0]).name.startswith("python") and argv[1] == "-m":
        argv = argv[2:]
    if len(argv) >= 2 and PurePosixPath(argv[0]).name in _TOOLS and argv[1] == "repair":
        return tuple(argv[2:])
    return None


def split_repair_command(command: str) -> tuple[RepairPart, ...]:
    """The commands of ``command`` in order (nothing for an empty one: no repair)."""
    if not command.strip():
        return ()
    parts = _split_and(command)
    if parts is None or any(not part.strip() for part in parts):
        return (RepairPart(command.strip()),)
    return tuple(RepairPart(part.strip(), _repair_args(part)) for part in parts)
