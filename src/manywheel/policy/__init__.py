"""manywheel.policy: the manylinux/musllinux/Android policies as data, and the judgment of a wheel's
requirements against them.

Build :class:`WheelRequirements` (plain data the audit fills from ELF facts), then::

    policies = load_policies()              # shipped policies; pass files to add or override
    verdict = policies.evaluate(requirements)
    verdict.best.tag                        # e.g. "manylinux_2_17_x86_64"
    for reason in verdict.get("manylinux2014").reasons: ...
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from manywheel.lazy import lazy_attributes
from manywheel.policy.android import (
    BIONIC_VERSIONS,
    LOWEST_API_LEVEL,
    RUNPATH_API_LEVEL,
    android_policy,
    bionic_version_level,
)
from manywheel.policy.definitions import (
    ANDROID_ABIS,
    ARCHITECTURES,
    Libc,
    Policy,
    is_dynamic_loader,
    is_libpython,
    parse_policy_name,
)
from manywheel.policy.judgment import PolicyVerdict, Verdict, evaluate
from manywheel.policy.loading import MAX_POLICY_FILE_BYTES
from manywheel.policy.policy_set import PlatformMatch, PolicySet, load_policies
from manywheel.policy.reasons import Reason, ReasonKind
from manywheel.policy.requirements import (
    ElfRequirements,
    LibraryUse,
    Location,
    WheelRequirements,
)
from manywheel.policy.symbol_versions import AllowedVersions, SymbolVersion, VersionStatus

if TYPE_CHECKING:
    from manywheel.policy.python_abi import (
        AbiProblem,
        AbiProblemKind,
        ModuleFacts,
        PythonAbiVerdict,
        StableAbi,
        StableAbiSymbol,
        extension_suffixes,
        judge_python_abi,
        python_imports,
    )

#: The Python-tag names load on first use: only a Python-ABI verdict needs them.
_LAZY = dict.fromkeys(
    (
        "AbiProblem",
        "AbiProblemKind",
        "ModuleFacts",
        "PythonAbiVerdict",
        "StableAbi",
        "StableAbiSymbol",
        "extension_suffixes",
        "judge_python_abi",
        "python_imports",
    ),
    "manywheel.policy.python_abi",
)

__all__ = [
    "ANDROID_ABIS",
    "ARCHITECTURES",
    "BIONIC_VERSIONS",
    "LOWEST_API_LEVEL",
    "MAX_POLICY_FILE_BYTES",
    "RUNPATH_API_LEVEL",
    "AbiProblem",
    "AbiProblemKind",
    "AllowedVersions",
    "ElfRequirements",
    "Libc",
    "LibraryUse",
    "Location",
    "ModuleFacts",
    "PlatformMatch",
    "Policy",
    "PolicySet",
    "PolicyVerdict",
    "PythonAbiVerdict",
    "Reason",
    "ReasonKind",
    "StableAbi",
    "StableAbiSymbol",
    "SymbolVersion",
    "Verdict",
    "VersionStatus",
    "WheelRequirements",
    "android_policy",
    "bionic_version_level",
    "evaluate",
    "extension_suffixes",
    "is_dynamic_loader",
    "is_libpython",
    "judge_python_abi",
    "load_policies",
    "parse_policy_name",
    "python_imports",
]


__getattr__ = lazy_attributes(__name__, _LAZY)
