"""``manywheel upload WHEEL...``: check every wheel, then upload them to a package index — all
or nothing (``--skip-failed``: the ones that pass), files already on the index skipped.

Credentials as twine takes them: ``--username``/``--password`` or ``TWINE_USERNAME``/
``TWINE_PASSWORD``, ``--repository-url``/``TWINE_REPOSITORY_URL`` or a ``.pypirc`` section
(``--repository``/``TWINE_REPOSITORY``, ``--config-file``), the keyring when it is installed.

Exit 0 when every wheel is on the index, 1 when one failed its check or the index has its name
with other content, 2 without a usable repository configuration, 3 when a wheel cannot be read,
4 when the index refuses an upload or cannot be reached (the URL, the HTTP status and the
server's message are printed; never a password).
"""

from __future__ import annotations

import argparse
import getpass
import sys
from typing import TYPE_CHECKING, TextIO

from manywheel.cli.check_command import add_check_arguments, check_all, render_text
from manywheel.cli.context import Context, Subparsers
from manywheel.cli.exit_codes import ExitCode

if TYPE_CHECKING:
    from manywheel.build import Repository, UploadReport, WheelUpload

__all__ = [
    "add_repository_arguments",
    "add_upload_behaviour_arguments",
    "register",
    "repository_from",
    "upload_line",
    "upload_summary",
]

_LABELS = {
    "uploaded": ("uploaded", "32"),
    "exists": ("already on the index", "2"),
    "conflict": ("not uploaded", "1;31"),
    "failed-check": ("not uploaded: failed its check", "1;31"),
    "held-back": ("not uploaded", "33"),
    "not-tried": ("not uploaded", "33"),
    "error": ("error", "1;31"),
}


def register(subparsers: Subparsers, parent: argparse.ArgumentParser) -> None:
    parser = subparsers.add_parser(
        "upload",
        parents=[parent],
        help="check wheels, then upload them to a package index (all or nothing)",
        description="Check every wheel (as `manywheel check`), then upload them to a package "
        "index with the upload API twine uses. If any wheel fails its check nothing is "
        "uploaded, unless --skip-failed. Files already on the index are skipped.",
    )
    parser.add_argument("wheels", nargs="+", metavar="WHEEL", help="wheel files to upload")
    add_repository_arguments(parser, pypirc_flag="--config-file", timeout_flag="--timeout")
    behaviour = parser.add_argument_group("what to upload")
    add_upload_behaviour_arguments(behaviour)
    add_check_arguments(parser)
    parser.set_defaults(handler=_handle)


def add_repository_arguments(
    parser: argparse.ArgumentParser, *, pypirc_flag: str, timeout_flag: str
) -> None:
    """Where to upload and as whom, as twine takes it (``build --upload`` spells the .pypirc
    file ``--pypirc`` and the network timeout ``--upload-timeout``: its ``--config-file`` is
    cibuildwheel's and its ``--timeout`` the commands')."""
    repository = parser.add_argument_group("repository (as twine)")
    repository.add_argument(
        "--repository-url",
        metavar="URL",
        help="the upload URL (default: TWINE_REPOSITORY_URL, else --repository's)",
    )
    repository.add_argument(
        "-r",
        "--repository",
        metavar="NAME",
        help="a section of the .pypirc file (default: TWINE_REPOSITORY, else pypi)",
    )
    repository.add_argument(
        pypirc_flag, dest="pypirc", metavar="FILE", help="the .pypirc file (default: ~/.pypirc)"
    )
    repository.add_argument("-u", "--username", help="default: TWINE_USERNAME, .pypirc, keyring")
    repository.add_argument(
        "-p", "--password", help="default: TWINE_PASSWORD, .pypirc, keyring, a prompt"
    )
    repository.add_argument(
        "--non-interactive",
        action="store_true",
        help="never prompt for a password (also TWINE_NON_INTERACTIVE)",
    )
    repository.add_argument(
        "--cert", metavar="FILE", help="CA bundle to verify the index (default: TWINE_CERT)"
    )
    repository.add_argument(
        "--client-cert",
        metavar="FILE",
        help="client certificate and key, one PEM file (default: .pypirc's client_cert, else none)",
    )
    repository.add_argument(
        "--index-url",
        metavar="URL",
        help="the index's simple page, read to skip files already there (default: derived "
        "from the upload URL: pypi.org/simple/ for PyPI, else <url>/simple/)",
    )
    repository.add_argument(
        timeout_flag,
        dest="upload_timeout",
        type=float,
        default=60.0,
        metavar="SECONDS",
        help="per network operation (default: 60)",
    )


