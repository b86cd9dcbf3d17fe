"""``manywheel show WHEEL...``: what each wheel is, the best tag it can claim as it is and after
repair, and every reason each better tag is refused.

auditwheel's flags and exit codes: 1 for a pure wheel unless ``--allow-pure-python-wheel``, 3
for a file that cannot be read (auditwheel: 2; README, "Exit codes compared with
auditwheel's"), 0 otherwise; with several wheels, the worst. The text is
:mod:`manywheel.cli.show_text`. ``--json`` prints
auditwheel's ``show --json`` document (schema 1) byte for byte, and for several wheels a JSON
list of them; ``--json-details`` prints manywheel's own document (docs/show-json.md).

Several wheels are audited in processes of their own on every usable core, forked once the
policies are loaded (:mod:`manywheel.cli.wheel_pool`); their reports are printed in the order
given.
"""

from __future__ import annotations

import argparse
import io
import json
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from manywheel.cli.audit_arguments import add_audit_arguments, audit_options, policies_from
from manywheel.cli.context import Context, Subparsers
from manywheel.cli.demangle import Demangler
from manywheel.cli.exit_codes import ExitCode, describe_error, is_environmental
from manywheel.cli.wheel_pool import map_in_processes, usable_cores
from manywheel.errors import InputError, InvalidPolicyError
from manywheel.values import value_class

if TYPE_CHECKING:
    from manywheel.audit import AuditOptions, AuditReport
    from manywheel.linker import HostFacts
    from manywheel.policy import PolicySet

__all__ = ["register"]

#: Wheels at least this big get a progress line on a terminal.
_PROGRESS_BYTES = 16 * 2**20
#: auditwheel's indentation of its ``show --json`` document (6.8's ``json.dumps(indent=4)``).
_AUDITWHEEL_INDENT = 4


@value_class
class _Shared:
    """What every wheel's audit in one process uses: the policies (loaded once) and the
    system's parsed libraries."""

    policies: Callable[[], PolicySet]
    facts: HostFacts


@value_class
class _Shown:
    """One wheel's outcome, made where it was audited (maybe another process), printed here."""

    code: int
    #: The text report (stdout) and the diagnostics (stderr).
    text: str
    errors: str
    #: auditwheel's document (``--json``) and the ``--json-details`` entry, when asked for.
    auditwheel: dict[str, object] | None
    details: dict[str, object]


def register(subparsers: Subparsers, parent: argparse.ArgumentParser) -> None:
    parser = subparsers.add_parser(
        "show",
        parents=[parent],
        help="audit wheels: the tag each can claim as it is and after repair, and why not better",
        description="Audit each wheel for external shared library dependencies: every ELF "
        "member, how each library it needs resolves, the best tag the wheel can claim as it "
        "is and after repair, and every reason a better tag is refused.",
    )
    parser.add_argument("wheels", nargs="+", metavar="WHEEL", help="wheel files to audit")
    output = parser.add_mutually_exclusive_group()
    output.add_argument(
        "--json",
        action="store_true",
        help="print auditwheel's `show --json` document (schema version 1) as auditwheel does; "
        "for several wheels, a JSON list of them",
    )
    output.add_argument(
        "--json-details",
        action="store_true",
        help="print manywheel's full report as JSON (manywheel-show, schema version 1)",
    )
    add_audit_arguments(parser)
    parser.set_defaults(handler=_handle)


def _handle(args: argparse.Namespace, ctx: Context) -> int:
    options = audit_options(args, ctx.environ)
    demangle = Demangler(path=ctx.environ.get("PATH"))
    if args.json:  # auditwheel's document says nothing of these: no work for them
        options = replace(options, python_abi=False, verify_record=False)
    loaded: list[PolicySet] = []

    def policies() -> PolicySet:
        """Loaded once: while the first wheel streams, or before the workers fork."""
        if not loaded:
            loaded.append(policies_from(args))
        return loaded[0]

    several = len(args.wheels) > 1
    workers = usable_cores() if several else 1
    if workers > 1:
        policies()
    from manywheel.linker import HostFacts

    # each forked worker keeps its own copy, for the wheels it audits
    shared = _Shared(policies, HostFacts())

    def show(path: str) -> _Shown:
        return _show_one(path, args, ctx, options, shared, progress=not several, demangle=demangle)

    shown = []
    for index, one in enumerate(map_in_processes(show, args.wheels, workers=workers)):
        if index and not (args.json or args.json_details):
            print(file=ctx.stdout)  # a blank line between wheels
        ctx.stdout.write(one.text)
        ctx.stderr.write(one.errors)
        shown.append(one)
    if args.json:
        documents = [one.auditwheel for one in shown]
        output = documents if several else documents[0]
        ctx.stdout.write(json.dumps(output, indent=_AUDITWHEEL_INDENT) + "\n")
    if args.json_details:
        from manywheel.report import details_document

        json.dump(details_document([one.details for one in shown]), ctx.stdout, indent=2)
        ctx.stdout.write("\n")
    return max(one.code for one in shown)


