"""Exit codes, in one place. Documented in the README; kept compatible with auditwheel where it
defines one (1 for "not a platform wheel", 2 for usage errors)."""

from __future__ import annotations

from enum import IntEnum

from manywheel.errors import InputError, ManywheelError, NotPlatformWheelError, ToolError

__all__ = ["ExitCode", "describe_error", "exit_code_for"]


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


def exit_code_for(error: BaseException) -> ExitCode:
    """The exit code for an exception that ended a command."""
    if isinstance(error, KeyboardInterrupt):
        return ExitCode.INTERRUPTED
    if isinstance(error, (InputError, FileNotFoundError, IsADirectoryError, PermissionError)):
        return ExitCode.INPUT
    if isinstance(error, ToolError):
        return ExitCode.TOOL
    if isinstance(error, NotPlatformWheelError):  # auditwheel exits 1 for a pure wheel
        return ExitCode.FINDINGS
    if isinstance(error, ManywheelError):
        return ExitCode.USAGE
    return ExitCode.INTERNAL


def describe_error(error: BaseException) -> str:
    """The one line on stderr for an exception that ended a command, after ``manywheel: ``
    (``repair --json`` reports the same text): ``error: <what>``, ``internal error: <type>:
    <what> (...)`` for a bug (exit 70), or ``interrupted`` (exit 130)."""
    code = exit_code_for(error)
    if code == ExitCode.INTERRUPTED:
        return "interrupted"
    if code == ExitCode.INTERNAL:
        return (
            f"internal error: {type(error).__name__}: {error} "
            "(run again with -vv for a traceback and please report it)"
        )
    if isinstance(error, OSError) and error.filename is not None:
        return f"error: {error.filename}: {error.strerror or error}"
    return f"error: {error}"
