"""Symbol version names: parsing, numeric comparison, and judging against allowed sets."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from manywheel.policy import AllowedVersions, SymbolVersion, VersionStatus
from manywheel.policy.symbol_versions import VersionTable

PARSED = [
    ("GLIBC_2.17", "GLIBC", (2, 17)),
    ("GLIBC_2.2.5", "GLIBC", (2, 2, 5)),
    ("GLIBCXX_3.4.19", "GLIBCXX", (3, 4, 19)),
    ("CXXABI_1.3.7", "CXXABI", (1, 3, 7)),
    ("GCC_4.2.0", "GCC", (4, 2, 0)),
    ("CXXABI_LDBL_1.3", "CXXABI_LDBL", (1, 3)),
    ("GLIBCXX_IEEE128_3.4.29", "GLIBCXX_IEEE128", (3, 4, 29)),
    ("ZLIB_NG_2.1.0", "ZLIB_NG", (2, 1, 0)),
    ("CXXABI_TM_1", "CXXABI_TM", (1,)),
    ("OPENSSL_1_1_0", "OPENSSL_1_1", (0,)),
    ("GLIBC_PRIVATE", "GLIBC", None),
    ("GLIBC_ABI_DT_RELR", "GLIBC", None),
    ("CXXABI_FLOAT128", "CXXABI", None),
    ("IAMALIBRARY", "IAMALIBRARY", None),
]


@pytest.mark.parametrize(("name", "namespace", "number"), PARSED, ids=[p[0] for p in PARSED])
def test_parse(name: str, namespace: str, number: tuple[int, ...] | None) -> None:
    version = SymbolVersion.parse(name)
    assert (version.name, version.namespace, version.number) == (name, namespace, number)


def test_only_private_markers_are_private() -> None:
    assert SymbolVersion.parse("GLIBC_PRIVATE").is_private
    assert not SymbolVersion.parse("GLIBC_ABI_DT_RELR").is_private
    assert not SymbolVersion.parse("GLIBC_2.17").is_private


@pytest.mark.parametrize(
    ("newer", "older"),
    [
        ("GLIBC_2.17", "GLIBC_2.9"),
        ("GLIBC_2.10", "GLIBC_2.2.5"),
        ("GLIBCXX_3.4.10", "GLIBCXX_3.4.9"),
    ],
    ids=["2.17>2.9", "2.10>2.2.5", "3.4.10>3.4.9"],
)
def test_numbers_compare_numerically(newer: str, older: str) -> None:
    assert SymbolVersion.parse(newer).is_newer_than(SymbolVersion.parse(older))
    assert not SymbolVersion.parse(older).is_newer_than(SymbolVersion.parse(newer))
    assert newer < older  # as text the order is the other way: the reason to parse


def test_other_namespaces_and_markers_never_compare() -> None:
    assert not SymbolVersion.parse("CXXABI_LDBL_1.3").is_newer_than(
        SymbolVersion.parse("CXXABI_1.2")
    )
    assert not SymbolVersion.parse("GLIBC_PRIVATE").is_newer_than(SymbolVersion.parse("GLIBC_2.0"))


ALLOWED = AllowedVersions.from_names(
    ["GLIBC_2.2.5", "GLIBC_2.9", "GLIBC_2.17", "GLIBC_2.22", "CXXABI_1.3", "CXXABI_TM_1"],
    namespaces=["ZLIB"],
)
JUDGED = [
    ("GLIBC_2.17", VersionStatus.ALLOWED),
    ("GLIBC_2.23", VersionStatus.TOO_NEW),
    ("GLIBC_2.19", VersionStatus.NOT_PROVIDED),
    ("GLIBC_ABI_DT_RELR", VersionStatus.NOT_PROVIDED),
    ("GLIBC_PRIVATE", VersionStatus.PRIVATE),
    ("CXXABI_TM_1", VersionStatus.ALLOWED),
    ("CXXABI_LDBL_1.3", VersionStatus.UNKNOWN_NAMESPACE),
    ("ZLIB_1.2.0", VersionStatus.NOT_PROVIDED),
    ("ZLIB_NG_2.1.0", VersionStatus.UNKNOWN_NAMESPACE),
    ("OPENSSL_1_1_0", VersionStatus.UNKNOWN_NAMESPACE),
]


@pytest.mark.parametrize(("name", "status"), JUDGED, ids=[j[0] for j in JUDGED])
def test_judge(name: str, status: VersionStatus) -> None:
    assert ALLOWED.judge(SymbolVersion.parse(name)) is status


def test_newest_is_numeric_per_namespace() -> None:
    assert {ns: v.name for ns, v in ALLOWED.newest.items()} == {
        "GLIBC": "GLIBC_2.22",
        "CXXABI": "CXXABI_1.3",
        "CXXABI_TM": "CXXABI_TM_1",
    }
    assert ALLOWED.checked
    assert not AllowedVersions.from_names([]).checked


@given(st.text(max_size=40))
def test_parse_keeps_the_name_and_never_fails(name: str) -> None:
    version = SymbolVersion.parse(name)
    assert version.name == name
    if version.number is not None:
        suffix = ".".join(map(str, version.number))
        assert name.startswith(f"{version.namespace}_")
        assert [int(p) for p in name[len(version.namespace) + 1 :].split(".")] == list(
            version.number
        ), suffix


def test_version_table_membership_does_not_parse() -> None:
    """``arch in table`` answers from the raw names: parsing is left to first use."""
    table = VersionTable({"x86_64": (("GLIBC_2.17", "GLIBC_2.2.5"), ("GLIBC",))})
    assert "x86_64" in table
    assert "aarch64" not in table
    assert table._parsed == {}
    assert table["x86_64"].names == frozenset({"GLIBC_2.17", "GLIBC_2.2.5"})
    assert set(table._parsed) == {"x86_64"}