def _show_one(
    path: str,
    args: argparse.Namespace,
    ctx: Context,
    options: AuditOptions,
    shared: _Shared,
    *,
    progress: bool,
    demangle: Demangler,
) -> _Shown:
    """Audit one wheel and render what was asked for into a :class:`_Shown` (the progress line
    alone, with ``progress``, goes to ``ctx.stderr`` as it happens)."""
    out = Context(io.StringIO(), io.StringIO(), ctx.environ, ctx.verbosity, ctx.color)
    assert isinstance(out.stdout, io.StringIO) and isinstance(out.stderr, io.StringIO)
    code, document, details = _audit_and_render(
        path, args, out, ctx, options, shared, progress, demangle
    )
    return _Shown(code, out.stdout.getvalue(), out.stderr.getvalue(), document, details)


def _audit_and_render(  # noqa: PLR0917 - the parts of one command's run
    path: str,
    args: argparse.Namespace,
    ctx: Context,
    terminal: Context,
    options: AuditOptions,
    shared: _Shared,
    progress: bool,
    demangle: Demangler,
) -> tuple[int, dict[str, object] | None, dict[str, object]]:
    from manywheel.audit import audit_wheel, pure_message
    from manywheel.report import auditwheel_error, auditwheel_json, auditwheel_pure

    name = Path(path).name
    shown = _progress(path, name, terminal) if progress else None
    try:
        report = audit_wheel(
            path, policies=shared.policies, options=options, progress=shown, facts=shared.facts
        )
    except InvalidPolicyError:
        raise  # not about this wheel: main reports it once
    except (InputError, OSError) as e:
        if not (isinstance(e, InputError) or is_environmental(e)):
            raise
        message = describe_error(e).removeprefix("error: ")
        print(f"manywheel: error: {message}", file=ctx.stderr)
        document = auditwheel_error(name, message) if args.json else None
        return ExitCode.INPUT, document, {"wheel": name, "path": path, "error": message}
    if report.verdict is None:
        message = pure_message(report.arch, (i.member for i in report.ignored))
        ok = args.allow_pure_python_wheel and "any" in report.filename.platform_tags
        document = None
        if args.json:
            document = auditwheel_pure(name) if ok else auditwheel_error(name, message)
        elif not args.json_details:
            from manywheel.cli.show_text import render_pure

            render_pure(report, name, message, ok, ctx)
        code = ExitCode.OK if ok else ExitCode.FINDINGS
        return code, document, _details(report, name, args, demangle)
    document = None
    if args.json:
        document = auditwheel_json(report, name)
    elif not args.json_details:
        from manywheel.cli.show_text import render  # (the text's module: not for JSON)

        render(report, name, ctx, options=options, demangle=demangle)
    return ExitCode.OK, document, _details(report, name, args, demangle)


def _details(
    report: AuditReport, name: str, args: argparse.Namespace, demangle: Demangler
) -> dict[str, object]:
    """The wheel's ``--json-details`` entry, with the demangled form of every C++ symbol it
    names; only built (and its renderer loaded) when asked for."""
    if not args.json_details:
        return {}
    from manywheel.report import details_json, symbols_of

    return details_json(report, name, demangled=demangle.demangle(symbols_of(report)))


def _progress(path: str, name: str, ctx: Context) -> Callable[[int, int], None] | None:
    isatty = getattr(ctx.stderr, "isatty", None)
    if not (isatty and isatty()) or Path(path).stat().st_size < _PROGRESS_BYTES:
        return None

    def report(done: int, total: int) -> None:
        percent = 100 * done // max(total, 1)
        end = "\n" if done >= total else ""
        ctx.stderr.write(f"\r{name}: reading {percent:3d}%{end}")
        ctx.stderr.flush()

    return report
