"""``RepairRequest``: everything a repair is given besides the wheel and the directory to write
to, as one object — made once, checked once, used for any number of wheels."""

from __future__ import annotations

from dataclasses import field

from manywheel.audit import AuditOptions
from manywheel.linker import HostFacts
from manywheel.policy import PolicySet, load_policies
from manywheel.repair.licenses import LicenseIndex, SystemLicenses
from manywheel.repair.options import RepairOptions
from manywheel.repair.packages import PackageIndex, SystemPackages
from manywheel.repair.patcher import ElfPatcher, ManywheelPatcher
from manywheel.repair.plan import RepairRefusedError
from manywheel.values import value_class

__all__ = ["RepairRequest", "check_plat"]


def check_plat(policies: PolicySet, plat: str) -> None:
    """Refuse a ``--plat`` (``AUDITWHEEL_PLAT``) that names no policy a repair can target,
    whatever the wheel: an unknown name, an architecture the policy has no data for, or the
    generic ``linux`` (:class:`RepairRefusedError`). Both are usage errors (exit 2)."""
    if plat == "auto":
        return
    match = policies.lookup(plat)
    if match.policy.is_generic:
        raise RepairRefusedError(
            f"{plat} is not a policy a repair can target: choose a manylinux or musllinux "
            "policy, or auto"
        )


@value_class
class RepairRequest:
    """What to repair with: the ELF patcher, auditwheel's ``repair`` options, how to audit (the
    system to resolve libraries in), the policies, and where the SBOM's package owners and the
    grafted libraries' license texts come from.

    Creating it checks ``options.plat`` against ``policies`` (see :func:`check_plat`), so a bad
    ``--plat`` is refused before any wheel is read; the policies are loaded once here and
    evaluated once per repair."""

    #: Edits ELF files (manywheel's own editor by default).
    patcher: ElfPatcher = field(default_factory=ManywheelPatcher)
    options: RepairOptions = field(default_factory=RepairOptions)
    audit: AuditOptions = field(default_factory=AuditOptions)
    #: The policies to judge against (the shipped ones by default).
    policies: PolicySet = field(default_factory=load_policies)
    #: Copy a pure wheel as it is instead of refusing it (``--allow-pure-python-wheel``).
    allow_pure: bool = False
    #: Which system packages own the grafted libraries, for the SBOM (``None``: the package
    #: databases of ``audit.root``).
    packages: PackageIndex | None = None
    #: Where the owning packages' license texts are (``None``: under ``audit.root``).
    licenses: LicenseIndex | None = None
    #: manywheel's version, named as the SBOM's tool (the CLI passes ``__version__``).
    tool_version: str = "unknown"
    #: The system's libraries and ld.so.cache, parsed once for the audit, the closure check
    #: and every other wheel repaired with this request.
    facts: HostFacts = field(default_factory=HostFacts, compare=False, repr=False)

    def __post_init__(self) -> None:
        check_plat(self.policies, self.options.plat)

    @property
    def package_index(self) -> PackageIndex:
        return self.packages if self.packages is not None else SystemPackages(self.audit.root)

    @property
    def license_index(self) -> LicenseIndex:
        return self.licenses if self.licenses is not None else SystemLicenses(self.audit.root)
