"""``manywheel show WHEEL...``: what each wheel is, the best tag it can claim as it is and after
repair, and every reason each better tag is refused.

auditwheel's flags and exit codes: 1 for a pure wheel unless ``--allow-pure-python-wheel``, 2
(usage) for a missing file, 0 otherwise; with several wheels, the worst. ``--json`` prints
auditwheel's ``show --json`` document (schema 1), one line per wheel; ``--json-details`` prints
manywheel's own document (docs/show-json.md).
"""

from __future__ import annotations

import argparse
import json
import re
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from manywheel.cli.audit_arguments import add_audit_arguments, audit_options, policies_from
from manywheel.cli.context import Context, Subparsers
from manywheel.cli.exit_codes import ExitCode, describe_error, is_environmental
from manywheel.errors import InputError, InvalidPolicyError

if TYPE_CHECKING:
    from manywheel.audit import AuditOptions, AuditReport, ElfMember, Refusal
    from manywheel.policy import PolicySet, PolicyVerdict, Reason

__all__ = ["register"]

#: Wheels at least this big get a progress line on a terminal.
_PROGRESS_BYTES = 16 * 2**20
#: Culprits listed per kind of reason before "... and N more".
_LIST_LIMIT = 6


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
        help="print auditwheel's `show --json` document (schema version 1), one line per wheel",
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
    loaded: list[PolicySet] = []

    def policies() -> PolicySet:
        """Loaded once, while the first wheel streams."""
        if not loaded:
            loaded.append(policies_from(args))
        return loaded[0]

    codes, entries = [], []
    for index, path in enumerate(args.wheels):
        if index and not (args.json or args.json_details):
            _out(ctx)  # a blank line between wheels
        code, entry = _show_one(path, args, ctx, options, policies)
        codes.append(code)
        entries.append(entry)
    if args.json_details:
        from manywheel.report import details_document

        json.dump(details_document(entries), ctx.stdout, indent=2)
        ctx.stdout.write("\n")
    return max(codes)


def _show_one(
    path: str,
    args: argparse.Namespace,
    ctx: Context,
    options: AuditOptions,
    policies: Callable[[], PolicySet],
) -> tuple[int, dict[str, object]]:
    from manywheel.audit import audit_wheel, pure_message
    from manywheel.report import auditwheel_error, auditwheel_json, auditwheel_pure

    name = Path(path).name
    try:
        report = audit_wheel(
            path, policies=policies, options=options, progress=_progress(path, name, ctx)
        )
    except InvalidPolicyError:
        raise  # not about this wheel: main reports it once
    except (InputError, OSError) as e:
        if not (isinstance(e, InputError) or is_environmental(e)):
            raise
        message = describe_error(e).removeprefix("error: ")
        print(f"manywheel: error: {message}", file=ctx.stderr)
        if args.json:
            _line(auditwheel_error(name, message), ctx)
        return ExitCode.INPUT, {"wheel": name, "path": path, "error": message}
    if report.verdict is None:
        message = pure_message(report.arch, (i.member for i in report.ignored))
        ok = args.allow_pure_python_wheel and "any" in report.filename.platform_tags
        if args.json:
            _line(auditwheel_pure(name) if ok else auditwheel_error(name, message), ctx)
        elif not args.json_details:
            _render_pure(report, name, message, ok, ctx)
        return (ExitCode.OK if ok else ExitCode.FINDINGS), _details(report, name, args)
    if args.json:
        _line(auditwheel_json(report, name), ctx)
    elif not args.json_details:
        _render(report, name, ctx)
    return ExitCode.OK, _details(report, name, args)


def _details(report: AuditReport, name: str, args: argparse.Namespace) -> dict[str, object]:
    """The wheel's ``--json-details`` entry; only built when asked for."""
    from manywheel.report import details_json

    return details_json(report, name) if args.json_details else {}


def _line(document: dict[str, object], ctx: Context) -> None:
    ctx.stdout.write(json.dumps(document) + "\n")


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


# --- text --------------------------------------------------------------------------------------


def _out(ctx: Context, text: str = "") -> None:
    print(text, file=ctx.stdout)


def _render_pure(report: AuditReport, name: str, message: str, ok: bool, ctx: Context) -> None:
    from manywheel.report import pure_facts

    facts = pure_facts(report)
    tags = ".".join(report.filename.python_tags)
    universal = "universal, " if facts["universal"] else ""
    _out(ctx, f"{ctx.paint(name, '1')}: pure Python wheel ({universal}Python tags {tags})")
    for ignored in report.ignored:
        _out(ctx, f"  ignored {ignored.member}: {ignored.reason}")
    if not ok:
        print(f"manywheel show: {message}", file=ctx.stderr)
    _render_findings(report, ctx)


