"""The upload stage of ``manywheel build --upload``: after every identifier is done, the run's
wheels go to the index — all or nothing across the run. If any selected identifier failed a
stage (build, repair, test, check) or could not be built, nothing is uploaded, unless
``skip_failed``, and then the wheels that passed are. Every wheel that reaches this stage has
passed its check already; files already on the index are skipped, as ``manywheel upload``
does (:func:`~manywheel.build.upload_wheels`) — and so is a file of the same name with other
bytes: a re-run rebuilds what an earlier run uploaded, and builds are rarely byte for byte the
same (the detail gives both digests; the index's file is never replaced)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

from manywheel.build.credentials import Repository
from manywheel.build.results import BuildOutcome
from manywheel.build.transport import display_url
from manywheel.build.upload import Outcome, UploadError, UploadReport, WheelUpload, upload_wheels
from manywheel.values import value_class

__all__ = ["UploadSettings", "publish", "upload_of"]


@value_class
class UploadSettings:
    """Where and how ``build --upload`` uploads (``manywheel upload``'s options)."""

    repository: Repository
    skip_failed: bool = False
    skip_existing: bool = True
    #: The index's simple page (``None``: derived from the upload URL).
    index_url: str | None = None
    user_agent: str = "manywheel"
    timeout: float = 60.0


def _held_back(outcomes: Sequence[BuildOutcome], repository: str) -> UploadReport:
    failed = [o for o in outcomes if not o.ok]
    names = ", ".join(str(o.identifier) for o in failed[:3]) + (" ..." if len(failed) > 3 else "")
    detail = f"{len(failed)} identifier{'s' if len(failed) > 1 else ''} did not pass ({names})"
    wheels = tuple(WheelUpload(str(o.wheel), Outcome.HELD_BACK, detail) for o in outcomes if o.ok)
    checks = tuple(o.check for o in outcomes if o.ok and o.check is not None)
    return UploadReport(repository, checks, wheels)


def _unproven(outcomes: Sequence[BuildOutcome]) -> set[Path]:
    """The wheels an identifier reused and failed its test with."""
    failed = {o.reused_from for o in outcomes if not o.ok and o.reused_from is not None}
    return {o.wheel for o in outcomes if o.identifier in failed and o.wheel is not None}


def publish(
    outcomes: Sequence[BuildOutcome],
    settings: UploadSettings,
    *,
    on_result: Callable[[WheelUpload], None] | None = None,
) -> tuple[UploadReport, UploadError | None]:
    """Upload the built wheels of ``outcomes`` (see the module's doc). The report, and the
    error that stopped the uploads (the index refused or could not be reached), if any."""
    repository = display_url(settings.repository.url)
    if not all(o.ok for o in outcomes) and not settings.skip_failed:
        report = _held_back(outcomes, repository)
        for wheel in report.wheels:
            if on_result is not None:
                on_result(wheel)
        return report, None
    # one per file: later identifiers reuse an earlier one's abi3 wheel; a wheel that failed
    # the test of one of them is not proven, and stays behind with --skip-failed too
    unproven = _unproven(outcomes)
    unique = {
        str(o.wheel): o
        for o in outcomes
        if o.ok and o.wheel and o.check is not None and o.wheel not in unproven
    }
    built = list(unique.values())
    if not built:
        return UploadReport(repository), None
    paths = [str(o.wheel) for o in built]
    checks = [replace(o.check, path=path) for o, path in zip(built, paths, strict=True) if o.check]
    try:
        report = upload_wheels(
            paths,
            settings.repository,
            checks=checks,
            skip_existing=settings.skip_existing,
            same_name_is_there=True,
            index_url=settings.index_url,
            user_agent=settings.user_agent,
            timeout=settings.timeout,
            on_result=on_result,
        )
    except UploadError as e:
        return e.report, e
    return report, None


def upload_of(report: UploadReport | None, outcome: BuildOutcome) -> WheelUpload | None:
    """What became of ``outcome``'s wheel in ``report``."""
    if report is None or outcome.wheel is None:
        return None
    path = str(outcome.wheel)
    return next((w for w in report.wheels if w.path == path), None)
