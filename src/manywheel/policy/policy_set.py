"""The set of known policies: loading (shipped data plus users' files), validation, lookup."""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from manywheel.errors import InvalidPolicyError, ManywheelError
from manywheel.policy.android import android_ladder, android_levels, android_policy
from manywheel.policy.definitions import (
    ANDROID_ABIS,
    ARCHITECTURES,
    Libc,
    Policy,
    parse_policy_name,
)
from manywheel.policy.loading import (
    SHIPPED_PREFIX,
    parse_policy_file,
    read_shipped,
    read_user_file,
)
from manywheel.policy.requirements import WheelRequirements
from manywheel.policy.symbol_versions import VersionTable
from manywheel.values import value_class

if TYPE_CHECKING:
    from manywheel.policy.judgment import Verdict

__all__ = ["PlatformMatch", "PolicySet", "load_policies"]


@value_class
class PlatformMatch:
    """A policy found by name: ``arch`` is set when the name carried one (a platform tag)."""

    policy: Policy
    arch: str | None


@value_class
class PolicySet:
    """Validated policies, highest priority first (``linux`` last)."""

    policies: tuple[Policy, ...]

    def __post_init__(self) -> None:
        ordered = tuple(sorted(self.policies, key=lambda p: (-p.priority, p.name)))
        object.__setattr__(self, "policies", ordered)
        validate(ordered)

    def __iter__(self) -> Iterator[Policy]:
        return iter(self.policies)

    def __len__(self) -> int:
        return len(self.policies)

    def get(self, name: str) -> Policy | None:
        """The policy called ``name`` or with the alias ``name`` (no architecture suffix)."""
        for policy in self.policies:
            if name == policy.name or name in policy.aliases:
                return policy
        return None

    def find(self, name: str) -> PlatformMatch | None:
        """Look up a policy name, an alias, or a platform tag built from either
        (``manylinux_2_17_x86_64``, ``manylinux2014_x86_64``, ``linux_aarch64``,
        ``android_24_arm64_v8a``). Any Android API level is known: ``android_30`` is the listed
        policy of the highest level <= 30 under that name."""
        policy = self._get_any_level(name)
        if policy is not None:
            return PlatformMatch(policy, None)
        for arch in ARCHITECTURES:
            if name.endswith(f"_{arch}"):
                policy = self._get_any_level(name[: -len(arch) - 1])
                if policy is not None and (
                    policy.libc is not Libc.ANDROID or policy.tag(arch) == name
                ):
                    return PlatformMatch(policy, arch)
        for arch, abi in ANDROID_ABIS.items():
            if name.endswith(f"_{abi}"):
                policy = self._get_any_level(name[: -len(abi) - 1])
                if policy is not None and policy.tag(arch) == name:
                    return PlatformMatch(policy, arch)
        return None

    def _get_any_level(self, name: str) -> Policy | None:
        found = self.get(name)
        if found is not None:
            return found
        parsed = parse_policy_name(name)
        if parsed is None or parsed[0] is not Libc.ANDROID:
            return None
        return android_policy((p for p in self.policies if p.libc is Libc.ANDROID), parsed[1][0])

    def for_requirements(self, requirements: WheelRequirements) -> PolicySet:
        """The set to judge ``requirements`` against: for an Android wheel, the listed policies
        plus one for each API level where its verdict can change (its tag's, its files' notes',
        its Bionic versions'); any other wheel is judged against this set as it is."""
        if requirements.libc is not Libc.ANDROID:
            return self
        added = android_ladder(self.policies, android_levels(requirements))
        return self if len(added) == len(self.policies) else PolicySet(tuple(added))

    def lookup(self, name: str) -> PlatformMatch:
        """Like :meth:`find`, but an unknown name, or an architecture the policy has no data
        for, raises :class:`ManywheelError`."""
        match = self.find(name)
        if match is None:
            known = ", ".join(p.name for p in self.policies)
            raise ManywheelError(f"unknown policy or platform tag {name!r} (known: {known})")
        if match.arch is not None and not match.policy.covers(match.arch):
            archs = ", ".join(match.policy.archs)
            raise ManywheelError(
                f"{match.policy.name} has no data for {match.arch} (it covers {archs})"
            )
        return match

    def for_arch(self, arch: str) -> tuple[Policy, ...]:
        """Policies covering ``arch``, highest priority first."""
        return tuple(p for p in self.policies if p.covers(arch))

    def prepare(self, arch: str) -> None:
        """Parse the symbol versions of every policy for ``arch`` now (they are otherwise
        parsed on first use): lets an audit do it while the members stream."""
        for policy in self.for_arch(arch):
            policy.versions(arch)

    def extended(self, documents: Sequence[tuple[str, Any]]) -> PolicySet:
        """A new set with each decoded policy file applied in order (``(source, document)``
        pairs; ``source`` names the file in errors). See docs/policy-format.md."""
        loaded = {policy.name: policy for policy in self.policies}
        for source, document in documents:
            for policy in parse_policy_file(document, source, loaded):
                loaded[policy.name] = policy
        return PolicySet(tuple(loaded.values())) if documents else self

    def evaluate(
        self,
        requirements: WheelRequirements,
        *,
        check_isa: bool = True,
        check_execstack: bool = True,
    ) -> Verdict:
        """Judge ``requirements`` against every policy; see :func:`manywheel.policy.evaluate`."""
        from manywheel.policy.judgment import evaluate

        judged = self.for_requirements(requirements)
        return evaluate(judged, requirements, check_isa=check_isa, check_execstack=check_execstack)


