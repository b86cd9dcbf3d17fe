"""Run a piece of a test as an unprivileged user: what manywheel does for someone who is not
root, proved in a real non-root process."""

from __future__ import annotations

import os
import shutil
import tempfile
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["NOBODY", "as_nobody", "shared_directory"]

NOBODY = 65534


def as_nobody(action: Callable[[], object]) -> str:
    """Run ``action`` in a forked child that dropped root (as this user when not root);
    ``str()`` of what it returned, or ``"<exception type>: <message>"``.

    The child never returns into pytest, and it can only use modules already imported (the
    interpreter's own files may be out of nobody's reach)."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child
        os.close(read_end)
        try:
            if os.geteuid() == 0:
                os.setgroups([])
                os.setgid(NOBODY)
                os.setuid(NOBODY)
            outcome = str(action())
        except BaseException as e:  # pytest.skip and .fail raise BaseExceptions
            outcome = f"{type(e).__name__}: {e}"
            if not isinstance(e, Exception):
                outcome += "".join(traceback.format_exception(e))[-2000:]
        os.write(write_end, outcome.encode())
        os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        result = pipe.read().decode()
    os.waitpid(pid, 0)
    return result


@contextmanager
def shared_directory() -> Iterator[Path]:
    """A fresh directory anyone may use (pytest's ``tmp_path`` is under one only root may
    enter), removed afterwards."""
    path = Path(tempfile.mkdtemp(prefix="manywheel-nobody-"))
    try:
        path.chmod(0o777)
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)