def add_upload_behaviour_arguments(group: argparse._ArgumentGroup) -> None:
    """``--skip-failed`` and ``--skip-existing``/``--no-skip-existing``."""
    group.add_argument(
        "--skip-failed",
        action="store_true",
        help="upload the wheels that pass even if others fail (the exit code is 1 still)",
    )
    group.add_argument(
        "--skip-existing",
        dest="skip_existing",
        action="store_true",
        default=True,
        help="skip files already on the index (the default; accepted for twine's users)",
    )
    group.add_argument(
        "--no-skip-existing",
        dest="skip_existing",
        action="store_false",
        help="count a file already on the index as a failure",
    )


def repository_from(args: argparse.Namespace, ctx: Context, *, ask: bool = True) -> Repository:
    """The repository and credentials ``args`` and the environment name (twine's rules); a
    missing password is asked for on a terminal when ``ask`` and not non-interactive."""
    from manywheel.build import RepositoryRequest, resolve_repository

    request = RepositoryRequest(
        repository_url=args.repository_url,
        repository=args.repository,
        config_file=args.pypirc,
        username=args.username,
        password=args.password,
        cert=args.cert,
        client_cert=args.client_cert,
        non_interactive=not _interactive(args, ctx),
    )
    repository = resolve_repository(request, ctx.environ)  # a bad configuration stops here
    if repository.password is None and ask and _interactive(args, ctx):
        repository = resolve_repository(request, ctx.environ, prompt=_prompt)
    return repository


def _prompt(text: str, secret: bool) -> str:
    return getpass.getpass(text) if secret else input(text)


def _interactive(args: argparse.Namespace, ctx: Context) -> bool:
    flag = ctx.environ.get("TWINE_NON_INTERACTIVE", "").strip().lower()
    if args.non_interactive or flag in {"1", "true", "yes", "on"}:
        return False
    isatty = getattr(sys.stdin, "isatty", None)
    return bool(isatty and isatty())


def _handle(args: argparse.Namespace, ctx: Context) -> int:
    from manywheel import __version__
    from manywheel.build import UploadError, upload_wheels

    repository = repository_from(args, ctx, ask=False)  # a bad configuration stops here
    checks = check_all(args, ctx)
    for check in checks:
        if not check.passed(strict=args.strict):
            render_text(check, ctx, strict=args.strict)
    uploading = all(c.passed(strict=args.strict) for c in checks) or args.skip_failed
    if repository.password is None and uploading:
        repository = repository_from(args, ctx)
    try:
        report = upload_wheels(
            args.wheels,
            repository,
            checks=checks,
            skip_failed=args.skip_failed,
            skip_existing=args.skip_existing,
            strict=args.strict,
            index_url=args.index_url,
            user_agent=f"manywheel/{__version__}",
            timeout=args.upload_timeout,
            on_result=lambda result: upload_line(result, ctx),
        )
    except UploadError as e:
        upload_summary(e.report, ctx, skip_failed=args.skip_failed)
        raise
    return _finish(report, ctx, args)


def upload_line(result: WheelUpload, ctx: Context, *, stream: TextIO | None = None) -> None:
    """``WHEEL: uploaded (...)``, one line per wheel as it is done (on stdout, or
    ``stream``)."""
    label, colour = _LABELS[result.outcome.value]
    detail = f" ({result.detail})" if result.detail else ""
    if result.outcome.value == "error":
        detail = f": {result.detail}"
    line = f"{result.path}: {ctx.paint(label, colour)}{detail}"
    print(line, file=stream or ctx.stdout)


def upload_summary(report: UploadReport, ctx: Context, *, skip_failed: bool) -> None:
    """One line on stderr: how many wheels were uploaded, already there, held back..."""
    counts: dict[str, int] = {}
    for wheel in report.wheels:
        counts[wheel.outcome.value] = counts.get(wheel.outcome.value, 0) + 1
    parts = [
        f"{counts[key]} {words}"
        for key, words in (
            ("uploaded", "uploaded"),
            ("exists", "already there"),
            ("failed-check", "failed their check"),
            ("conflict", "in conflict with the index"),
            ("held-back", "held back"),
            ("not-tried", "not tried"),
            ("error", "failed"),
        )
        if counts.get(key)
    ]
    text = f"{report.repository}: {', '.join(parts) or 'nothing to do'}"
    if counts.get("held-back") and not skip_failed:
        text += " (nothing uploaded: --skip-failed uploads the wheels that pass)"
    print(text, file=ctx.stderr)


def _finish(report: UploadReport, ctx: Context, args: argparse.Namespace) -> int:
    upload_summary(report, ctx, skip_failed=args.skip_failed)
    errors = [c.error for c in report.checks if c.error is not None]
    if errors:
        raise errors[-1]
    if all(w.outcome.ok for w in report.wheels):
        return ExitCode.OK
    return ExitCode.FINDINGS
