"""``manywheel`` entry point: build the parser, dispatch, map errors to exit codes."""

from __future__ import annotations

import argparse
import atexit
import contextlib
import gc
import importlib
import os
import select
import signal
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NoReturn, TextIO

from manywheel.cli.context import Context
from manywheel.cli.exit_codes import ExitCode, Terminated, describe_error, exit_code_for
from manywheel.lazy import when_logging_loads

__all__ = ["build_parser", "main", "run"]

#: Subcommand modules, in the order ``--help`` lists them. Each has ``register(subparsers)``,
#: which adds its parser and sets ``handler``; importing one must stay cheap (no library imports).
COMMAND_MODULES = (
    "manywheel.cli.show_command",
    "manywheel.cli.repair_command",
    "manywheel.cli.build_command",
    "manywheel.cli.elf_command",
    "manywheel.cli.patch_command",
    "manywheel.cli.lddtree_command",
    "manywheel.cli.policies_command",
    "manywheel.cli.verify_command",
    "manywheel.cli.check_command",
    "manywheel.cli.upload_command",
    "manywheel.cli.survey_command",
)


def _terminal_width() -> int:
    """The columns ``shutil.get_terminal_size`` gives argparse (``COLUMNS``, else the terminal's,
    else 80), without importing shutil (and bz2 and lzma with it) for every parser built."""
    try:
        columns = int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        columns = 0
    if columns <= 0:
        stdout = sys.__stdout__
        try:
            columns = os.get_terminal_size(stdout.fileno()).columns if stdout else 0
        except (AttributeError, ValueError, OSError):
            columns = 0
        columns = columns or 80
    return columns


class _HelpFormatter(argparse.HelpFormatter):
    """argparse's own, its width found as argparse finds it (see :func:`_terminal_width`)."""

    def __init__(
        self,
        prog: str,
        indent_increment: int = 2,
        max_help_position: int = 24,
        width: int | None = None,
        **kwargs: Any,
    ) -> None:
        width = _terminal_width() - 2 if width is None else width
        super().__init__(prog, indent_increment, max_help_position, width, **kwargs)


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser with :class:`_HelpFormatter` unless told otherwise."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", _HelpFormatter)
        super().__init__(*args, **kwargs)


def _global_options(default: object, color: object) -> argparse.ArgumentParser:
    """``-v`` and ``--color``, accepted before the subcommand (``default`` and ``color`` are
    their defaults) and after it (``argparse.SUPPRESS``: only a value given there is set)."""
    parent = _Parser(add_help=False)
    parent.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=default,
        help="more detail on stderr; -vv adds debug logs and tracebacks (default: neither)",
    )
    parent.add_argument(
        "--color",
        choices=("auto", "always", "never"),
        default=color,
        help="colour in text output (default: auto, on a terminal unless NO_COLOR is set)",
    )
    return parent


def _command_module(name: str) -> str | None:
    """The module of the subcommand called ``name`` (each is ``<name>_command``)."""
    module = f"manywheel.cli.{name}_command"
    return module if module in COMMAND_MODULES else None


