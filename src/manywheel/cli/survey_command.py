"""``manywheel survey``: who ships which wheels on an index, what is missing for a target, and
(``--audit``) whether the wheels' tags tell the truth.

Parse the command line and pip's configuration, call the survey library once, write the
outputs (text table, JSON, CSV, HTML), return the exit code: 0 every package surveyed and no
finding; 1 findings (a package without a wheel for ``--target``, a mislabelled wheel); 2 usage;
3 some packages could not be surveyed (not found, unreachable, a wheel that could not be
audited) — reported per package, the survey goes on.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO, cast

from manywheel.cli.context import Context, Subparsers
from manywheel.cli.exit_codes import ExitCode

if TYPE_CHECKING:
    from manywheel.cli.pip_config import PipIndexConfig
    from manywheel.survey import (
        Auditor,
        Executor,
        IndexClient,
        PackageRequest,
        PackageSurvey,
        Progress,
        TransportConfig,
        UrlTransport,
    )

__all__ = ["register"]

_SIZE = re.compile(r"^(\d+(?:\.\d+)?)\s*([kmgt]?)(i?b?)$", re.IGNORECASE)


def register(subparsers: Subparsers, parent: argparse.ArgumentParser) -> None:
    parser = subparsers.add_parser(
        "survey",
        parents=[parent],
        help="survey an index: which platforms and Pythons each package's wheels cover, what is "
        "missing for a target, and (--audit) whether the tags tell the truth",
        description="Survey packages on a package index (by default the one pip is configured "
        "with): per package and release, sdist only / pure / binary, and for binary releases "
        "the platforms (OS, architecture, libc and oldest glibc) and Pythons (CPython versions, "
        "free-threaded, abi3, PyPy, GraalPy) its wheels cover; what is missing for --target; "
        "with --audit, manywheel's audit of every Linux platform wheel, read by HTTP ranges. "
        "Exit codes: 0 all surveyed, 1 findings (no wheel for --target, mislabelled wheels), "
        "2 usage, 3 some packages could not be surveyed.",
    )
    what = parser.add_argument_group("packages")
    what.add_argument(
        "packages",
        nargs="*",
        metavar="PACKAGE",
        help="package names or requirements (numpy, 'scipy>=1.10')",
    )
    what.add_argument(
        "-r",
        "--from",
        dest="lists",
        action="append",
        type=Path,
        default=[],
        metavar="FILE",
        help="packages from a file: requirements (-r includes followed), a lock "
        "file (pylock.toml, uv.lock, poetry.lock, Pipfile.lock) or a download "
        "ranking (top-pypi-packages JSON); repeatable (default: none)",
    )
    what.add_argument("--all", action="store_true", help="every project the index lists")
    what.add_argument(
        "--top",
        type=_positive,
        metavar="N",
        help="only the first N packages (of a ranking: the most downloaded; default: all)",
    )
    what.add_argument(
        "--releases",
        default="1",
        metavar="N|all",
        help="releases per package, newest first (default 1: the latest)",
    )
    what.add_argument("--pre", action="store_true", help="count pre-releases as releases")
    index = parser.add_argument_group("index (default: pip's configuration)")
    index.add_argument(
        "-i",
        "--index-url",
        metavar="URL",
        help="the simple repository to read instead of pip's index-url (default: pip's)",
    )
    index.add_argument(
        "--extra-index-url",
        action="append",
        default=[],
        metavar="URL",
        help="another simple repository, as pip's; repeatable (default: pip's)",
    )
    index.add_argument(
        "-f",
        "--find-links",
        action="append",
        default=[],
        metavar="PATH|URL",
        help="a directory or page of distributions, as pip's; repeatable (default: pip's)",
    )
    index.add_argument(
        "--no-index", action="store_true", help="read no simple repository, only --find-links"
    )
    index.add_argument(
        "--isolated",
        action="store_true",
        help="ignore pip's configuration files and PIP_* variables",
    )
    index.add_argument(
        "--concurrency",
        type=_positive,
        default=8,
        metavar="N",
        help="requests in flight at once (default 8)",
    )
    index.add_argument(
        "--timeout", type=float, metavar="SECONDS", help="socket timeout (default: pip's, else 30)"
    )
    index.add_argument(
        "--retries",
        type=int,
        default=3,
        metavar="N",
        help="retries of a failed request, with backoff (default 3)",
    )
    checks = parser.add_argument_group("checks")
    checks.add_argument(
        "--target",
        metavar="PYTHON-PLATFORM",
        help="what is missing to install there from wheels, e.g. "
        "cp314t-manylinux_aarch64, cp313-manylinux_2_28_x86_64, cp312-win_amd64 (default: "
        "no target)",
    )
    checks.add_argument(
        "--audit",
        action="store_true",
        help="audit every Linux platform wheel with manywheel's audit (read by "
        "HTTP ranges when the server allows them)",
    )
    checks.add_argument(
        "--audit-max-size",
        type=_size,
        metavar="SIZE",
        help="skip wheels bigger than SIZE (e.g. 60M) in the audit (default: no limit)",
    )
    checks.add_argument(
        "--no-ranges",
        action="store_true",
        help="download each audited wheel whole instead of by ranges",
    )
    checks.add_argument(
        "--scheduler",
        metavar="ADDRESS|local",
        help="run the audits on Dask: a scheduler's address (tcp://host:8786) "
        "or 'local' for a local cluster (needs manywheel[survey]; default: this machine's "
        "worker processes)",
    )
    checks.add_argument(
        "--workers",
        type=_positive,
        metavar="N",
        help="audit worker processes (default: the usable cores)",
    )
    checks.add_argument(
        "--threads",
        action="store_true",
        help="audit in threads of this process instead of worker processes",
    )
    checks.add_argument(
        "--cache-dir",
        type=Path,
        metavar="DIR",
        help="where audit results are kept by sha256 (default: the user cache "
        "directory, ~/.cache/manywheel)",
    )
    checks.add_argument(
        "--no-cache", action="store_true", help="neither read nor keep cached audit results"
    )
    checks.add_argument(
        "--root",
        metavar="DIR",
        default="/",
        help="resolve libraries as if DIR were the system (default: /)",
    )
    checks.add_argument(
        "--ldpaths",
        metavar="PATHS",
        help="colon-separated directories to search instead of the system's (default: the "
        "system's)",
    )
    checks.add_argument(
        "--disable-isa-ext-check",
        action="store_true",
        help="do not check for extended ISA compatibility",
    )
    from manywheel.cli.audit_arguments import add_policy_file_argument

    add_policy_file_argument(parser)
    out = parser.add_argument_group("output (default: a table on stdout)")
    out.add_argument(
        "--json", metavar="FILE", help="the JSON document (schema 1); '-': stdout (default: none)"
    )
    out.add_argument(
        "--csv",
        metavar="FILE",
        help="one row per package and release; '-': stdout (default: none)",
    )
    out.add_argument(
        "--html",
        metavar="FILE",
        help="a static HTML report: grid, charts, mislabelled wheels (default: none)",
    )
    out.add_argument(
        "-q",
        "--quiet",
        action="store_true",
        help="no table and no progress (the files are still written)",
    )
    parser.set_defaults(handler=_handle)


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1: {text}")
    return value


def _size(text: str) -> int:
    match = _SIZE.match(text.strip())
    if match is None:
        raise argparse.ArgumentTypeError(f"not a size: {text!r} (e.g. 60M, 2G, 500000)")
    number, prefix, suffix = match.groups()
    base = 1024 if suffix.lower().startswith("i") else 1000
    power = " kmgt".index(prefix.lower() or " ")
    return int(float(number) * base**power)


class _UsageError(Exception):
    """A command line that cannot be honoured: one line, exit 2."""


def _handle(args: argparse.Namespace, ctx: Context) -> int:
    try:
        return _survey(args, ctx)
    except _UsageError as e:
        print(f"manywheel survey: error: {e}", file=ctx.stderr)
        return ExitCode.USAGE


def _survey(args: argparse.Namespace, ctx: Context) -> int:
    from manywheel.survey import InvalidTargetError, ReleaseSelection, SurveyOptions, Target

    try:
        target = Target.parse(args.target) if args.target else None
    except InvalidTargetError as e:
        raise _UsageError(e.message) from e
    if not (args.packages or args.lists or args.all):
        raise _UsageError("name packages, give a list with -r/--from, or use --all")
    releases = _releases(args.releases)
    pip = _pip_config(args, ctx.environ)
    transport_config = _transport_config(args, pip)
    index, transport = _index(args, pip, transport_config)
    requests = _requests(args, index)
    options = SurveyOptions(ReleaseSelection(releases, args.pre), target, args.concurrency)
    meta = _meta(args, index.locations, releases, ctx.environ)
    auditor = _auditor(args, ctx, transport_config) if args.audit else None
    if auditor is not None and ctx.verbosity >= 1:
        print(f"manywheel survey: auditing on {auditor.executor.description}", file=ctx.stderr)
    finished = False
    try:
        code = _run(args, ctx, index, requests, options=options, auditor=auditor, meta=meta)
        finished = True
        return code
    finally:
        if auditor is not None:
            auditor.executor.shutdown(wait=finished)
        transport.close()


def _releases(text: str) -> int | None:
    if text == "all":
        return None
    try:
        return _positive(text)
    except (ValueError, argparse.ArgumentTypeError) as e:
        raise _UsageError(f"--releases: expected a number or 'all', got {text!r}") from e


def _pip_config(args: argparse.Namespace, environ: Mapping[str, str]) -> PipIndexConfig:
    from manywheel.cli.pip_config import PipIndexConfig, read_pip_config

    return PipIndexConfig() if args.isolated else read_pip_config(environ)


def _transport_config(args: argparse.Namespace, pip: PipIndexConfig) -> TransportConfig:
    from manywheel import __version__
    from manywheel.survey import TransportConfig

    return TransportConfig(
        timeout=args.timeout or pip.timeout or 30.0,
        retries=max(0, args.retries),
        concurrency=args.concurrency,
        cafile=pip.cert,
        user_agent=f"manywheel/{__version__} (survey)",
    )


def _index(
    args: argparse.Namespace, pip: PipIndexConfig, config: TransportConfig
) -> tuple[IndexClient, UrlTransport]:
    from manywheel.survey import FindLinks, MergedIndex, SimpleIndex, UrlTransport, location_url

    transport = UrlTransport(config)
    urls: list[str] = []
    if not (args.no_index or (pip.no_index and not args.index_url)):
        urls = [args.index_url or pip.index_url, *pip.extra_index_urls, *args.extra_index_url]
    links = [*pip.find_links, *args.find_links]
    sources: list[Any] = [SimpleIndex(location_url(u), transport) for u in dict.fromkeys(urls)]
    sources += [FindLinks(link, transport) for link in dict.fromkeys(links)]
    if not sources:
        raise _UsageError("--no-index without --find-links leaves nothing to read")
    return MergedIndex(sources), transport


def _requests(args: argparse.Namespace, index: IndexClient) -> list[PackageRequest]:
    from manywheel.survey import (
        IndexUnavailableError,
        PackageRequest,
        read_package_list,
        requests_from_names,
    )

    found = requests_from_names(list(args.packages))
    for path in args.lists:
        found += read_package_list(path)
    if args.all:
        try:
            found += [PackageRequest(name) for name in index.project_names()]
        except IndexUnavailableError as e:
            raise IndexUnavailableError(
                f"cannot list the projects: {e.message}", path=e.path
            ) from e
    unique = list({r.canonical: r for r in reversed(found)}.values())[::-1]
    return unique[: args.top] if args.top else unique


def _meta(
    args: argparse.Namespace,
    locations: tuple[str, ...],
    releases: int | None,
    environ: Mapping[str, str],
) -> dict[str, Any]:
    from manywheel import __version__
    from manywheel.cli.source_date import source_date_epoch

    epoch = source_date_epoch(environ)
    moment = None if epoch is None else datetime.fromtimestamp(epoch, tz=timezone.utc)
    when = (moment or datetime.now(timezone.utc)).replace(microsecond=0).isoformat()
    return {
        "manywheel_version": __version__,
        "generated": when,
        "indexes": list(locations),
        "releases": "all" if releases is None else releases,
        "pre": args.pre,
        "target": args.target,
        "audit": args.audit,
    }


def _default_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def _executor(args: argparse.Namespace) -> Executor:
    from manywheel.survey import DaskExecutor, ProcessExecutor, ThreadExecutor

    workers = args.workers or _default_cores()
    if args.scheduler:
        scheduler = None if args.scheduler == "local" else args.scheduler
        return DaskExecutor(scheduler, workers=workers)
    if args.threads:
        return ThreadExecutor(workers)
    return ProcessExecutor(workers)


def _auditor(args: argparse.Namespace, ctx: Context, transport: TransportConfig) -> Auditor:
    from manywheel import __version__
    from manywheel.cli.audit_arguments import audit_options, policies_from
    from manywheel.survey import AuditCache, Auditor, AuditPlan, audit_fingerprint

    options = audit_options(args, ctx.environ)
    policy_files = tuple(str(p) for p in args.policy_file)
    policies = policies_from(args)  # a bad policy file fails here, once, before any work
    plan = AuditPlan(transport, options, policy_files, ranges=not args.no_ranges,
                     skip_over=args.audit_max_size)  # fmt: skip
    cache = None
    if not args.no_cache:
        base = args.cache_dir or _user_cache(ctx.environ)
        cache = AuditCache(base, audit_fingerprint(__version__, options, policy_files))
    executor = _executor(args)
    return Auditor(executor, plan, cache=cache, policies=policies, max_size=args.audit_max_size)


def _user_cache(environ: Mapping[str, str]) -> Path:
    base = environ.get("XDG_CACHE_HOME") or str(Path(environ.get("HOME") or Path.home()) / ".cache")
    return Path(base) / "manywheel"


# --- running and writing --------------------------------------------------------------------


@contextmanager
def _output(path: str | None, stdout: TextIO) -> Iterator[TextIO | None]:
    """A file written in full or not at all: a temporary file renamed into place (``-``: copied
    to stdout) once the survey has finished."""
    if path is None:
        yield None
        return
    if path == "-":
        with tempfile.TemporaryFile("w+", encoding="utf-8", newline="") as spool:
            yield cast(TextIO, spool)
            spool.seek(0)
            shutil.copyfileobj(spool, stdout)
        return
    target = Path(path).resolve()
    temp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    # created as any new file is (0o666 less the umask), unlike a mkstemp file's 0o600
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o666)
    try:
        with open(fd, "w", encoding="utf-8", newline="") as stream:  # noqa: PTH123 - a descriptor
            yield stream
        temp.replace(target)
    finally:
        temp.unlink(missing_ok=True)


def _progress(ctx: Context, quiet: bool) -> Callable[[Progress], None] | None:
    isatty = getattr(ctx.stderr, "isatty", None)
    if quiet or not (isatty and isatty()):
        return None
    from manywheel.survey import progress_line

    last = [0.0]

    def show(progress: Progress) -> None:
        now = time.monotonic()
        if now - last[0] < 0.1 and progress.packages_done != progress.packages_total:
            return
        last[0] = now
        width = shutil.get_terminal_size((100, 20)).columns - 1
        ctx.stderr.write("\r" + progress_line(progress)[:width].ljust(width))
        ctx.stderr.flush()

    return show


def _run(
    args: argparse.Namespace,
    ctx: Context,
    index: IndexClient,
    requests: list[PackageRequest],
    *,
    options: Any,
    auditor: Auditor | None,
    meta: dict[str, Any],
) -> int:
    from manywheel.survey import CsvWriter, JsonWriter, Row, render_html, run_survey, table

    rows: list[Row] = []
    with _output(args.json, ctx.stdout) as json_out, _output(args.csv, ctx.stdout) as csv_out:
        writers: list[Any] = []
        if json_out is not None:
            writers.append(JsonWriter(json_out))
        if csv_out is not None:
            writers.append(CsvWriter(csv_out))
        for writer in writers:
            writer.start(meta)

        def on_package(package: PackageSurvey) -> None:
            rows.append(Row.of(package))
            for writer in writers:
                writer.add(package)

        progress = _progress(ctx, args.quiet)
        summary = run_survey(
            index, requests, options, on_package=on_package, auditor=auditor, progress=progress
        )
        if progress is not None:
            ctx.stderr.write("\r\x1b[K")
        for writer in writers:
            writer.finish(summary)
        if args.html:
            with _output(args.html, ctx.stdout) as html_out:
                assert html_out is not None
                html_out.write(render_html(rows, summary, meta))
    to_stdout = "-" in (args.json, args.csv)
    if not args.quiet and not to_stdout:
        for line in table(rows, summary, target=args.target, audit=args.audit, paint=ctx.paint):
            print(line, file=ctx.stdout)
    for row in rows:
        for problem in row.problems if row.status != "ok" else ():
            print(f"manywheel survey: {row.name}: {problem}", file=ctx.stderr)
    if summary.unsurveyed:
        return ExitCode.INPUT
    if summary.mislabelled or (args.target and summary.missing_for_target):
        return ExitCode.FINDINGS
    return ExitCode.OK
