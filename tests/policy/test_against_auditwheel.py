"""Differential test: where auditwheel 6.8.2 and manywheel mean the same thing (symbol versions
needed from whitelisted libraries, judged against the same data), they pick the same best tag.

The documented divergences (versions from the loader, namespaces auditwheel folds or ignores,
``GLIBC_PRIVATE``'s reason) are covered by their own tests; here every drawn name is one the data
lists for the architecture, or a version past the newest, or GLIBC_PRIVATE, all of which
auditwheel also rejects.
"""

from __future__ import annotations

import importlib
from importlib import resources

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from manywheel.policy import ARCHITECTURES, Libc, Location, PolicySet, load_policies
from tests.policy.builders import elf, library_for, use, wheel

# auditwheel 6.8.2 is in the test dependency group: its absence fails here, it is not skipped.
awpolicy = importlib.import_module("auditwheel.policy")
awarch = importlib.import_module("auditwheel.architecture")
awlibc = importlib.import_module("auditwheel.libc")

_SHIPPED = load_policies()
ARCHS = list(ARCHITECTURES)


def _names(arch: str) -> list[str]:
    names: set[str] = set()
    for policy in _SHIPPED:
        if policy.libc is Libc.GLIBC and policy.covers(arch):
            names |= policy.versions(arch).names
            names |= {
                f"{v.namespace}_{v.number[0] + 1}"
                for v in policy.versions(arch).newest.values()
                if v.number
            }
    return sorted(names | {"GLIBC_PRIVATE"})


def test_auditwheel_ships_the_same_data() -> None:
    ours = resources.files("manywheel.policy").joinpath("data")
    theirs = resources.files("auditwheel.policy")
    for name in ("manylinux-policy.json", "musllinux-policy.json"):
        assert ours.joinpath(name).read_bytes() == theirs.joinpath(name).read_bytes()


def _auditwheel_best(arch: str, versions: set[str]) -> str:
    policies = awpolicy.WheelPolicies(libc=awlibc.Libc.GLIBC, arch=awarch.Architecture(arch))
    by_library: dict[str, set[str]] = {}
    for name in versions:
        by_library.setdefault(_library(name), set()).add(name)
    return str(policies.versioned_symbols_policy(by_library).name)


def _library(name: str) -> str:
    return library_for(name.split("_", 1)[0])


@pytest.mark.parametrize("arch", ARCHS)
@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_same_best_tag_as_auditwheel(policies: PolicySet, arch: str, data: st.DataObject) -> None:
    versions = data.draw(st.sets(st.sampled_from(_names(arch)), max_size=5))
    needed = [use(_library(name), Location.SYSTEM, name) for name in sorted(versions)]
    verdict = policies.evaluate(wheel(elf("a.so", *needed), arch=arch))
    assert verdict.best.tag == _auditwheel_best(arch, versions)
