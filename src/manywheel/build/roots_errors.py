"""What goes wrong with roots, interpreters and engines, as errors the CLI maps to exit codes."""

from __future__ import annotations

from manywheel.build.environment import EnvironmentUnavailableError
from manywheel.errors import ToolError

__all__ = ["RootCommandError", "UnavailableError"]

_TAIL_LINES = 30


class UnavailableError(EnvironmentUnavailableError):
    """This machine cannot make or run a root, an interpreter or an engine as asked (not root,
    a tool or a kernel feature missing); the message says what is missing and how to get it."""


class RootCommandError(ToolError):
    """A command that makes or changes a root (debootstrap, apt-get, a compiler) failed; ``tail``
    holds the last lines of its output."""

    def __init__(self, message: str, *, tail: str, path: str | None = None) -> None:
        super().__init__(message, path=path)
        self.tail = "\n".join(tail.splitlines()[-_TAIL_LINES:])
