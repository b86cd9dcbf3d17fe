"""Proving a FIFO is never opened, without a clock: a hostile root or argument may be a FIFO,
and opening one for reading waits for a writer forever."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["fifo_never_opened"]


@contextmanager
def fifo_never_opened(path: Path) -> Iterator[None]:
    """A FIFO at ``path`` (made if absent) that the ``with`` body must not open. A writer
    thread waits for a reader: if the body opens the FIFO (blocking or not), the writer is
    released while the body runs and says so, and a blocking open by the body is answered
    instead of hanging. Afterwards the test releases the writer itself and asserts."""
    if not path.exists():
        os.mkfifo(path)
    state = {"running": True, "opened_while_running": False}

    def writer() -> None:
        fd = os.open(path, os.O_WRONLY)  # waits until someone opens the FIFO for reading
        state["opened_while_running"] = state["running"]
        os.close(fd)

    thread = threading.Thread(target=writer, daemon=True)
    thread.start()
    try:
        yield
    finally:
        state["running"] = False
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)  # release the writer
        thread.join()
        os.close(fd)
    assert not state["opened_while_running"], f"{path} was opened"