def load_policies(extra: Sequence[Path] = ()) -> PolicySet:
    """The shipped policies, then each file of ``extra`` in order, which adds policies or
    overrides existing ones. Invalid data raises :class:`InvalidPolicyError` naming the file."""
    loaded: dict[str, Policy] = {}
    for source, document in read_shipped():
        for policy in parse_policy_file(document, source):
            previous = loaded.get(policy.name)
            if previous is not None and replace(previous, source=source) != policy:
                raise InvalidPolicyError(f"policy {policy.name!r} is defined twice", path=source)
            loaded.setdefault(policy.name, policy)  # 'linux' is in both files, identical
    shipped = PolicySet(tuple(loaded.values()))
    return shipped.extended([(str(path), read_user_file(path)) for path in extra])


def validate(policies: Sequence[Policy]) -> None:
    """Check names, priorities and PEP 600 containment; raise :class:`InvalidPolicyError`."""
    _check_names(policies)
    for policy in policies:
        if policy.is_generic != (policy.priority == 0):
            raise InvalidPolicyError(
                f"policy {policy.name!r}: priority 0 is reserved for 'linux', and 'linux' "
                f"must have it (found {policy.priority})",
                path=policy.source,
            )
    for libc in Libc:
        family = sorted((p for p in policies if p.libc is libc), key=lambda p: p.libc_version or ())
        _check_order(family)
        # The shipped data is held to PEP 600 by tests/policy/test_shipped_data.py; only a
        # user's file can break it (and checking costs a tenth of a small wheel's show).
        if any(not p.source.startswith(SHIPPED_PREFIX) for p in family):
            _check_containment(family)


def _check_names(policies: Sequence[Policy]) -> None:
    seen: dict[str, str] = {}
    for policy in policies:
        for name in (policy.name, *policy.aliases):
            if name in seen:
                raise InvalidPolicyError(
                    f"name {name!r} of policy {policy.name!r} is already used by {seen[name]!r}",
                    path=policy.source,
                )
            seen[name] = policy.name


def _check_order(family: Sequence[Policy]) -> None:
    """Newer libc, lower priority: the best tag is the oldest (widest) one allowed."""
    for older, newer in itertools.pairwise(family):
        if newer.libc_version == older.libc_version:
            raise InvalidPolicyError(
                f"policies {older.name!r} and {newer.name!r} are for the same libc version",
                path=newer.source,
            )
        if newer.priority >= older.priority:
            raise InvalidPolicyError(
                f"policy {newer.name!r} has priority {newer.priority}, which must be lower than "
                f"{older.priority} of the older {older.name!r}",
                path=newer.source,
            )


def _check_containment(family: Sequence[Policy]) -> None:
    """PEP 600: a newer policy guarantees everything an older one does (per architecture for
    symbol versions; which architectures a policy covers is not constrained)."""
    whitelist: dict[str, Policy] = {}
    #: arch -> version name -> the oldest policy allowing it.
    versions: dict[str, dict[str, Policy]] = {}
    for policy in family:
        lost = sorted(lib for lib in whitelist if lib not in policy.lib_whitelist)
        if lost:
            _containment_error(policy, whitelist[lost[0]], "whitelisted libraries", lost)
        whitelist.update((lib, policy) for lib in policy.lib_whitelist if lib not in whitelist)
        for arch in policy.symbol_versions:
            names = _names(policy, arch)
            seen = versions.setdefault(arch, {})
            lost = sorted(seen.keys() - names)
            if lost:
                _containment_error(policy, seen[lost[0]], f"symbol versions on {arch}", lost)
            seen.update(dict.fromkeys(names - seen.keys(), policy))


def _names(policy: Policy, arch: str) -> frozenset[str]:
    """The version names a policy allows on ``arch``, parsed or not."""
    table = policy.symbol_versions
    return table.names(arch) if isinstance(table, VersionTable) else table[arch].names


def _containment_error(newer: Policy, older: Policy, what: str, lost: Sequence[str]) -> None:
    """Blame the user's file: the shipped data is consistent on its own."""
    source = older.source if newer.source.startswith(SHIPPED_PREFIX) else newer.source
    raise InvalidPolicyError(
        f"policy {newer.name!r} lacks {what} of the older {older.name!r}: {', '.join(lost)} "
        "(PEP 600: a newer policy guarantees everything an older one does)",
        path=source,
    )
