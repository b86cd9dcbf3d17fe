"""How much work a call does, counted instead of timed: a test never asserts wall-clock time
(a busy machine makes any such bound flaky; speed is measured by ``benchmarks/``), but it can
assert that work is bounded or grows linearly, by counting the Python and C function calls a
call makes. The count is the same on a fast or a loaded machine.

A count does not see work done inside one C call (a long ``bytes.find``), so it bounds what the
code *decides* to do per input element: a per-symbol object design, an include followed again
and again, a recursion per level of a chain."""

from __future__ import annotations

import sys
from collections.abc import Callable
from types import FrameType
from typing import TypeVar

__all__ = ["counted"]

T = TypeVar("T")


def counted(call: Callable[[], T], *, c_calls: bool = True) -> tuple[T, int]:
    """``call()``'s result and the number of function calls it made on this thread: Python
    functions, and C functions too unless ``c_calls`` is false. Other threads' work is not
    counted: pass work that runs on this thread."""
    calls = 0
    events = ("call", "c_call") if c_calls else ("call",)

    def profile(frame: FrameType, event: str, arg: object) -> None:
        nonlocal calls
        if event in events:
            calls += 1

    previous = sys.getprofile()
    sys.setprofile(profile)
    try:
        result = call()
    finally:
        sys.setprofile(previous)
    return result, calls
