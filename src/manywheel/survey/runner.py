"""Running a survey: list each package's files (several listings in flight), classify the chosen
releases from their filenames, check the target, hand the platform wheels to an auditor, and
emit each package's result in the order the packages were given — with only a bounded window
of packages in flight, so a survey of a whole index never holds the index in memory.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sized
from concurrent.futures import Future
from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import unquote, urlsplit

from manywheel.policy import PolicySet
from manywheel.survey.audit_record import WheelAudit
from manywheel.survey.cache import AuditCache
from manywheel.survey.coverage import classify, wheel_tags
from manywheel.survey.executors import DaemonPool, Executor
from manywheel.survey.index import IndexClient, IndexUnavailableError, ProjectNotFoundError
from manywheel.survey.model import DistFile, FileKind, Release, group_releases
from manywheel.survey.packages import PackageRequest, ReleaseSelection, select_releases
from manywheel.survey.remote_audit import AuditJob, AuditPlan, run_audit_job
from manywheel.survey.results import PackageStatus, PackageSurvey, ReleaseSurvey, Summary
from manywheel.survey.target import Target, check_target

__all__ = ["Auditor", "Progress", "SurveyOptions", "run_survey"]

logger = logging.getLogger(__name__)

#: Packages in flight per listing slot (the window that keeps the output in order).
_WINDOW_PER_SLOT = 4


@dataclass(frozen=True, slots=True)
class SurveyOptions:
    releases: ReleaseSelection = field(default_factory=ReleaseSelection)
    target: Target | None = None
    #: Index listings in flight at once.
    concurrency: int = 8


@dataclass(frozen=True, slots=True)
class Progress:
    packages_done: int
    #: ``None`` while the number of packages is not known.
    packages_total: int | None
    audits_done: int
    audits_submitted: int
    last: str


class Auditor:
    """Decides which wheels are audited and runs each once: from the cache, or as a job on the
    executor (its result then cached)."""

    def __init__(
        self,
        executor: Executor,
        plan: AuditPlan,
        *,
        cache: AuditCache | None = None,
        policies: PolicySet | None = None,
        max_size: int | None = None,
    ) -> None:
        self.executor = executor
        self.plan = plan
        self.cache = cache
        #: Shared by jobs that run in this process (threads); workers elsewhere load their own.
        self._policies = policies if executor.in_process else None
        self.max_size = max_size
        self._lock = threading.Lock()
        self.submitted = 0
        self.done = 0

    def wants(self, file: DistFile) -> bool:
        """Linux platform wheels (their ELF files are what the audit reads), within the size
        limit when the index gives sizes."""
        tags = wheel_tags(file.filename) if file.kind is FileKind.WHEEL else None
        if tags is None or not any(p.os == "linux" for p in tags.platforms):
            return False
        size = file.size if file.size is not None else _local_size(file.url)
        return self.max_size is None or size is None or size <= self.max_size

    def submit(self, file: DistFile) -> Future[WheelAudit]:
        with self._lock:
            self.submitted += 1
        cached = self.cache.get(file.sha256, file.filename, file.url) if self.cache else None
        if cached is not None:
            future: Future[WheelAudit] = Future()
            future.set_result(cached)
        elif self._policies is not None:
            policies = self._policies
            future = self.executor.submit(
                lambda job: run_audit_job(job, policies), AuditJob(file, self.plan)
            )
        else:
            future = self.executor.submit(run_audit_job, AuditJob(file, self.plan))
        future.add_done_callback(self._finished)
        return future

    def _finished(self, future: Future[WheelAudit]) -> None:
        with self._lock:
            self.done += 1
        if self.cache is not None and not future.cancelled() and future.exception() is None:
            audit = future.result()
            if not audit.cached:
                self.cache.put(audit)


def _local_size(url: str) -> int | None:
    """The size of a ``file://`` URL's file (an HTML index gives none); ``None`` otherwise."""
    parts = urlsplit(url)
    if parts.scheme != "file":
        return None
    try:
        return Path(unquote(parts.path)).stat().st_size
    except OSError:
        return None


def _listing(index: IndexClient, request: PackageRequest, options: SurveyOptions) -> PackageSurvey:
    """The package's releases and coverage (no audits yet), or why there are none."""
    try:
        project = index.project_files(request.name)
    except ProjectNotFoundError as e:
        return PackageSurvey(request, request.canonical, PackageStatus.NOT_FOUND, (str(e),))
    except IndexUnavailableError as e:
        return PackageSurvey(request, request.canonical, PackageStatus.ERROR, (str(e),))
    releases, left_out = group_releases(project.name, project.files)
    chosen = select_releases(releases, options.releases, request.specifier)
    if not chosen:
        why = (
            f"no release matches {request.specifier}"
            if request.specifier and releases
            else "no installable files (no wheel or sdist of this project)"
        )
        status = PackageStatus.NOT_FOUND
        return PackageSurvey(request, project.name, status, (why, *project.problems), (), left_out)
    surveyed = tuple(_release(r, options.target) for r in chosen)
    status = PackageStatus.PARTIAL if project.problems else PackageStatus.OK
    return PackageSurvey(request, project.name, status, project.problems, surveyed, left_out)


