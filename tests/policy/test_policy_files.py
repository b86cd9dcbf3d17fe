"""Users' policy files: adding and overriding policies, and every validation error."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from manywheel.errors import InvalidPolicyError, ManywheelError
from manywheel.policy import (
    MAX_POLICY_FILE_BYTES,
    Location,
    PolicySet,
    ReasonKind,
    SymbolVersion,
    load_policies,
)
from tests.policy.builders import elf, needs, use, wheel


def _shipped(name: str) -> dict[str, Any]:
    text = (
        resources.files("manywheel.policy")
        .joinpath("data")
        .joinpath("manylinux-policy.json")
        .read_text(encoding="utf-8")
    )
    entries: list[dict[str, Any]] = json.loads(text)
    return next(e for e in entries if e["name"] == name)


def _write(tmp_path: Path, document: Any, name: str = "custom.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


NEWER_THAN_2_28 = ["manylinux_2_28", "manylinux_2_31", "manylinux_2_34", "manylinux_2_35",
                   "manylinux_2_36", "manylinux_2_37", "manylinux_2_38", "manylinux_2_39",
                   "manylinux_2_40", "manylinux_2_41"]  # fmt: skip


def test_an_in_house_library_whitelisted_from_2_28_on(tmp_path: Path) -> None:
    document = [{"name": n, "lib_whitelist_add": ["libcorp.so.4"]} for n in NEWER_THAN_2_28]
    policies = load_policies([_write(tmp_path, document)])
    requirements = wheel(elf("pkg/_ext.so", *needs("GLIBC_2.17"), use("libcorp.so.4")))
    verdict = policies.evaluate(requirements)
    assert verdict.best.tag == "manylinux_2_28_x86_64"
    v2_27 = verdict.get("manylinux_2_27")
    assert v2_27 is not None
    assert [(r.kind, r.library) for r in v2_27.reasons] == [
        (ReasonKind.NOT_WHITELISTED, "libcorp.so.4")
    ]
    custom = policies.get("manylinux_2_28")
    assert custom is not None
    assert custom.source == str(tmp_path / "custom.json")
    assert custom.versions("x86_64") == load_policies().get("manylinux_2_28").versions("x86_64")  # type: ignore[union-attr]
    assert load_policies().evaluate(requirements).best.tag == "linux_x86_64"


def test_an_in_house_baseline_policy_between_two_shipped_ones(tmp_path: Path) -> None:
    base = _shipped("manylinux_2_28")
    entry = {**base, "name": "manylinux_2_30", "priority": 62, "aliases": ["corp2024"]}
    entry["symbol_versions"] = {"x86_64": {**base["symbol_versions"]["x86_64"]}}
    entry["symbol_versions"]["x86_64"]["GLIBC"] = [
        *base["symbol_versions"]["x86_64"]["GLIBC"],
        "2.29",
        "2.30",
    ]
    policies = load_policies([_write(tmp_path, [entry])])
    verdict = policies.evaluate(wheel(elf("a.so", *needs("GLIBC_2.30"))))
    assert verdict.best.tag == "manylinux_2_30_x86_64"
    assert verdict.best.alias_tags == ("corp2024_x86_64",)
    match = policies.lookup("corp2024_x86_64")
    assert (match.policy.name, match.arch) == ("manylinux_2_30", "x86_64")


def test_later_files_override_earlier_ones(tmp_path: Path) -> None:
    first = _write(
        tmp_path, [{"name": "musllinux_1_2", "lib_whitelist_add": ["libA.so"]}], "a.json"
    )
    whitelist = ["libc.so", "libz.so.1"]
    second = _write(tmp_path, [{"name": "musllinux_1_2", "lib_whitelist": whitelist}], "b.json")
    policy = load_policies([first]).get("musllinux_1_2")
    assert policy is not None
    assert policy.lib_whitelist == frozenset({"libc.so", "libz.so.1", "libA.so"})
    policy = load_policies([first, second]).get("musllinux_1_2")
    assert policy is not None
    assert policy.lib_whitelist == frozenset(whitelist)


def test_entries_of_one_file_build_on_each_other(tmp_path: Path) -> None:
    document = [
        {"name": "musllinux_1_2", "lib_whitelist_add": ["libA.so"]},
        {"name": "musllinux_1_2", "lib_whitelist_add": ["libB.so"], "aliases": ["corp"]},
    ]
    policy = load_policies([_write(tmp_path, document)]).get("corp")
    assert policy is not None
    assert {"libA.so", "libB.so", "libz.so.1"} <= policy.lib_whitelist


def _entry(**changes: Any) -> dict[str, Any]:
    return {**_shipped("manylinux_2_28"), "name": "manylinux_2_30", "priority": 62, **changes}


BROKEN = [
    ("not-json", "{", "not valid JSON"),
    ("not-a-list", {"name": "x"}, "must be a JSON list"),
    ("entry-not-object", [3], "entry 0 is not a JSON object"),
    ("bad-name", [_entry(name="corplinux_1")], "a policy name must be"),
    ("missing-keys", [{"name": "manylinux_2_30"}], "missing keys"),
    ("unknown-key", [_entry(colour="red")], "unknown keys ['colour']"),
    ("bad-priority", [_entry(priority="high")], "'priority' must be an integer"),
    ("huge-priority", [_entry(priority=2**40)], "'priority' must be an integer from 0 to"),
    ("long-number", "[" + "9" * 5000 + "]", "has 5000 digits: absurd in a policy"),
    ("deep", "[" * 200_000 + "]" * 200_000, "JSON nested absurdly deep"),
    ("absurd-version", [_entry(name="manylinux_2_" + "9" * 30)], "a policy name must be"),
    ("bad-whitelist", [_entry(lib_whitelist="libc.so.6")], "lib_whitelist must be a list"),
    (
        "bad-versions",
        [_entry(symbol_versions={"x86_64": {"GLIBC": "2.17"}})],
        "GLIBC must be a list",
    ),
    (
        "space-in-version",
        [_entry(symbol_versions={"x86_64": {"GLIBC": ["2.2.5", "2.17 "]}})],
        "symbol_versions.x86_64.GLIBC: bad version '2.17 '",
    ),
    ("bad-blacklist", [_entry(blacklist=["libz.so.1"])], "'blacklist' must be an object"),
    ("linux-priority", [{"name": "linux", "priority": 5}], "priority 0 is reserved"),
    ("zero-priority", [_entry(priority=0)], "priority 0 is reserved"),
    ("same-priority", [_entry(priority=64)], "priority 64, which must be lower than 64"),
    ("out-of-order", [_entry(priority=70)], "priority 70, which must be lower than 64"),
    ("same-libc-version", [_entry(name="manylinux_02_28")], "are for the same libc version"),
    ("alias-clash", [_entry(aliases=["manylinux2014"])], "already used by 'manylinux_2_17'"),
    (
        "drops-library",
        [{"name": "manylinux_2_31", "lib_whitelist": ["libc.so.6"]}],
        "'manylinux_2_31' lacks whitelisted libraries of the older 'manylinux_2_5': libGL.so.1",
    ),
    (
        "drops-version",
        [_entry(symbol_versions={"x86_64": {"GLIBC": ["2.2.5"]}})],
        "'manylinux_2_30' lacks symbol versions on x86_64 of the older 'manylinux_2_5'",
    ),
    (
        "extra-library-in-one-policy-only",
        [{"name": "manylinux_2_28", "lib_whitelist_add": ["libcorp.so.4"]}],
        "'manylinux_2_31' lacks whitelisted libraries of the older 'manylinux_2_28': libcorp",
    ),
]


@pytest.mark.parametrize(
    ("document", "problem"), [b[1:] for b in BROKEN], ids=[b[0] for b in BROKEN]
)
def test_invalid_policy_files_name_the_file_and_the_problem(
    tmp_path: Path, document: Any, problem: str
) -> None:
    path = tmp_path / "bad.json"
    path.write_text(document if isinstance(document, str) else json.dumps(document), "utf-8")
    with pytest.raises(InvalidPolicyError) as caught:
        load_policies([path])
    assert problem in caught.value.message
    assert caught.value.path == str(path)
    assert isinstance(caught.value, ValueError)


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (b"\xff\xfe[\x00]\x00", "not UTF-8 (byte 0: invalid start byte)"),
        (
            b"[" + b" " * MAX_POLICY_FILE_BYTES + b"]",
            "larger than 16,777,216 bytes: not a policy file",
        ),
    ],
    ids=["utf-16", "too-big"],
)
def test_a_policy_file_that_is_no_text_or_too_big(
    tmp_path: Path, data: bytes, problem: str
) -> None:
    path = tmp_path / "bad.json"
    path.write_bytes(data)
    with pytest.raises(InvalidPolicyError) as caught:
        load_policies([path])
    assert (caught.value.message, caught.value.path) == (problem, str(path))


def test_a_symbol_version_with_an_absurd_number_is_a_marker_not_a_crash() -> None:
    """``GLIBC_2.999…`` (5000 digits) in a policy or an ELF file: never turned into an int."""
    absurd = SymbolVersion.parse("GLIBC_2." + "9" * 5000)
    assert absurd.number is None and absurd.namespace == "GLIBC"
    assert SymbolVersion.parse("GLIBC_2.999999999").number == (2, 999999999)


def test_missing_policy_file(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        load_policies([tmp_path / "nope.json"])


LOOKUPS = [
    ("manylinux_2_17", "manylinux_2_17", None),
    ("manylinux2014", "manylinux_2_17", None),
    ("manylinux_2_17_x86_64", "manylinux_2_17", "x86_64"),
    ("manylinux2014_ppc64", "manylinux_2_17", "ppc64"),
    ("manylinux1_i686", "manylinux_2_5", "i686"),
    ("musllinux_1_2_loongarch64", "musllinux_1_2", "loongarch64"),
    ("linux_riscv64", "linux", "riscv64"),
]


@pytest.mark.parametrize(("name", "policy", "arch"), LOOKUPS, ids=[x[0] for x in LOOKUPS])
def test_lookup(policies: PolicySet, name: str, policy: str, arch: str | None) -> None:
    match = policies.lookup(name)
    assert (match.policy.name, match.arch) == (policy, arch)


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("manylinux_2_99_x86_64", "unknown policy or platform tag"),
        ("manylinux1_aarch64", "manylinux_2_5 has no data for aarch64"),
        ("musllinux_1_1_loongarch64", "musllinux_1_1 has no data for loongarch64"),
    ],
)
def test_lookup_errors(policies: PolicySet, name: str, problem: str) -> None:
    assert policies.find("manylinux_2_99_x86_64") is None
    with pytest.raises(ManywheelError, match=problem):
        policies.lookup(name)


def test_for_arch(policies: PolicySet) -> None:
    assert [p.name for p in policies.for_arch("ppc64")] == ["manylinux_2_17", "linux"]
    loong = [p.name for p in policies.for_arch("loongarch64")]
    assert loong[:2] == ["musllinux_1_2", "manylinux_2_36"]


def test_whitelisted_found_or_not_is_the_same(policies: PolicySet) -> None:
    """A whitelisted library missing on the build machine is still guaranteed by the policy."""
    found = policies.evaluate(wheel(elf("a.so", use("libGL.so.1", Location.SYSTEM))))
    missing = policies.evaluate(wheel(elf("a.so", use("libGL.so.1", Location.NOT_FOUND))))
    assert found.best.tag == missing.best.tag == "manylinux_2_5_x86_64"
