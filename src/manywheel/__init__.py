"""manywheel: audit and repair Linux binary wheels for the manylinux, musllinux and Android
(PEP 738) policies.

The public API is the names in ``__all__``; see docs/api.md and the compatibility promise in
the README. They load on first use, so ``import manywheel`` (and the CLI's start-up) stays
cheap::

    import manywheel
    report = manywheel.audit_wheel("dist/pkg-1.0-cp311-cp311-linux_x86_64.whl")
    print(report.best.tag, report.best_after_repair.tag)

To add a public name: put it in ``__all__``, in ``_LAZY`` (which subpackage defines it) and in
the ``TYPE_CHECKING`` imports (so type checkers see it) — ``tests/test_public_api.py`` checks
the three agree — then run ``python -m tests.test_public_api`` to rewrite the pinned surface
(``tests/public_api.txt``), add it to docs/api.md, and say so in CHANGELOG.md.
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
    from manywheel.linker import (
        DependencyTree,
        HostFacts,
        Resolver,
        RootFileSystem,
        SearchSettings,
    )
    from manywheel.policy import PolicySet, Verdict, load_policies
    from manywheel.repair import (
        ManywheelPatcher,
        PatchelfPatcher,
        RepairOptions,
        RepairRequest,
        RepairResult,
        find_patchelf,
        plan_repair,
        repair_wheel,
    )
    from manywheel.wheel import WheelArchive, rewrite_wheel, verify_wheel

__version__ = "0.1.0.dev0"

#: Public name -> the subpackage that defines it (imported on first access). With the errors
#: above and ``__version__``, this is the public API: ``__all__`` is made from it.
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
    "HostFacts": "manywheel.linker",
    "Resolver": "manywheel.linker",
    "RootFileSystem": "manywheel.linker",
    "SearchSettings": "manywheel.linker",
    "PolicySet": "manywheel.policy",
    "Verdict": "manywheel.policy",
    "load_policies": "manywheel.policy",
    "ManywheelPatcher": "manywheel.repair",
    "PatchelfPatcher": "manywheel.repair",
    "RepairOptions": "manywheel.repair",
    "RepairRequest": "manywheel.repair",
    "RepairResult": "manywheel.repair",
    "find_patchelf": "manywheel.repair",
    "plan_repair": "manywheel.repair",
    "repair_wheel": "manywheel.repair",
    "WheelArchive": "manywheel.wheel",
    "rewrite_wheel": "manywheel.wheel",
    "verify_wheel": "manywheel.wheel",
}

#: The public API (see the README's compatibility promise), sorted.
__all__ = [
    "AuditOptions",
    "AuditReport",
    "DependencyTree",
    "ElfChanges",
    "ElfEditError",
    "ElfFile",
    "HostFacts",
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
    "RepairRequest",
    "RepairResult",
    "Resolver",
    "RootFileSystem",
    "SearchSettings",
    "ToolError",
    "UnsafeWheelError",
    "Verdict",
    "WheelArchive",
    "__version__",
    "audit_wheel",
    "edit_elf",
    "find_patchelf",
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
