"""Each rule of the judgment, over every shipped policy and architecture it covers."""

from __future__ import annotations

import pytest

from manywheel.policy import Libc, Location, Policy, PolicySet, ReasonKind, load_policies
from tests.policy.builders import elf, library_for, needs, use, wheel

_SHIPPED = load_policies()
GLIBC_CASES = [(p.name, arch) for p in _SHIPPED if p.libc is Libc.GLIBC for arch in p.archs]
MUSL_CASES = [(p.name, arch) for p in _SHIPPED if p.libc is Libc.MUSL for arch in p.archs]


def _ids(cases: list[tuple[str, str]]) -> list[str]:
    return [f"{name}-{arch}" for name, arch in cases]


def _policy(policies: PolicySet, name: str) -> Policy:
    policy = policies.get(name)
    assert policy is not None
    return policy


def _bump(name: str) -> str:
    """The next version after ``name``: GLIBC_2.17 -> GLIBC_2.18."""
    head, _, number = name.rpartition("_")
    parts = number.split(".")
    return f"{head}_{'.'.join([*parts[:-1], str(int(parts[-1]) + 1)])}"


@pytest.mark.parametrize(("name", "arch"), GLIBC_CASES, ids=_ids(GLIBC_CASES))
def test_every_version_a_policy_lists_is_allowed_by_it_and_newer_ones(
    policies: PolicySet, name: str, arch: str
) -> None:
    policy = _policy(policies, name)
    names = sorted(policy.versions(arch).names)
    verdict = policies.evaluate(wheel(elf("pkg/_ext.so", *needs(*names)), arch=arch))
    allowed = {v.policy.name for v in verdict if v.allowed}
    newer = {p.name for p in policies if p.libc is Libc.GLIBC and p.priority <= policy.priority}
    assert allowed == {"linux"} | {n for n in newer if _policy(policies, n).covers(arch)}


@pytest.mark.parametrize(("name", "arch"), GLIBC_CASES, ids=_ids(GLIBC_CASES))
def test_a_version_past_the_newest_is_too_new_with_its_culprit(
    policies: PolicySet, name: str, arch: str
) -> None:
    policy = _policy(policies, name)
    for namespace, newest in policy.versions(arch).newest.items():
        version = _bump(newest.name)
        library = library_for(namespace)
        verdict = policies.evaluate(wheel(elf("pkg/_ext.so", *needs(version)), arch=arch))
        judged = verdict.get(policy.name)
        assert judged is not None
        assert not judged.allowed
        (reason,) = judged.reasons
        assert reason.kind is ReasonKind.VERSION_TOO_NEW
        assert (reason.file, reason.library, reason.version) == ("pkg/_ext.so", library, version)
        assert reason.symbols == (f"sym@{version}",)
        assert newest.name in reason.message
        assert not judged.allowed_after_repair  # a repair cannot lower a symbol version


@pytest.mark.parametrize(("name", "arch"), GLIBC_CASES, ids=_ids(GLIBC_CASES))
def test_glibc_private_is_private_not_too_new(policies: PolicySet, name: str, arch: str) -> None:
    verdict = policies.evaluate(
        wheel(elf("a.so", use("libc.so.6", Location.SYSTEM, "GLIBC_PRIVATE")), arch=arch)
    )
    judged = verdict.get(name)
    assert judged is not None
    assert [r.kind for r in judged.reasons] == [ReasonKind.VERSION_PRIVATE]
    assert judged.reasons[0].version == "GLIBC_PRIVATE"


@pytest.mark.parametrize(("name", "arch"), GLIBC_CASES, ids=_ids(GLIBC_CASES))
def test_blacklisted_symbols_count_only_from_their_library(
    policies: PolicySet, name: str, arch: str
) -> None:
    policy = _policy(policies, name)
    for library, banned in sorted(policy.blacklist.items()):
        symbol = sorted(banned)[0]
        bound_there = elf("a.so", use(library, Location.SYSTEM, symbols=frozenset({symbol})))
        bound_elsewhere = elf(
            "a.so", use("libfoo.so.1", Location.WHEEL, symbols=frozenset({symbol}))
        )
        judged = policies.evaluate(wheel(bound_there, arch=arch)).get(name)
        assert judged is not None
        (reason,) = judged.reasons
        assert reason.kind is ReasonKind.BLACKLISTED_SYMBOL
        assert (reason.file, reason.library, reason.symbol) == ("a.so", library, symbol)
        assert not judged.allowed_after_repair
        other = policies.evaluate(wheel(bound_elsewhere, arch=arch)).get(name)
        assert other is not None
        assert other.allowed


