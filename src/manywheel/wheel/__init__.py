"""The wheel container: filename and tags, WHEEL, METADATA name/version, RECORD, streaming member
reads with zip-bomb protection, verification as findings, and a writer that copies unchanged
members' compressed bytes as they are (and re-deflates an edited member only around its edits).
Never parses ELF. See docs/wheel.md.

The writer's names (and retagging's) load on first use: reading a wheel (``show``) never needs
them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from manywheel.lazy import lazy_attributes
from manywheel.wheel.abi_tags import AbiKind, InterpreterClaim, cpython_version, interpreter_claims
from manywheel.wheel.archive import WheelArchive
from manywheel.wheel.filename import WheelFilename
from manywheel.wheel.layout import (
    DATA_SUFFIX,
    LIB_SCHEMES,
    data_scheme,
    in_scheme,
    is_script,
    site_packages_path,
)
from manywheel.wheel.member_pass import StreamedMember, stream_members
from manywheel.wheel.metadata import MetadataIdentity, WheelInfo
from manywheel.wheel.record import Record, RecordEntry
from manywheel.wheel.safety import check_name
from manywheel.wheel.source import FileReader, RangeReader
from manywheel.wheel.stream import MemberReader, is_small
from manywheel.wheel.verify import (
    Finding,
    FindingKind,
    content_findings,
    structural_findings,
    verify_wheel,
)
from manywheel.wheel.zipformat import HeaderMismatch, Member

if TYPE_CHECKING:
    from manywheel.wheel.tags import Retag, replaced_platforms, retag
    from manywheel.wheel.writer import (
        Content,
        EditedMember,
        MemberContent,
        PendingWheel,
        rewrite_wheel,
        rewritten_filename,
    )

_LAZY = {
    **dict.fromkeys(
        (
            "Content",
            "EditedMember",
            "MemberContent",
            "PendingWheel",
            "rewrite_wheel",
            "rewritten_filename",
        ),
        "manywheel.wheel.writer",
    ),
    **dict.fromkeys(("Retag", "replaced_platforms", "retag"), "manywheel.wheel.tags"),
}

__all__ = [
    "DATA_SUFFIX",
    "LIB_SCHEMES",
    "AbiKind",
    "Content",
    "EditedMember",
    "FileReader",
    "Finding",
    "FindingKind",
    "HeaderMismatch",
    "InterpreterClaim",
    "Member",
    "MemberContent",
    "MemberReader",
    "MetadataIdentity",
    "PendingWheel",
    "RangeReader",
    "Record",
    "RecordEntry",
    "Retag",
    "StreamedMember",
    "WheelArchive",
    "WheelFilename",
    "WheelInfo",
    "check_name",
    "content_findings",
    "cpython_version",
    "data_scheme",
    "in_scheme",
    "interpreter_claims",
    "is_script",
    "is_small",
    "replaced_platforms",
    "retag",
    "rewrite_wheel",
    "rewritten_filename",
    "site_packages_path",
    "stream_members",
    "structural_findings",
    "verify_wheel",
]


__getattr__ = lazy_attributes(__name__, _LAZY)