def _tag_text(verdict: PolicyVerdict, ctx: Context, good: bool) -> str:
    aliases = f" (+ {', '.join(verdict.alias_tags)})" if verdict.alias_tags else ""
    return ctx.paint(verdict.tag, "1;32" if good else "1;33") + aliases


def _render(report: AuditReport, name: str, ctx: Context) -> None:
    best, after = report.best, report.best_after_repair
    assert best is not None and after is not None
    generic = best.policy.is_generic
    _out(
        ctx,
        f"{ctx.paint(name, '1')}: as it is: {_tag_text(best, ctx, not generic)}; "
        f"after repair: {_tag_text(after, ctx, not after.policy.is_generic)}",
    )
    libc = "" if report.libc is None else f", {report.libc.value}"
    members = _plural(len(report.members), "ELF member", "ELF members")
    _out(ctx, f"  {report.arch}{libc}; {members}")
    for holdout in report.holdouts:
        _out(
            ctx,
            f"  {ctx.paint('held back by one file', '1;31')}: {holdout.member} alone keeps the "
            f"wheel at {holdout.with_it} after repair; without it: {holdout.without_it}",
        )
    _render_python_abi(report, ctx)
    _render_refusals(report, ctx)
    _render_grafts(report, ctx)
    _render_members(report, ctx)
    _render_findings(report, ctx)


def _render_python_abi(report: AuditReport, ctx: Context) -> None:
    """The Python tag's verdict, kept apart from the platform tag's."""
    verdict = report.python_abi
    if verdict is None:
        return
    tags = ".".join(dict.fromkeys(verdict.tags))
    needs = "" if verdict.needed is None else f"; symbols need the Stable ABI {_v(verdict.needed)}"
    state = ctx.paint("ok", "1;32") if verdict.ok else ctx.paint("broken", "1;31")
    _out(ctx, f"  Python tag {tags}: {state}{needs}")
    if verdict.honest_tags:
        _out(ctx, f"    it could honestly claim {', '.join(verdict.honest_tags)}")
    for problem in verdict.problems:
        _out(ctx, f"    {ctx.paint(problem.kind.value, '31')}: {problem.message}")
    for note in verdict.notes:
        _out(ctx, f"    note: {note.message}")


def _v(version: tuple[int, int]) -> str:
    return f"{version[0]}.{version[1]}"


def _render_refusals(report: AuditReport, ctx: Context) -> None:
    from manywheel.audit import refusals

    found = refusals(report)
    if not found:
        _out(ctx, "\n  No better tag exists for this wheel's libc and architecture.")
        return
    _out(ctx, "\n" + ctx.paint("Why not a better tag", "1"))
    for refusal in found:
        _out(ctx, f"  {_tag_range(refusal.tags)}{_repair_note(refusal)}:")
        for kind, reasons in refusal.kinds:
            versioned = all(r.version and r.library for r in reasons)
            lines = _by_version(reasons) if versioned else [_reason_text(r) for r in reasons]
            fix = " (a repair fixes this)" if kind.repairable else ""
            _out(ctx, f"    {ctx.paint(kind.value, '31')}{fix}:")
            for line in _abbreviated(lines):
                _out(ctx, f"      {line}")


def _tag_range(tags: tuple[str, ...]) -> str:
    if len(tags) == 1:
        return tags[0]
    return f"{tags[0]} … {tags[-1]} ({len(tags)} tags)"


def _repair_note(refusal: Refusal) -> str:
    return " — reachable by repair" if refusal.repairable else ""


def _reason_text(reason: Reason) -> str:
    if reason.file is None:
        return reason.message
    who = f"{reason.file} (grafted)" if reason.grafted else reason.file
    parts = [who]
    if reason.library:
        parts.append(f"needs {reason.library}")
    if reason.version:
        parts.append(reason.version)
    text = " ".join(parts)
    if reason.symbols:
        text += f" for {_few(reason.symbols)}"
    return text if reason.library or reason.version else reason.message


def _by_version(reasons: tuple[Reason, ...]) -> list[str]:
    """One line per (library, version), newest version first: the files needing it and the
    symbols that need it."""
    groups: dict[tuple[str, str], list[Reason]] = {}
    for reason in reasons:
        groups.setdefault((reason.library or "", reason.version or ""), []).append(reason)
    lines = []
    for (library, version), group in sorted(groups.items(), key=_newest_first):
        files = tuple(dict.fromkeys(f"{r.file} (grafted)" if r.grafted else str(r.file)
                                    for r in group))  # fmt: skip
        symbols = tuple(dict.fromkeys(s for r in group for s in r.symbols))
        needed = f" for {_few(symbols)}" if symbols else ""
        lines.append(f"{version} from {library}: {_few(files, 2)}{needed}")
    return lines


