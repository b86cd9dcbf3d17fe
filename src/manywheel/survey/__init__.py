"""Survey a package index: which platforms, architectures, libcs and Pythons each package's
wheels cover, what is missing for a target, and — auditing the wheels with manywheel's own audit,
read by HTTP range requests — whether their tags tell the truth. See docs/survey.md.

>>> from manywheel.survey import MergedIndex, SimpleIndex, UrlTransport, TransportConfig
>>> index = MergedIndex([SimpleIndex("https://pypi.org/simple", UrlTransport(TransportConfig()))])
>>> index.project_files("numpy").files[0].filename  # doctest: +SKIP
"""

from manywheel.survey.audit_record import (
    AUDIT_RECORD_VERSION,
    AuditFinding,
    FindingKind,
    ReadMode,
    WheelAudit,
    findings_from_report,
)
from manywheel.survey.cache import AuditCache, audit_fingerprint
from manywheel.survey.coverage import (
    Coverage,
    PlatformCoverage,
    ReleaseKind,
    WheelTags,
    classify,
    wheel_tags,
)
from manywheel.survey.dask_executor import DaskExecutor, DaskUnavailableError
from manywheel.survey.documents import (
    FORMAT,
    SCHEMA_VERSION,
    CsvWriter,
    JsonWriter,
    Mislabel,
    Row,
    package_json,
    summary_json,
)
from manywheel.survey.executors import Executor, ProcessExecutor, ThreadExecutor
from manywheel.survey.html import render_html
from manywheel.survey.index import (
    FindLinks,
    IndexClient,
    IndexUnavailableError,
    MergedIndex,
    ProjectNotFoundError,
    SimpleIndex,
    location_url,
)
from manywheel.survey.model import DistFile, FileKind, ProjectFiles, Release, group_releases
from manywheel.survey.packages import (
    PackageListError,
    PackageRequest,
    ReleaseSelection,
    read_package_list,
    requests_from_names,
    select_releases,
)
from manywheel.survey.platforms import Platform, PythonTag, parse_platform, parse_python
from manywheel.survey.ranged import RangedFile
from manywheel.survey.remote_audit import AuditJob, AuditPlan, run_audit_job
from manywheel.survey.results import PackageStatus, PackageSurvey, ReleaseSurvey, Summary
from manywheel.survey.runner import Auditor, Progress, SurveyOptions, run_survey
from manywheel.survey.target import (
    InvalidTargetError,
    Target,
    TargetResult,
    TargetStatus,
    check_target,
)
from manywheel.survey.text import progress_line, table
from manywheel.survey.transport import (
    FetchError,
    FileTransport,
    HttpTransport,
    Response,
    Transport,
    TransportConfig,
    UrlTransport,
)

__all__ = [
    "AUDIT_RECORD_VERSION",
    "FORMAT",
    "SCHEMA_VERSION",
    "AuditCache",
    "AuditFinding",
    "AuditJob",
    "AuditPlan",
    "Auditor",
    "Coverage",
    "CsvWriter",
    "DaskExecutor",
    "DaskUnavailableError",
    "DistFile",
    "Executor",
    "FetchError",
    "FileKind",
    "FileTransport",
    "FindLinks",
    "FindingKind",
    "HttpTransport",
    "IndexClient",
    "IndexUnavailableError",
    "InvalidTargetError",
    "JsonWriter",
    "MergedIndex",
    "Mislabel",
    "PackageListError",
    "PackageRequest",
    "PackageStatus",
    "PackageSurvey",
    "Platform",
    "PlatformCoverage",
    "ProcessExecutor",
    "Progress",
    "ProjectFiles",
    "ProjectNotFoundError",
    "PythonTag",
    "RangedFile",
    "ReadMode",
    "Release",
    "ReleaseKind",
    "ReleaseSelection",
    "ReleaseSurvey",
    "Response",
    "Row",
    "SimpleIndex",
    "Summary",
    "SurveyOptions",
    "Target",
    "TargetResult",
    "TargetStatus",
    "ThreadExecutor",
    "Transport",
    "TransportConfig",
    "UrlTransport",
    "WheelAudit",
    "WheelTags",
    "audit_fingerprint",
    "check_target",
    "classify",
    "findings_from_report",
    "group_releases",
    "location_url",
    "package_json",
    "parse_platform",
    "parse_python",
    "progress_line",
    "read_package_list",
    "render_html",
    "requests_from_names",
    "run_audit_job",
    "run_survey",
    "select_releases",
    "summary_json",
    "table",
    "wheel_tags",
]
