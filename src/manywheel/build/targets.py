"""The policy each build identifier targets: ``manylinux`` (manylinux_2_17 by default, as
cibuildwheel's manylinux2014 images) and ``musllinux`` (musllinux_1_2), per identifier when the
configuration says so (an override, or cibuildwheel's ``manylinux-<arch>-image`` naming a
policy: ``manylinux_2_28``, ``quay.io/pypa/manylinux_2_28_x86_64:2025.01.01``)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import field

from manywheel.build.identifiers import BuildIdentifier, Platform
from manywheel.errors import ManywheelError
from manywheel.policy import Libc, PolicySet, parse_policy_name
from manywheel.values import value_class

__all__ = ["TargetPolicies", "image_policy"]

#: A policy named in an image option: ``manylinux2014``, ``manylinux_2_28``,
#: ``quay.io/pypa/manylinux_2_28_x86_64:tag``, ``musllinux_1_2``.
_IMAGE_POLICY = re.compile(
    r"(?:^|/)(?P<policy>manylinux(?:1|2010|2014|_\d+_\d+)|musllinux_\d+_\d+)"
    r"(?:_[a-z0-9_]+)?(?::|@|$)"  # an architecture, then a tag, a digest or the end
)


def image_policy(image: str | None) -> str | None:
    """The policy an image option names (cibuildwheel's short names, or the image reference of
    a pypa manylinux/musllinux image), else ``None`` (another image says nothing of it)."""
    if not image:
        return None
    found = _IMAGE_POLICY.search(image.strip())
    return None if found is None else found["policy"]


@value_class
class TargetPolicies:
    """Canonical policy names (``manylinux_2_17``, ``musllinux_1_2``), never aliases: one per
    platform, and ``overrides`` for identifiers configured otherwise."""

    manylinux: str = "manylinux_2_17"
    musllinux: str = "musllinux_1_2"
    overrides: Mapping[BuildIdentifier, str] = field(default_factory=dict)

    @classmethod
    def from_names(
        cls,
        policies: PolicySet,
        manylinux: str,
        musllinux: str,
        *,
        where: tuple[str, str] = ("--manylinux", "--musllinux"),
    ) -> TargetPolicies:
        """Resolve names or aliases (``manylinux2014``) against ``policies``; a name of the
        wrong family or an unknown one is a usage error (:class:`ManywheelError`) starting with
        ``where`` (the option or configuration key that named it)."""
        return cls(
            canonical_policy(policies, manylinux, Libc.GLIBC, where[0]),
            canonical_policy(policies, musllinux, Libc.MUSL, where[1]),
        )

    def policy(self, identifier: BuildIdentifier) -> str:
        found = self.overrides.get(identifier)
        if found is not None:
            return found
        return self.manylinux if identifier.platform is Platform.MANYLINUX else self.musllinux

    def platform_tag(self, identifier: BuildIdentifier) -> str:
        """``manylinux_2_17_x86_64``: what the repair targets and ``AUDITWHEEL_PLAT`` says."""
        return f"{self.policy(identifier)}_{identifier.arch}"

    def libc_version(self, identifier: BuildIdentifier) -> tuple[int, int]:
        parsed = parse_policy_name(self.policy(identifier))
        assert parsed is not None  # canonical names always parse
        return parsed[1]


def canonical_policy(policies: PolicySet, name: str, libc: Libc, where: str) -> str:
    """``name``'s canonical policy name (``manylinux2014`` -> ``manylinux_2_17``); a name of the
    wrong family or an unknown one is a :class:`ManywheelError` starting with ``where``."""
    policy = policies.get(name)
    if policy is None or policy.libc is not libc:
        family = "manylinux" if libc is Libc.GLIBC else "musllinux"
        known = ", ".join(p.name for p in policies if p.libc is libc)
        raise ManywheelError(f"{where} {name!r} is not a {family} policy (known: {known})")
    return policy.name
