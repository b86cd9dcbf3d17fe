"""Repair a wheel: graft the external libraries it needs under unique names, patch DT_NEEDED,
RPATH and SONAME, retag it, and prove the result before it is written.

A :class:`RepairRequest` carries what a repair is given (patcher, options, audit options,
policies), checked once. The decision (:func:`plan_repair`) is pure; :func:`apply_plan` patches
through an :class:`ElfPatcher` backend (manywheel's own editor by default,
:class:`ManywheelPatcher`) and writes through the wheel writer; :func:`repair_wheel` does both,
and adds auditwheel's
CycloneDX SBOM when grafted libraries come from system packages (:class:`SystemPackages`
answers which). :func:`edit_file` and :func:`edit_wheel_members` edit ELF files outside a
repair (``manywheel patch``).
"""

from manywheel.repair.apply import apply_plan, check_closure, script_shim
from manywheel.repair.elf_edits import MemberEdit, edit_file, edit_wheel_members, replace_file
from manywheel.repair.licenses import LicenseFile, LicenseIndex, LicensePlan, SystemLicenses
from manywheel.repair.options import RepairOptions, UserLicense, WheelProvided
from manywheel.repair.packages import PackageIndex, PackageOwner, SystemPackages
from manywheel.repair.patcher import (
    MIN_PATCHELF,
    PATCHERS,
    BytesPatcher,
    ElfEdits,
    ElfPatcher,
    ManywheelPatcher,
    NonePatcher,
    PatchelfPatcher,
    find_patchelf,
    make_patcher,
)
from manywheel.repair.plan import (
    Graft,
    MemberPatch,
    RepairPlan,
    RepairRefusedError,
    graft_name,
    plan_repair,
)
from manywheel.repair.request import RepairRequest, check_plat
from manywheel.repair.sbom import SBOM_NAME, sbom_document
from manywheel.repair.wheel_repair import (
    PythonAbiError,
    RepairResult,
    repair_wheel,
    repaired_name,
)

__all__ = [
    "MIN_PATCHELF",
    "PATCHERS",
    "SBOM_NAME",
    "BytesPatcher",
    "ElfEdits",
    "ElfPatcher",
    "Graft",
    "LicenseFile",
    "LicenseIndex",
    "LicensePlan",
    "ManywheelPatcher",
    "MemberEdit",
    "MemberPatch",
    "NonePatcher",
    "PackageIndex",
    "PackageOwner",
    "PatchelfPatcher",
    "PythonAbiError",
    "RepairOptions",
    "RepairPlan",
    "RepairRefusedError",
    "RepairRequest",
    "RepairResult",
    "SystemLicenses",
    "SystemPackages",
    "UserLicense",
    "WheelProvided",
    "apply_plan",
    "check_closure",
    "check_plat",
    "edit_file",
    "edit_wheel_members",
    "find_patchelf",
    "graft_name",
    "make_patcher",
    "plan_repair",
    "repair_wheel",
    "repaired_name",
    "replace_file",
    "sbom_document",
    "script_shim",
]
