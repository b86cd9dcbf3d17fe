"""The policy each platform of a build identifier targets: ``--manylinux`` (manylinux_2_17 by
default, as cibuildwheel's manylinux2014 images) and ``--musllinux`` (musllinux_1_2)."""

from __future__ import annotations

from dataclasses import dataclass

from manywheel.build.identifiers import BuildIdentifier, Platform
from manywheel.errors import ManywheelError
from manywheel.policy import Libc, PolicySet, parse_policy_name

__all__ = ["TargetPolicies"]


@dataclass(frozen=True, slots=True)
class TargetPolicies:
    """Canonical policy names (``manylinux_2_17``, ``musllinux_1_2``), never aliases."""

    manylinux: str = "manylinux_2_17"
    musllinux: str = "musllinux_1_2"

    @classmethod
    def from_names(cls, policies: PolicySet, manylinux: str, musllinux: str) -> TargetPolicies:
        """Resolve names or aliases (``manylinux2014``) against ``policies``; a name of the
        wrong family or an unknown one is a usage error (:class:`ManywheelError`)."""
        return cls(
            _canonical(policies, manylinux, Libc.GLIBC, "--manylinux"),
            _canonical(policies, musllinux, Libc.MUSL, "--musllinux"),
        )

    def policy(self, identifier: BuildIdentifier) -> str:
        return self.manylinux if identifier.platform is Platform.MANYLINUX else self.musllinux

    def platform_tag(self, identifier: BuildIdentifier) -> str:
        """``manylinux_2_17_x86_64``: what the repair targets and ``AUDITWHEEL_PLAT`` says."""
        return f"{self.policy(identifier)}_{identifier.arch}"

    def libc_version(self, identifier: BuildIdentifier) -> tuple[int, int]:
        parsed = parse_policy_name(self.policy(identifier))
        assert parsed is not None  # canonical names always parse
        return parsed[1]


def _canonical(policies: PolicySet, name: str, libc: Libc, option: str) -> str:
    policy = policies.get(name)
    if policy is None or policy.libc is not libc:
        family = "manylinux" if libc is Libc.GLIBC else "musllinux"
        known = ", ".join(p.name for p in policies if p.libc is libc)
        raise ManywheelError(f"{option} {name!r} is not a {family} policy (known: {known})")
    return policy.name
