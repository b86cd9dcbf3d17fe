"""Exit codes, in one place. Documented in the README; kept compatible with auditwheel where it
defines one (1 for "not a platform wheel", 2 for usage errors)."""

from __future__ import annotations

import errno
from enum import IntEnum

from manywheel.errors import InputError, ManywheelError, NotPlatformWheelError, ToolError

__all__ = [
    "ISSUES_URL",
    "ExitCode",
    "Terminated",
    "describe_error",
    "exit_code_for",
    "is_environmental",
]

#: Where bugs are reported: the package metadata's ``Issues`` URL (a test keeps them equal).
ISSUES_URL = "https://github.com/manywheel/manywheel/issues"

#: ``OSError`` numbers that say something about the machine or the files the user named, not
#: about manywheel: a full or read-only file system, a quota, a symbolic-link loop, a name too
#: long, a device or FIFO where a file was expected, an I/O error. They are the user's to fix
#: (exit 3, one line), never an internal error.
_ENVIRONMENTAL = frozenset(
    {
        errno.ENOSPC,
        errno.EDQUOT,
        errno.EROFS,
        errno.ELOOP,
        errno.ENAMETOOLONG,
        errno.ENOTDIR,
        errno.EISDIR,
        errno.EACCES,
        errno.EPERM,
        errno.ENOENT,
        errno.EEXIST,
        errno.EIO,
        errno.ENXIO,
        errno.ENODEV,
        errno.EFBIG,
        errno.EMFILE,
        errno.ENFILE,
        errno.ENOMEM,
        errno.ETXTBSY,
        errno.EXDEV,
        errno.EBUSY,
        errno.ESPIPE,
        errno.ESTALE,
    }
)


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised in the main thread by the process entry point's handler: a
    ``KeyboardInterrupt``, so every clean-up that Ctrl-C runs runs for it too."""


class ExitCode(IntEnum):
    OK = 0
    #: The command ran and the answer is "no": findings in ``verify``, a pure wheel in ``show``.
    FINDINGS = 1
    #: Bad command line (argparse's own code), or a request that cannot be honoured as asked.
    USAGE = 2
    #: The input is unusable: corrupt or hostile wheel, invalid ELF, bad policy file, missing file.
    INPUT = 3
    #: An external tool (patchelf, strip) is missing, too old, or failed.
    TOOL = 4
    #: A bug in manywheel: an unexpected exception. Run again with -vv and report it.
    INTERNAL = 70
    #: Interrupted (Ctrl-C).
    INTERRUPTED = 130
    #: The reader of stdout went away (``manywheel show x | head``): quiet, as a shell reports
    #: any program a SIGPIPE ended (128 + 13).
    CLOSED_OUTPUT = 141
    #: Terminated by SIGTERM (128 + 15), after the same clean-up as an interrupt.
    TERMINATED = 143


def exit_code_for(error: BaseException) -> ExitCode:
    """The exit code for an exception that ended a command."""
    if isinstance(error, Terminated):
        return ExitCode.TERMINATED
    if isinstance(error, KeyboardInterrupt):
        return ExitCode.INTERRUPTED
    if isinstance(error, InputError) or is_environmental(error):
        return ExitCode.INPUT
    if isinstance(error, ToolError):
        return ExitCode.TOOL
    if isinstance(error, NotPlatformWheelError):  # auditwheel exits 1 for a pure wheel
        return ExitCode.FINDINGS
    if isinstance(error, ManywheelError):
        return ExitCode.USAGE
    return ExitCode.INTERNAL


def is_environmental(error: BaseException) -> bool:
    """An ``OSError`` about the machine or the named files (see ``_ENVIRONMENTAL``)."""
    return isinstance(error, OSError) and (
        error.errno in _ENVIRONMENTAL
        or isinstance(error, (FileNotFoundError, IsADirectoryError, PermissionError))
    )


def describe_error(error: BaseException) -> str:
    """The one line on stderr for an exception that ended a command, after ``manywheel: ``
    (``repair --json`` reports the same text): ``error: <what>``, ``internal error: <type>:
    <what> (...)`` for a bug (exit 70), ``interrupted`` (exit 130) or ``terminated`` (143)."""
    code = exit_code_for(error)
    if code == ExitCode.TERMINATED:
        return "terminated (SIGTERM)"
    if code == ExitCode.INTERRUPTED:
        return "interrupted"
    if code == ExitCode.INTERNAL:
        return (
            f"internal error: {type(error).__name__}: {error} (run again with -vv for a "
            f"traceback and please report it at {ISSUES_URL})"
        )
    if isinstance(error, OSError) and error.filename is not None:
        where = error.filename
        if error.filename2 is not None:
            where = f"{where} -> {error.filename2}"
        return f"error: {where}: {error.strerror or error}"
    if isinstance(error, OSError):
        return f"error: {error.strerror or error}"
    return f"error: {error}"