@pytest.mark.parametrize(("name", "arch"), GLIBC_CASES, ids=_ids(GLIBC_CASES))
def test_whitelisted_libraries_are_allowed_and_others_grafted(
    policies: PolicySet, name: str, arch: str
) -> None:
    policy = _policy(policies, name)
    links = [use(lib) for lib in sorted(policy.whitelist(arch))]
    judged = policies.evaluate(wheel(elf("a.so", *links, use("libfoo.so.3")), arch=arch)).get(name)
    assert judged is not None
    (reason,) = judged.reasons
    assert reason.kind is ReasonKind.NOT_WHITELISTED
    assert reason.library == "libfoo.so.3"
    assert reason.repairable
    assert judged.allowed_after_repair
    assert judged.grafts == ("libfoo.so.3",)


@pytest.mark.parametrize(("name", "arch"), GLIBC_CASES, ids=_ids(GLIBC_CASES))
def test_a_musl_wheel_is_never_manylinux(policies: PolicySet, name: str, arch: str) -> None:
    judged = policies.evaluate(wheel(elf("a.so"), arch=arch, libc=Libc.MUSL, musl=(1, 1))).get(name)
    assert judged is not None
    assert [r.kind for r in judged.reasons] == [ReasonKind.WRONG_LIBC]
    assert not judged.applicable


@pytest.mark.parametrize(("name", "arch"), MUSL_CASES, ids=_ids(MUSL_CASES))
def test_musl_version_comes_from_the_wheel(policies: PolicySet, name: str, arch: str) -> None:
    policy = _policy(policies, name)
    assert policy.libc_version is not None
    libc = use(f"libc.musl-{'x86' if arch == 'i686' else arch.replace('armv7l', 'armv7')}.so.1")
    for needed, allowed in [
        ((1, 1), True),
        ((1, 2), policy.libc_version >= (1, 2)),
        ((1, 3), False),
    ]:
        judged = policies.evaluate(
            wheel(elf("a.so", libc), arch=arch, libc=Libc.MUSL, musl=needed)
        ).get(name)
        assert judged is not None
        assert judged.allowed is allowed, needed
        if not allowed:
            assert [r.kind for r in judged.reasons] == [ReasonKind.MUSL_TOO_NEW]
    unknown = policies.evaluate(wheel(elf("a.so", libc), arch=arch, libc=Libc.MUSL)).get(name)
    assert unknown is not None
    assert [r.kind for r in unknown.reasons] == [ReasonKind.MUSL_UNKNOWN]


@pytest.mark.parametrize(("name", "arch"), MUSL_CASES, ids=_ids(MUSL_CASES))
def test_glibc_wheel_is_never_musllinux(policies: PolicySet, name: str, arch: str) -> None:
    judged = policies.evaluate(wheel(elf("a.so", *needs("GLIBC_2.17")), arch=arch)).get(name)
    assert judged is not None
    assert [r.kind for r in judged.reasons] == [ReasonKind.WRONG_LIBC]


@pytest.mark.parametrize("arch", ["x86_64", "i686"])
@pytest.mark.parametrize("name", ["manylinux_2_17", "manylinux_2_41", "musllinux_1_2"])
def test_isa_level_above_baseline(policies: PolicySet, name: str, arch: str) -> None:
    libc = Libc.MUSL if name.startswith("musl") else Libc.GLIBC
    files = (elf("v1.so", isa_level=1), elf("v3.so", isa_level=3))
    requirements = wheel(*files, arch=arch, libc=libc, musl=(1, 1))
    judged = policies.evaluate(requirements).get(name)
    assert judged is not None
    (reason,) = judged.reasons
    assert (reason.kind, reason.file, reason.version) == (
        ReasonKind.ISA_LEVEL, "v3.so", "x86-64-v3",
    )  # fmt: skip
    assert not judged.allowed_after_repair
    relaxed = policies.evaluate(requirements, check_isa=False).get(name)
    assert relaxed is not None
    assert relaxed.allowed


def test_isa_level_is_an_x86_notion(policies: PolicySet) -> None:
    judged = policies.evaluate(wheel(elf("a.so", isa_level=3), arch="aarch64")).get(
        "manylinux_2_17"
    )
    assert judged is not None
    assert judged.allowed
