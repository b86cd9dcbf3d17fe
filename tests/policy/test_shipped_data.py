"""The shipped policy data: unchanged from auditwheel 6.8.2, loaded faithfully, and valid."""

from __future__ import annotations

import hashlib
import itertools
import json
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from manywheel.policy import ARCHITECTURES, Libc, PolicySet

#: SHA-256 of the files in auditwheel 6.8.2 (src/auditwheel/policy/), as in data/PROVENANCE.md.
PINNED = {
    "manylinux-policy.json": "104863eb197685edf6407a51ccde6cbd906be736efb959a991a60d102f1ccf96",
    "musllinux-policy.json": "672309ffe4e8d0c408cdfb35ebe4dc46a37a8f5b2e32b55151b30a147f1a865d",
    "android-policy.json": "778cfc5ca56e37fad01ed8845aa98c34c0791e8c8674312029daf260e64db7df",
}
REFERENCE = Path(__file__).resolve().parents[3] / "shared" / "reference"


def _shipped_bytes(name: str) -> bytes:
    return resources.files("manywheel.policy").joinpath("data").joinpath(name).read_bytes()


def _raw() -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for name in PINNED:
        out.extend(json.loads(_shipped_bytes(name)))
    return out


@pytest.mark.parametrize("name", sorted(PINNED))
def test_shipped_files_are_the_pinned_auditwheel_files(name: str) -> None:
    assert hashlib.sha256(_shipped_bytes(name)).hexdigest() == PINNED[name]


@pytest.mark.parametrize("name", sorted(PINNED))
def test_shipped_files_equal_the_reference_facts(name: str) -> None:
    reference = REFERENCE / name
    if not reference.exists():
        pytest.skip(f"no reference checkout at {REFERENCE}")
    assert _shipped_bytes(name) == reference.read_bytes()


RAW = [p for p in _raw() if p["name"] != "linux"]


@pytest.mark.parametrize("raw", RAW, ids=[p["name"] for p in RAW])
def test_loaded_policy_equals_its_json(raw: dict[str, Any], policies: PolicySet) -> None:
    policy = policies.get(raw["name"])
    assert policy is not None
    assert policy.aliases == tuple(raw["aliases"])
    assert policy.priority == raw["priority"]
    assert policy.lib_whitelist == frozenset(raw["lib_whitelist"])
    assert dict(policy.blacklist) == {k: frozenset(v) for k, v in raw["blacklist"].items()}
    assert set(policy.symbol_versions) == set(raw["symbol_versions"])
    for arch, namespaces in raw["symbol_versions"].items():
        names = {f"{ns}_{v}" for ns, versions in namespaces.items() for v in versions}
        assert policy.versions(arch).names == names, arch


def test_every_policy_of_the_issue_is_there(policies: PolicySet) -> None:
    glibc = [p.libc_version or (0, 0) for p in policies if p.libc is Libc.GLIBC]
    musl = [p.libc_version or (0, 0) for p in policies if p.libc is Libc.MUSL]
    assert sorted(glibc) == [
        (2, 5), (2, 12), (2, 17), (2, 24), (2, 26), (2, 27), (2, 28), (2, 31), (2, 34),
        (2, 35), (2, 36), (2, 37), (2, 38), (2, 39), (2, 40), (2, 41),
    ]  # fmt: skip
    assert sorted(musl) == [(1, 1), (1, 2)]
    assert [p.name for p in policies][-1] == "linux"


@pytest.mark.parametrize(
    ("alias", "name"),
    [("manylinux1", "manylinux_2_5"), ("manylinux2010", "manylinux_2_12"),
     ("manylinux2014", "manylinux_2_17")],
)  # fmt: skip
def test_legacy_aliases(policies: PolicySet, alias: str, name: str) -> None:
    policy = policies.get(alias)
    assert policy is not None
    assert policy.name == name


@pytest.mark.parametrize(
    ("name", "archs"),
    [
        ("manylinux_2_5", {"x86_64", "i686"}),
        ("manylinux_2_17", {"x86_64", "i686", "aarch64", "armv7l", "ppc64le", "ppc64", "s390x"}),
        ("manylinux_2_31", set(ARCHITECTURES) - {"ppc64", "loongarch64"}),
        ("manylinux_2_41", set(ARCHITECTURES) - {"ppc64"}),
        ("musllinux_1_1", set(ARCHITECTURES) - {"ppc64", "loongarch64"}),
        ("musllinux_1_2", set(ARCHITECTURES) - {"ppc64"}),
    ],
)
def test_architectures_covered(policies: PolicySet, name: str, archs: set[str]) -> None:
    policy = policies.get(name)
    assert policy is not None
    assert set(policy.archs) == archs


def test_priorities_order_each_family_by_libc_version(policies: PolicySet) -> None:
    for libc in Libc:
        family = [p for p in policies if p.libc is libc]  # highest priority first
        versions = [p.libc_version for p in family]
        assert versions == sorted(versions, key=lambda v: v or ())


def test_pep600_containment_holds_in_the_shipped_data(policies: PolicySet) -> None:
    family = sorted(
        (p for p in policies if p.libc is Libc.GLIBC), key=lambda p: p.libc_version or ()
    )
    for older, newer in itertools.pairwise(family):
        assert older.lib_whitelist <= newer.lib_whitelist
        for arch in set(older.archs) & set(newer.archs):
            assert older.versions(arch).names <= newer.versions(arch).names, (newer.name, arch)


def test_musl_libc_soname_is_whitelisted_per_arch(policies: PolicySet) -> None:
    policy = policies.get("musllinux_1_2")
    assert policy is not None
    assert "libc.musl-x86_64.so.1" in policy.whitelist("x86_64")
    assert "libc.musl-loongarch64.so.1" in policy.whitelist("loongarch64")
    assert "libc.musl-x86_64.so.1" not in policy.whitelist("aarch64")
    assert "libc.so" in policy.whitelist("aarch64")


#: Where the newest GLIBC version of a policy is not its own glibc version, and why.
NEWEST_GLIBC_EXCEPTIONS = {
    # CentOS 7 aarch64 glibc defines GLIBC_2.18 (__cxa_thread_atexit_impl), which the
    # manylinux_2_17 blacklist forbids for libc.so.6.
    ("manylinux_2_17", "aarch64"): "GLIBC_2.18",
    # glibc 2.37 added no symbol on these architectures.
    **{
        ("manylinux_2_37", arch): "GLIBC_2.36"
        for arch in ("x86_64", "aarch64", "ppc64le", "s390x", "loongarch64")
    },
}


def test_newest_glibc_version_is_the_policy_glibc(policies: PolicySet) -> None:
    for policy in policies:
        if policy.libc is not Libc.GLIBC:
            continue
        assert policy.libc_version is not None
        own = "GLIBC_{}.{}".format(*policy.libc_version)
        for arch in policy.archs:
            expected = NEWEST_GLIBC_EXCEPTIONS.get((policy.name, arch), own)
            assert policy.versions(arch).newest["GLIBC"].name == expected, (policy.name, arch)


def test_the_aarch64_glibc_2_18_symbol_is_blacklisted(policies: PolicySet) -> None:
    policy = policies.get("manylinux_2_17")
    assert policy is not None
    assert "__cxa_thread_atexit_impl" in policy.blacklist["libc.so.6"]


def test_shipped_files_read_through_importlib_resources_when_not_beside_the_module(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A zip install has no files beside the module: the same text comes through
    importlib.resources."""
    from manywheel.policy import loading

    direct = loading.read_shipped()
    monkeypatch.setattr(loading, "_DATA", tmp_path / "nowhere")
    assert loading.read_shipped() == direct
