"""manywheel: audit and repair Linux binary wheels for the manylinux and musllinux policies.

The main entry points are re-exported here; they load on first use, so ``import manywheel``
(and the CLI's start-up) stays cheap::

    import manywheel
    report = manywheel.audit_wheel("dist/pkg-1.0-cp311-cp311-linux_x86_64.whl")
    print(report.best.tag, report.best_after_repair.tag)
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from manywheel.errors import (
    ElfEditError,
    InputError,
    InvalidElfError,
    InvalidPolicyError,
    InvalidWheelError,
    ManywheelError,
    NotPlatformWheelError,
    ToolError,
    UnsafeWheelError,
)

if TYPE_CHECKING:
    from manywheel.audit import AuditOptions, AuditReport, audit_wheel
    from manywheel.elf import ElfChanges, ElfFile, edit_elf, parse_elf, read_elf, read_elf_stream
    from manywheel.linker import DependencyTree, Resolver, SearchSettings
    from manywheel.policy import PolicySet, Verdict, load_policies
    from manywheel.repair import (
        ManywheelPatcher,
        PatchelfPatcher,
        RepairOptions,
        RepairResult,
        plan_repair,
        repair_wheel,
    )
    from manywheel.wheel import WheelArchive, rewrite_wheel, verify_wheel

__version__ = "0.1.0.dev0"

#: Public name -> the subpackage that defines it (imported on first access).
_LAZY = {
    "AuditOptions": "manywheel.audit",
    "AuditReport": "manywheel.audit",
    "audit_wheel": "manywheel.audit",
    "ElfChanges": "manywheel.elf",
    "ElfFile": "manywheel.elf",
    "edit_elf": "manywheel.elf",
    "parse_elf": "manywheel.elf",
    "read_elf": "manywheel.elf",
    "read_elf_stream": "manywheel.elf",
    "DependencyTree": "manywheel.linker",
    "Resolver": "manywheel.linker",
    "SearchSettings": "manywheel.linker",
    "PolicySet": "manywheel.policy",
    "Verdict": "manywheel.policy",
    "load_policies": "manywheel.policy",
    "ManywheelPatcher": "manywheel.repair",
    "PatchelfPatcher": "manywheel.repair",
    "RepairOptions": "manywheel.repair",
    "RepairResult": "manywheel.repair",
    "plan_repair": "manywheel.repair",
    "repair_wheel": "manywheel.repair",
    "WheelArchive": "manywheel.wheel",
    "rewrite_wheel": "manywheel.wheel",
    "verify_wheel": "manywheel.wheel",
}

__all__ = [
    "AuditOptions",
    "AuditReport",
    "DependencyTree",
    "ElfChanges",
    "ElfEditError",
    "ElfFile",
    "InputError",
    "InvalidElfError",
    "InvalidPolicyError",
    "InvalidWheelError",
    "ManywheelError",
    "ManywheelPatcher",
    "NotPlatformWheelError",
    "PatchelfPatcher",
    "PolicySet",
    "RepairOptions",
    "RepairResult",
    "Resolver",
    "SearchSettings",
    "ToolError",
    "UnsafeWheelError",
    "Verdict",
    "WheelArchive",
    "__version__",
    "audit_wheel",
    "edit_elf",
    "load_policies",
    "parse_elf",
    "plan_repair",
    "read_elf",
    "read_elf_stream",
    "repair_wheel",
    "rewrite_wheel",
    "verify_wheel",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'manywheel' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
