"""Android wheels audited: the gcc-built cases on both ABIs, auditwheel's NDK-built wheel and
real Android wheels from PyPI — each verdict stated, and each compared with auditwheel 6.8.2's
``show --json`` field by field, every difference listed with its reason."""

from __future__ import annotations

from pathlib import Path

import jsonschema
import pytest

from manywheel.audit import AuditOptions, AuditReport, audit_wheel
from manywheel.policy import Libc, ReasonKind
from manywheel.report import auditwheel_json
from tests.audit.real_wheels import auditwheel_show
from tests.audit.test_fixtures_against_auditwheel import SCHEMA
from tests.fixtures.android.build import ABIS, Case
from tests.fixtures.android.cases import (
    AUDITWHEEL_LDPATHS,
    AUDITWHEEL_SPAM,
    android_cases,
    real_android_wheel,
)

__all__ = ["android_cases"]  # the fixture, imported for pytest

#: case -> (API level of the best tag as it is, after repair); None: only ``linux``.
EXPECTED: dict[str, tuple[int | None, int | None]] = {
    "clean": (24, 24),
    # its note says 21 and it needs LIBC only: the lowest level it supports is 21
    "built-lower": (21, 21),
    # catopen is LIBC_O: API 26, whatever the tag says
    "newer-libc": (26, 26),
    # no note: nothing below the tag's 24
    "no-note": (24, 24),
    # libfoo.so is grafted, which takes DT_RUNPATH: API 24
    "graft": (None, 24),
    # finds its own library through DT_RUNPATH: API 24
    "runpath-in-wheel": (24, 24),
    # through DT_RPATH, which Bionic ignores: the library is never found
    "rpath-ignored": (None, None),
    # libaaudio.so is public from API 26
    "platform-library": (26, 26),
}

#: Deliberate differences from auditwheel: case -> field -> (ours, auditwheel's), with levels for
#: tags (None: ``linux``). auditwheel judges an Android wheel against its tag's level only and
#: keeps that tag; it reads no note and no Bionic symbol version and follows DT_RPATH.
DIFFERENCES: dict[str, dict[str, tuple[object, object]]] = {
    # sym_tag is the lowest level the Bionic versions allow (LIBC alone: 21), auditwheel's the tag's
    "clean": {"sym_tag": (21, 24)},
    "built-lower": {"overall_tag": (21, 24), "sym_tag": (21, 24)},
    "newer-libc": {"overall_tag": (26, 24), "sym_tag": (26, 24)},
    "no-note": {"sym_tag": (21, 24)},
    # the grafted libfoo.so needs LIBC_N (getifaddrs): 24 once grafted
    "graft": {"sym_tag": (24, 21)},
    "runpath-in-wheel": {"overall_tag": (24, 21)},
    "rpath-ignored": {
        "overall_tag": (None, 24),
        "sym_tag": (21, 24),
        "external_libs": ({"libold.so": None}, {}),
        "policy_upgrades": ({"libs_to_eliminate": ["libold.so"]}, None),
    },
    "platform-library": {"overall_tag": (26, None), "sym_tag": (21, 24)},
}
FIELDS = (
    "overall_tag",
    "sym_tag",
    "external_libs",
    "versioned_symbols",
    "pyfpe",
    "ucs2",
    "unsupported_isa",
    "policy_upgrades",
)


def _tag(level: int | None, abi: str) -> str:
    return f"linux_{ABIS[abi].arch}" if level is None else f"android_{level}_{abi}"


def _abi(case: Case) -> str:
    return next(abi for abi in ABIS if case.wheel.name.endswith(f"_{abi}.whl"))


def _level(report: AuditReport, after: bool) -> int | None:
    verdict = report.best_after_repair if after else report.best
    assert verdict is not None
    return verdict.policy.api_level


def _compare(
    wheel: Path, libdir: Path | None, differences: dict[str, tuple[object, object]]
) -> None:
    """Ours and auditwheel's documents agree on every field but the listed ones; the document
    validates against auditwheel's schema. ``policy_upgrades`` is compared for the wheel's tag:
    auditwheel judges no other Android policy."""
    env = {} if libdir is None else {"AUDITWHEEL_LD_LIBRARY_PATH": str(libdir)}
    theirs = auditwheel_show(wheel, remember=False, extra_env=env)
    options = AuditOptions(extra_ldpaths=() if libdir is None else (str(libdir),))
    ours = auditwheel_json(audit_wheel(wheel, options=options), wheel.name)
    jsonschema.validate(ours, SCHEMA)
    tag = wheel.name.rsplit("-", 1)[1].removesuffix(".whl")
    pairs = {
        f: (ours[f], theirs[f]) if f != "policy_upgrades" else (
            ours[f].get(tag), theirs[f].get(tag)  # type: ignore[attr-defined]
        )
        for f in FIELDS
    }  # fmt: skip
    assert {f: pairs[f] for f in differences} == differences
    assert {f: p for f, p in pairs.items() if f not in differences and p[0] != p[1]} == {}