def _newest_first(item: tuple[tuple[str, str], list[Reason]]) -> tuple[str, tuple[int, ...]]:
    (_, version), _ = item
    numbers = tuple(-int(n) for n in re.findall(r"\d+", version))
    return (version.split("_")[0], numbers)


def _few(items: tuple[str, ...], limit: int = 3) -> str:
    shown = ", ".join(items[:limit])
    return shown + (f" (+{len(items) - limit} more)" if len(items) > limit else "")


def _abbreviated(lines: Iterable[str]) -> list[str]:
    unique = list(dict.fromkeys(lines))
    if len(unique) <= _LIST_LIMIT:
        return unique
    return [*unique[:_LIST_LIMIT], f"… and {len(unique) - _LIST_LIMIT} more"]


def _render_grafts(report: AuditReport, ctx: Context) -> None:
    from manywheel.audit import grafts_by_policy

    groups = grafts_by_policy(report)
    if not groups:
        return
    paths = {e.soname: e.realpath for e in report.external}
    _out(ctx, "\n" + ctx.paint("A repair would carry in", "1"))
    for group in groups:
        _out(ctx, f"  for {_tag_range(group.tags)}:")
        for soname in group.grafts:
            _out(ctx, f"    {soname} ← {paths.get(soname) or 'not found'}")


def _render_members(report: AuditReport, ctx: Context) -> None:
    verdicts = report.verdict.applicable if report.verdict else ()
    notable = {g for v in verdicts for g in v.grafts} | {
        r.library for v in verdicts for r in v.reasons if r.kind.value == "library-not-found"
    }
    _out(ctx, "\n" + ctx.paint("ELF members", "1"))
    hidden = absent = 0
    for member in report.members:
        _out(ctx, f"  {member.role.value:<10} {member.member}{_member_flags(member)}")
        for needed in member.needed:
            missing = needed.where.value == "not-found"
            if needed.soname not in notable and ctx.verbosity < 1:
                hidden += 1
                absent += missing
                continue
            where = needed.path or ""
            rule = f" [{needed.rule}]" if needed.rule and needed.rule != needed.where.value else ""
            bad = missing and needed.soname in notable
            label = ctx.paint(needed.where.value, "31" if bad else "2")
            _out(ctx, f"    └ {needed.soname} → {label} {where}{rule}".rstrip())
        if member.foreign_rpaths:
            entries = ", ".join(member.foreign_rpaths)
            _out(ctx, f"    ! RPATH/RUNPATH entries outside the wheel: {entries}")
        for failure in member.version_failures:
            _out(ctx, f"    ! {failure.message}")
    if hidden:
        _out(ctx, f"  ({_plural(hidden, 'more library', 'more libraries')} found in the wheel "
                  "or allowed by the policies; -v lists them)")  # fmt: skip
    if absent:
        _out(ctx, f"  ({_plural(absent, 'allowed library', 'allowed libraries')} not found on "
                  "this system, as expected for a wheel built for another architecture or libc; "
                  "not held against the wheel)")  # fmt: skip
    for ignored in report.ignored:
        _out(ctx, f"  ignored    {ignored.member}: {ignored.reason}")


def _plural(count: int, one: str, many: str) -> str:
    return f"{count} {one if count == 1 else many}"


def _member_flags(member: ElfMember) -> str:
    flags = []
    level = member.elf.x86_isa_level
    if level is not None and int(level) > 1:
        flags.append(f"x86-64-v{int(level)}")
    if member.elf.executable_stack:
        flags.append("executable stack")
    if member.libpython:
        flags.append(f"links {member.libpython}")
    if member.low_alignment:
        page = "16 KiB" if member.tree.flavor.value == "bionic" else "64 KiB"
        flags.append(f"LOAD alignment {member.elf.load_alignment:#x} < {page} pages")
    return f"  [{'; '.join(flags)}]" if flags else ""


def _render_findings(report: AuditReport, ctx: Context) -> None:
    if report.purelib_elves:
        _out(ctx, "\n" + ctx.paint("ELF files in purelib (a repair refuses them)", "1;31"))
        for member in report.purelib_elves:
            _out(ctx, f"  {member}")
    if not report.findings:
        return
    _out(ctx, "\n" + ctx.paint("Container findings (RECORD, tags, metadata)", "1;31"))
    for finding in report.findings:
        _out(ctx, f"  {finding.kind.label}: {finding}")
