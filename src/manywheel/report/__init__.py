"""Turning audit and repair results into documents: auditwheel's ``show --json`` (schema 1,
unchanged), manywheel's ``show --json-details``, the Python tag's verdict, and ``repair
--json``. Decides nothing and reads no file: every fact comes from the report or result given.

>>> from manywheel.audit import audit_wheel
>>> from manywheel.report import auditwheel_json
>>> wheel = "dist/pkg-1.0-cp311-cp311-linux_x86_64.whl"
>>> auditwheel_json(audit_wheel(wheel), "pkg-1.0-cp311-cp311-linux_x86_64.whl")  # doctest: +SKIP
{'version': 1, 'wheel': 'pkg-1.0-cp311-cp311-linux_x86_64.whl', 'pure': False, ...}

auditwheel's document loads with the package; the others on first use (``show --json`` needs
none of them).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from manywheel.lazy import lazy_attributes
from manywheel.report.auditwheel_show import (
    AUDITWHEEL_SCHEMA_VERSION,
    auditwheel_error,
    auditwheel_json,
    auditwheel_pure,
)
from manywheel.report.json_values import JsonObject

if TYPE_CHECKING:
    from manywheel.report.python_abi import python_abi_json
    from manywheel.report.repair_document import REPAIR_SCHEMA_VERSION, RepairFailure, repair_json
    from manywheel.report.show_details import (
        DETAILS_FORMAT,
        DETAILS_SCHEMA_VERSION,
        details_document,
        details_json,
        pure_facts,
        symbols_of,
    )

_LAZY = {
    "python_abi_json": "manywheel.report.python_abi",
    **dict.fromkeys(
        ("REPAIR_SCHEMA_VERSION", "RepairFailure", "repair_json"),
        "manywheel.report.repair_document",
    ),
    **dict.fromkeys(
        ("DETAILS_FORMAT", "DETAILS_SCHEMA_VERSION", "details_document", "details_json"),
        "manywheel.report.show_details",
    ),
    "pure_facts": "manywheel.report.show_details",
    "symbols_of": "manywheel.report.show_details",
}

__all__ = [
    "AUDITWHEEL_SCHEMA_VERSION",
    "DETAILS_FORMAT",
    "DETAILS_SCHEMA_VERSION",
    "REPAIR_SCHEMA_VERSION",
    "JsonObject",
    "RepairFailure",
    "auditwheel_error",
    "auditwheel_json",
    "auditwheel_pure",
    "details_document",
    "details_json",
    "pure_facts",
    "python_abi_json",
    "repair_json",
    "symbols_of",
]


__getattr__ = lazy_attributes(__name__, _LAZY)