def _release(release: Release, target: Target | None) -> ReleaseSurvey:
    return ReleaseSurvey(
        str(release.version),
        release.yanked,
        release.files,
        classify(release),
        check_target(target, release.files) if target is not None else None,
    )


def _with_audits(package: PackageSurvey, audits: list[list[WheelAudit]]) -> PackageSurvey:
    audits = [[a for a in group if a.skipped is None] for group in audits]
    releases = tuple(
        replace(r, audits=tuple(a)) for r, a in zip(package.releases, audits, strict=True)
    )
    failed = [a for group in audits for a in group if a.error is not None]
    if not failed:
        return replace(package, releases=releases)
    problems = (*package.problems, *(f"{a.filename}: {a.error}" for a in failed))
    status = PackageStatus.PARTIAL if package.status is PackageStatus.OK else package.status
    return replace(package, status=status, problems=problems, releases=releases)


class _Pipeline:
    def __init__(
        self,
        index: IndexClient,
        options: SurveyOptions,
        auditor: Auditor | None,
        listing: DaemonPool,
    ) -> None:
        self.index = index
        self.options = options
        self.auditor = auditor
        self.listing = listing

    def start(self, request: PackageRequest) -> Future[PackageSurvey]:
        result: Future[PackageSurvey] = Future()
        listed = self.listing.submit(lambda r: _listing(self.index, r, self.options), request)
        listed.add_done_callback(lambda f: self._listed(f, result))
        return result

    def _listed(self, listed: Future[PackageSurvey], result: Future[PackageSurvey]) -> None:
        try:
            package = listed.result()
            if self.auditor is None or not package.releases:
                result.set_result(package)
                return
            self._audit(package, result)
        except BaseException as e:  # a bug in the listing: the caller re-raises it
            result.set_exception(e)

    def _audit(self, package: PackageSurvey, result: Future[PackageSurvey]) -> None:
        assert self.auditor is not None
        wanted = [[f for f in r.files if self.auditor.wants(f)] for r in package.releases]
        futures = [[self.auditor.submit(f) for f in files] for files in wanted]
        pending = [f for group in futures for f in group]
        if not pending:
            result.set_result(package)
            return
        remaining = [len(pending)]
        lock = threading.Lock()

        def one_done(_: Future[WheelAudit]) -> None:
            with lock:
                remaining[0] -= 1
                if remaining[0]:
                    return
            try:
                audits = [[f.result() for f in group] for group in futures]
                result.set_result(_with_audits(package, audits))
            except BaseException as e:
                result.set_exception(e)

        for future in pending:
            future.add_done_callback(one_done)


def run_survey(
    index: IndexClient,
    requests: Iterable[PackageRequest],
    options: SurveyOptions,
    *,
    on_package: Callable[[PackageSurvey], None],
    auditor: Auditor | None = None,
    progress: Callable[[Progress], None] | None = None,
) -> Summary:
    """Survey ``requests`` against ``index``; ``on_package`` gets each result, in order. The
    returned summary counts them all."""
    summary = Summary()
    total = len(requests) if isinstance(requests, Sized) else None
    pending: Iterator[PackageRequest] = iter(requests)
    window: deque[tuple[str, Future[PackageSurvey]]] = deque()
    slots = max(1, options.concurrency)
    listing = DaemonPool(slots, "manywheel-index")
    pipeline = _Pipeline(index, options, auditor, listing)
    try:
        while True:
            while len(window) < slots * _WINDOW_PER_SLOT:
                request = next(pending, None)
                if request is None:
                    break
                window.append((request.name, pipeline.start(request)))
            if not window:
                break
            name, future = window.popleft()
            package = future.result()
            summary.add(package)
            on_package(package)
            if progress is not None:
                progress(_progress(summary, total, auditor, name))
    except BaseException:  # interrupted, or a bug: do not wait for requests in flight
        listing.shutdown(wait=False, cancel_futures=True)
        raise
    listing.shutdown()
    return summary


def _progress(summary: Summary, total: int | None, auditor: Auditor | None, last: str) -> Progress:
    done = auditor.done if auditor else 0
    submitted = auditor.submitted if auditor else 0
    return Progress(summary.packages, total, done, submitted, last)
