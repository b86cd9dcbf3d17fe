"""Is a wheel's METADATA what a package index accepts? The checks ``twine check`` and
``twine upload`` make before an upload, and those PyPI (Warehouse) makes when it receives one:

* every field parses and is valid for the declared Metadata-Version (packaging's validation,
  as twine 6+ does it): required fields, names, versions, requirements, fields introduced by a
  later metadata version, PEP 639's ``License-Expression`` (a valid SPDX expression);
* for Metadata-Version 2.4, every ``License-File`` is in the wheel under
  ``<dist-info>/licenses/`` (Warehouse refuses the upload otherwise); below 2.4 the
  ``License-File`` lines setuptools writes are dropped, as twine drops them;
* the long description renders for its content type: reStructuredText with PyPI's own renderer
  (readme_renderer, when installed: the ``publish`` extra), Markdown and plain text always do;
  a missing description or content type is a warning, as in twine;
* classifiers: ``Private ::`` ones make PyPI refuse the upload (a warning: other indexes take
  them); unknown ones are refused when the ``trove-classifiers`` list is installed.
"""

from __future__ import annotations

import email.message
import io
import logging
import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from packaging.metadata import ExceptionGroup, Metadata, RawMetadata, parse_email
from packaging.version import InvalidVersion, Version

from manywheel.values import value_class

__all__ = ["MetadataCheck", "check_metadata"]

logger = logging.getLogger(__name__)

_RENDERED_TYPES = ("text/plain", "text/markdown")
#: A reStructuredText description longer than this is not rendered (a bound on the time docutils
#: may take; real descriptions are a few KiB).
MAX_RENDERED_CHARACTERS = 2 * 2**20

#: docutils' report lines, as twine rewrites them: ``line N: Level: message``.
_REPORT = re.compile(
    r"^<string>:(?P<line>\d*): \((?P<level>DEBUG|INFO|WARNING|ERROR|SEVERE)/\d+\) (?P<message>.*)",
    re.MULTILINE,
)


@value_class
class MetadataCheck:
    """What is wrong (``problems``), what might be (``warnings``), and the metadata as it will
    be sent to the index (twine's field names are packaging's ``RawMetadata`` keys)."""

    problems: tuple[str, ...]
    #: The long description does not render.
    description_problems: tuple[str, ...]
    warnings: tuple[str, ...]
    metadata: Mapping[str, Any] | None


def check_metadata(data: bytes, dist_info: str, members: frozenset[str]) -> MetadataCheck:
    """Check METADATA's bytes; ``members`` are the wheel's member names (for License-File)."""
    problems: list[str] = []
    warnings: list[str] = []
    raw, unparsed = parse_email(data)
    declared = _version(raw.get("metadata_version"))
    if declared is None or declared < Version("2.4"):
        raw.pop("license_files", None)
        unparsed.pop("license-file", None)
    problems += [f"unrecognized or malformed field {key!r}" for key in sorted(unparsed)]
    try:
        Metadata.from_raw(raw)
    except ExceptionGroup as group:
        problems += sorted(str(e) for e in group.exceptions)
    problems += _license_files(raw, dist_info, members)
    description_problems, description_warnings = _description(raw)
    warnings += description_warnings
    classifier_problems, classifier_warnings = _classifiers(raw)
    problems += classifier_problems
    warnings += classifier_warnings
    return MetadataCheck(
        tuple(problems),
        tuple(description_problems),
        tuple(warnings),
        MappingProxyType(dict(raw)),
    )


def _version(text: str | None) -> Version | None:
    try:
        return None if text is None else Version(text)
    except InvalidVersion:
        return None


def _license_files(raw: RawMetadata, dist_info: str, members: frozenset[str]) -> list[str]:
    return [
        f"License-File {path!r} is not in the wheel (expected {dist_info}/licenses/{path})"
        for path in raw.get("license_files", [])
        if f"{dist_info}/licenses/{path}" not in members
    ]


def _content_type(value: str) -> tuple[str, dict[str, str]]:
    message = email.message.EmailMessage()
    message["content-type"] = value
    return message.get_content_type(), dict(message["content-type"].params)


def _description(raw: RawMetadata) -> tuple[list[str], list[str]]:
    warnings: list[str] = []
    description = raw.get("description")
    content_type = raw.get("description_content_type")
    if content_type is None:
        warnings.append("no Description-Content-Type: the description is read as text/x-rst")
        content_type = "text/x-rst"
    kind, params = _content_type(content_type)
    if not description or description.rstrip() == "UNKNOWN":
        warnings.append("no long description (the project page will be empty)")
        return [], warnings
    if kind in _RENDERED_TYPES:
        return [], warnings
    return _render_rst(description, params), warnings


def _render_rst(description: str, params: Mapping[str, str]) -> list[str]:
    if len(description) > MAX_RENDERED_CHARACTERS:
        logger.warning(
            "the reStructuredText description (%d characters) is too long to render here",
            len(description),
        )
        return []
    try:
        from readme_renderer.rst import render
    except ImportError:
        logger.info(
            "the reStructuredText description is not rendered: readme-renderer is not "
            "installed (pip install 'manywheel[publish]')"
        )
        return []
    stream = io.StringIO()
    if render(description, stream=stream, **params) is not None:
        return []
    reports = [
        f"line {m['line'] or '?'}: {m['level'].capitalize()}: {m['message'].strip()}"
        for m in _REPORT.finditer(stream.getvalue())
    ]
    detail = reports[0] if reports else stream.getvalue().strip().splitlines()[0]
    more = f" (+{len(reports) - 1} more)" if len(reports) > 1 else ""
    return [f"the long description (text/x-rst) does not render on PyPI: {detail}{more}"]


def _classifiers(raw: RawMetadata) -> tuple[list[str], list[str]]:
    classifiers = raw.get("classifiers", [])
    warnings = [
        f"classifier {c!r}: PyPI refuses uploads of private projects"
        for c in classifiers
        if c.startswith("Private ::")
    ]
    try:
        from trove_classifiers import all_classifiers, deprecated_classifiers
    except ImportError:
        return [], warnings
    problems = []
    for classifier in classifiers:
        if classifier.startswith("Private ::") or classifier in all_classifiers:
            continue
        if classifier in deprecated_classifiers:
            replacement = ", ".join(deprecated_classifiers[classifier]) or "nothing"
            problems.append(f"classifier {classifier!r} is deprecated (use {replacement})")
        else:
            problems.append(f"classifier {classifier!r} is not a valid trove classifier")
    return problems, warnings