def _requested(argv: Sequence[str]) -> str | None:
    """The subcommand ``argv`` names, found without parsing it: the first argument that is not
    an option of the main parser (``-v``, ``--color WHEN``, ``--color=WHEN``)."""
    arguments = iter(argv)
    for arg in arguments:
        if arg == "--color":
            next(arguments, None)
        elif not arg.startswith("-"):
            return arg if _command_module(arg) else None
    return None


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser, with every subcommand, or only ``command``'s: importing and building eleven
    subcommands' parsers is most of a small wheel's ``show`` otherwise. (``--help``, a missing
    or a misspelled command get the full parser, which lists them all.) Building it has no
    side effects."""
    from manywheel import __version__

    parser = _Parser(
        prog="manywheel",
        description="Audit and repair Linux binary wheels for manylinux and musllinux.",
        parents=[_global_options(0, "auto")],
    )
    parser.add_argument("-V", "--version", action="version", version=f"%(prog)s {__version__}")
    subparsers = parser.add_subparsers(
        dest="command", metavar="COMMAND", required=True, parser_class=_Parser
    )
    sub_parent = _global_options(argparse.SUPPRESS, argparse.SUPPRESS)
    only = _command_module(command) if command is not None else None
    for name in COMMAND_MODULES if only is None else (only,):
        importlib.import_module(name).register(subparsers, sub_parent)
    return parser


def _wants_color(choice: str, stream: TextIO, environ: Mapping[str, str]) -> bool:
    if choice != "auto":
        return choice == "always"
    if environ.get("NO_COLOR"):
        return False
    if environ.get("FORCE_COLOR"):
        return True
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty()) and environ.get("TERM") != "dumb"


def _configure_logging(verbosity: int, stream: TextIO) -> Callable[[], None]:
    """Send manywheel's log records to ``stream`` (``manywheel: `` before each), at the level
    ``-v`` asks for. Without ``-v``, only once :mod:`logging` is loaded (by a module that could
    show a warning): most runs never need it (``manywheel.lazy.lazy_logger``). Returns the
    undo of that wait."""
    if verbosity:
        _set_up_logging(verbosity, stream)
        return lambda: None
    return when_logging_loads(lambda: _set_up_logging(verbosity, stream))


def _set_up_logging(verbosity: int, stream: TextIO) -> None:
    import logging

    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("manywheel: %(message)s"))
    root = logging.getLogger("manywheel")
    root.handlers[:] = [handler]
    root.propagate = False
    levels = {0: logging.WARNING, 1: logging.INFO}
    root.setLevel(levels.get(verbosity, logging.DEBUG))


def main(
    argv: Sequence[str] | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
) -> int:
    """Run ``manywheel`` with ``argv`` (default: ``sys.argv[1:]``) and return the exit code."""
    environ = os.environ if environ is None else environ
    out = sys.stdout if stdout is None else stdout
    err = sys.stderr if stderr is None else stderr
    parser = build_parser(_requested(sys.argv[1:] if argv is None else argv))
    try:
        # argparse prints --help, --version and usage errors itself: to our streams.
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse: --help, --version, or a usage error (already printed)
        return int(exc.code or 0) if isinstance(exc.code, int | None) else ExitCode.USAGE
    ctx = Context(
        stdout=out,
        stderr=err,
        environ=environ,
        verbosity=args.verbose,
        color=_wants_color(args.color, out, environ),
    )
    stop_waiting = _configure_logging(ctx.verbosity, err)
    try:
        return int(args.handler(args, ctx))
    except BrokenPipeError as exc:
        if _output_closed(out):  # `manywheel ... | head`: the reader has all it wanted
            return int(ExitCode.CLOSED_OUTPUT)
        return _report(exc, ctx)
    except (Exception, KeyboardInterrupt) as exc:  # the one place errors become exit codes
        return _report(exc, ctx)
    finally:
        stop_waiting()


def _output_closed(stream: TextIO) -> bool:
    """Whether ``stream`` is a pipe (or socket) whose reading end is gone: the kernel then
    reports an error condition on the writing end (``POLLERR``)."""
    try:
        fd = stream.fileno()
    except (AttributeError, OSError, ValueError):
        return False
    poller = select.poll()
    poller.register(fd, 0)
    return any(events & (select.POLLERR | select.POLLHUP) for _, events in poller.poll(0))


def _report(exc: BaseException, ctx: Context) -> int:
    try:
        if ctx.verbosity >= 2:
            import traceback

            traceback.print_exception(exc, file=ctx.stderr)
        print(f"manywheel: {describe_error(exc)}", file=ctx.stderr)
    except OSError:  # stderr is gone too (`2>&1 | head`): the exit code still says it
        pass
    return int(exit_code_for(exc))


def _terminate(signum: int, frame: object) -> None:
    """SIGTERM (what CI systems send on a timeout) unwinds like Ctrl-C: every ``finally``
    and ``except BaseException`` clean-up runs, temporary files and half-written wheels go."""
    raise Terminated(signum)


def _flush_quietly() -> int | None:
    """Flush stdout at exit; when its reader is gone, point it at /dev/null (so the
    interpreter's own last flush cannot complain) and say so with the exit code."""
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
        return int(ExitCode.CLOSED_OUTPUT)
    except (OSError, ValueError):  # closed or detached: nothing more to say
        pass
    return None


def run() -> None:
    """Console-script entry point (and ``python -m manywheel``).

    The process is short-lived and almost everything it allocates is freed by reference
    counting, so the cyclic garbage collector is switched off here: its passes over the
    hundreds of thousands of objects an audit of a big wheel creates cost 7% of ``show`` on
    torch. (Only here, in the process's own entry point: :func:`main` leaves the collector
    and the signal handlers alone for callers that embed it.)"""
    gc.disable()
    signal.signal(signal.SIGTERM, _terminate)
    code = main()
    closed = _flush_quietly()
    _exit(code if closed is None or code else closed)


def _exit(code: int) -> NoReturn:
    """End the process with ``code``, without the interpreter's teardown of every module and
    object when nothing is left to wait for: the exit functions run (logging's flush,
    ``multiprocessing``'s and ``concurrent.futures``' joins, ``weakref.finalize`` clean-ups),
    the streams are flushed, and the process ends — the teardown of the modules a build
    imports takes 15 to 20 ms and nothing of it can be seen. With a thread that Python would
    wait for (a library's non-daemon thread), the exit is the interpreter's own."""
    threading = sys.modules.get("threading")
    main_thread = threading.main_thread() if threading is not None else None
    if threading is not None and any(
        t is not main_thread and t.is_alive() and not t.daemon for t in threading.enumerate()
    ):
        sys.exit(code)
    atexit._run_exitfuncs()
    with contextlib.suppress(OSError, ValueError):  # the reader is gone: said already
        sys.stdout.flush()
    with contextlib.suppress(OSError, ValueError):
        sys.stderr.flush()
    os._exit(code)
