"""The public API is what ``manywheel.__all__`` says, and it is pinned here: a change to it is a
deliberate, reviewed change to this list. Heavy names load lazily: importing the package alone
imports none of the subpackages."""

from __future__ import annotations

import subprocess
import sys

import manywheel

PUBLIC_API = [
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


def test_all_is_pinned() -> None:
    assert sorted(manywheel.__all__) == sorted(PUBLIC_API)


def test_every_public_name_exists() -> None:
    missing = [name for name in manywheel.__all__ if getattr(manywheel, name, None) is None]
    assert missing == []


def test_errors_share_one_root() -> None:
    for name in manywheel.__all__:
        obj = getattr(manywheel, name)
        if isinstance(obj, type) and issubclass(obj, Exception):
            assert issubclass(obj, manywheel.ManywheelError), name


def test_importing_the_package_is_cheap() -> None:
    probe = (
        "import sys, manywheel; print(sorted(m for m in sys.modules if m.startswith('manywheel.')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "['manywheel.errors']"


def test_unknown_attribute_is_an_attribute_error() -> None:
    assert not hasattr(manywheel, "no_such_name")
