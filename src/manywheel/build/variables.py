"""The configured ``environment`` (and ``environment-pass``) evaluated inside a session, as
cibuildwheel evaluates it inside its container: on top of the session's own environment (so
``PATH="$HOME/bin:$PATH"`` extends the session's ``PATH``), with ``$(...)`` run in the session.

The session's environment is read by running ``env -0`` there into a file of the build's
scratch directory; command substitutions write their output the same way. Nothing runs when
nothing is configured."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import BinaryIO

from manywheel.build.assignments import CommandRunner, EvaluationError, ParsedEnvironment
from manywheel.build.environment import Session

__all__ = ["session_variables"]

#: Read from the host as cibuildwheel always passes it (reproducible builds).
ALWAYS_PASSED = ("SOURCE_DATE_EPOCH",)


def _capture(
    session: Session,
    argv: Sequence[str],
    out: Path,
    *,
    env: Mapping[str, str],
    log: BinaryIO,
    timeout: float | None,
) -> tuple[int, str]:
    """Run ``argv`` in the session with its standard output written to ``out`` (a file of the
    workspace); the exit status and the output."""
    inside = session.inside(out)
    script = f'exec "$@" > {inside}'
    code = session.run(
        ["sh", "-c", script, "sh", *argv],
        cwd=session.inside(out.parent),
        env=env,
        log=log,
        timeout=timeout,
    )
    try:
        text = out.read_bytes().decode(errors="replace")
    except OSError:
        text = ""
    out.unlink(missing_ok=True)
    return code, text


def _runner(session: Session, scratch: Path, log: BinaryIO, timeout: float | None) -> CommandRunner:
    def run(argv: Sequence[str], environment: Mapping[str, str]) -> str:
        code, output = _capture(
            session, argv, scratch / "substitution.out", env=environment, log=log, timeout=timeout
        )
        if code != 0:
            raise EvaluationError(f"$({' '.join(argv)}) exited with {code} (see the log)")
        return output

    return run


def session_variables(
    session: Session,
    environment: ParsedEnvironment,
    *,
    passed: Sequence[str],
    host: Mapping[str, str],
    scratch: Path,
    log: BinaryIO,
    timeout: float | None = None,
) -> dict[str, str]:
    """What the build's commands get on top of the session's environment: the host's values of
    ``passed`` (``environment-pass``, and ``SOURCE_DATE_EPOCH``) and then ``environment``'s
    assignments in order, evaluated against the session's environment. Only the variables
    that differ from the session's are returned. Raises :class:`EvaluationError` when a
    command substitution fails."""
    names = [*passed, *ALWAYS_PASSED]
    configured = environment.with_passed(names, host)
    if not configured.assignments:
        return {}
    if not environment.assignments:  # only passed values: nothing to evaluate inside
        return {a.name: a.evaluate({}) for a in configured.assignments}
    scratch.mkdir(parents=True, exist_ok=True)
    code, text = _capture(
        session, ["env", "-0"], scratch / "environment.out", env={}, log=log, timeout=timeout
    )
    if code != 0:
        raise EvaluationError(f"the session's environment could not be read (env exited {code})")
    base = dict(entry.split("=", 1) for entry in text.split("\0") if "=" in entry)
    evaluated = configured.evaluate(base, _runner(session, scratch, log, timeout))
    return {k: v for k, v in evaluated.items() if base.get(k) != v}