def test_every_case_is_judged_as_stated(android_cases: dict[str, Case]) -> None:
    assert set(android_cases) == set(EXPECTED)
    got = {}
    for name, case in android_cases.items():
        report = audit_wheel(case.wheel, options=AuditOptions(extra_ldpaths=(str(case.libdir),)))
        assert report.libc is Libc.ANDROID
        got[name] = (_level(report, after=False), _level(report, after=True))
    assert got == EXPECTED


def test_reasons_name_the_cause(android_cases: dict[str, Case]) -> None:
    def reasons(name: str, policy: str) -> set[tuple[ReasonKind, str | None]]:
        case = android_cases[name]
        report = audit_wheel(case.wheel, options=AuditOptions(extra_ldpaths=(str(case.libdir),)))
        assert report.verdict is not None
        judged = report.verdict.get(policy)
        assert judged is not None
        return {(r.kind, r.version) for r in judged.reasons_after_repair}

    assert reasons("clean", "android_21") == {(ReasonKind.ANDROID_API_LEVEL, "API 24")}
    assert reasons("newer-libc", "android_24") == {(ReasonKind.VERSION_TOO_NEW, "LIBC_O")}
    assert reasons("no-note", "android_21") == {(ReasonKind.ANDROID_API_UNKNOWN, "API 24")}
    assert reasons("graft", "android_21") == {  # the grafting, and the grafted libfoo.so's
        (ReasonKind.ANDROID_RUNPATH, "API 24"),
        (ReasonKind.ANDROID_API_LEVEL, "API 24"),
        (ReasonKind.VERSION_TOO_NEW, "LIBC_N"),
    }
    assert reasons("runpath-in-wheel", "android_21") == {(ReasonKind.ANDROID_RUNPATH, "API 24")}
    assert reasons("platform-library", "android_24") == {(ReasonKind.LIBRARY_NOT_FOUND, None)}


def test_members_resolve_as_bionic_does(android_cases: dict[str, Case]) -> None:
    inwheel = audit_wheel(android_cases["runpath-in-wheel"].wheel)
    (member,) = [m for m in inwheel.members if m.role.value == "extension"]
    by_name = {n.soname: (n.where.value, n.rule) for n in member.needed}
    assert by_name["libin.so"] == ("wheel", "runpath")
    assert by_name["libpython3.13.so"] == ("platform", "platform")
    assert member.libpython is None  # linking libpython is normal on Android: nothing to remove
    ignored = audit_wheel(android_cases["rpath-ignored"].wheel)
    (ext,) = [m for m in ignored.members if m.role.value == "extension"]
    assert {n.soname: n.where.value for n in ext.needed}["libold.so"] == "not-found"


@pytest.mark.slow
def test_cases_against_auditwheel(android_cases: dict[str, Case]) -> None:
    for name, case in android_cases.items():
        abi = _abi(case)
        differences = {
            field: tuple(_tag(v, abi) if field.endswith("_tag") else v for v in pair)  # type: ignore[arg-type]
            for field, pair in DIFFERENCES[name].items()
        }
        _compare(case.wheel, case.libdir, differences)  # type: ignore[arg-type]


@pytest.mark.slow
@pytest.mark.network
@pytest.mark.parametrize("abi", sorted(ABIS))
def test_real_wheel_against_auditwheel(abi: str) -> None:
    """markupsafe 3.0.4 from PyPI: built by the NDK r27d for API 24 (its note), LIBC only."""
    wheel = real_android_wheel(abi)
    report = audit_wheel(wheel)
    assert report.best is not None and report.best_after_repair is not None
    assert (report.best.tag, report.best_after_repair.tag) == (f"android_24_{abi}",) * 2
    (member,) = report.members
    assert member.elf.android is not None
    assert (member.elf.android.api_level, member.elf.android.ndk_version) == (24, "r27d")
    _compare(wheel, None, {"sym_tag": (f"android_21_{abi}", f"android_24_{abi}")})


@pytest.mark.slow
def test_ndk_built_wheel_against_auditwheel() -> None:
    """auditwheel's own NDK-built wheel: its extension says API 21, libc++_shared.so (API 24)
    is grafted, which takes DT_RUNPATH: android_24 after repair, as its tag says."""
    libdir = AUDITWHEEL_LDPATHS / "env"
    report = audit_wheel(AUDITWHEEL_SPAM, options=AuditOptions(extra_ldpaths=(str(libdir),)))
    assert report.best is not None and report.best_after_repair is not None
    assert (report.best.tag, report.best_after_repair.tag) == (
        "linux_aarch64",
        "android_24_arm64_v8a",
    )
    assert report.verdict is not None
    judged = report.verdict.get("android_24")
    assert judged is not None and judged.grafts == ("libc++_shared.so",)
    _compare(AUDITWHEEL_SPAM, libdir, {"sym_tag": ("android_21_arm64_v8a", "android_24_arm64_v8a")})
