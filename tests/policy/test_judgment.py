"""The verdict: every kind of culprit, the best tags, and what a repair changes."""

from __future__ import annotations

from dataclasses import replace
from types import MappingProxyType

import pytest

from manywheel.policy import (
    ElfRequirements,
    Libc,
    Location,
    PolicySet,
    PolicyVerdict,
    ReasonKind,
    Verdict,
    WheelRequirements,
    evaluate,
)
from tests.policy.builders import elf, needs, use, wheel

EXT = "pkg/_ext.cpython-311-x86_64-linux-gnu.so"
AEXT = "pkg/_ext.cpython-313-aarch64-linux-android.so"


def _android(elf: ElfRequirements, tag_level: int | None = None) -> WheelRequirements:
    return WheelRequirements("aarch64", Libc.ANDROID, (elf,), android_tag_level=tag_level)


def _verdict_for(policies: PolicySet, requirements: WheelRequirements, name: str) -> PolicyVerdict:
    judged = policies.evaluate(requirements).get(name)
    assert judged is not None
    return judged


# (kind, requirements, policy, expected culprit: file, library, version, symbols, repairable)
CULPRITS = [
    (
        ReasonKind.WRONG_LIBC,
        wheel(elf(EXT), libc=Libc.MUSL, musl=(1, 2)),
        "manylinux_2_17",
        (None, None, None, ()),
    ),
    (
        ReasonKind.ARCH_NOT_COVERED,
        wheel(elf(EXT), arch="aarch64"),
        "manylinux_2_5",
        (None, None, None, ()),
    ),
    (
        ReasonKind.MUSL_TOO_NEW,
        wheel(elf(EXT), libc=Libc.MUSL, musl=(1, 2)),
        "musllinux_1_1",
        (None, None, "musl 1.2", ()),
    ),
    (
        ReasonKind.MUSL_UNKNOWN,
        wheel(elf(EXT), libc=Libc.MUSL),
        "musllinux_1_2",
        (None, None, None, ()),
    ),
    (
        ReasonKind.NOT_WHITELISTED,
        wheel(elf(EXT, use("libssl.so.3", Location.SYSTEM, "OPENSSL_3.0.0"))),
        "manylinux_2_17",
        (EXT, "libssl.so.3", None, ()),
    ),
    (
        ReasonKind.LIBRARY_NOT_FOUND,
        wheel(elf(EXT, use("libmissing.so.1", Location.NOT_FOUND))),
        "manylinux_2_17",
        (EXT, "libmissing.so.1", None, ()),
    ),
    (
        ReasonKind.VERSION_TOO_NEW,
        wheel(elf(EXT, *needs("GLIBC_2.28"))),
        "manylinux_2_17",
        (EXT, "libc.so.6", "GLIBC_2.28", ("sym@GLIBC_2.28",)),
    ),
    (
        ReasonKind.VERSION_NOT_PROVIDED,
        wheel(elf(EXT, *needs("GLIBC_2.19"))),  # no x86_64 symbol has version GLIBC_2.19
        "manylinux_2_26",
        (EXT, "libc.so.6", "GLIBC_2.19", ("sym@GLIBC_2.19",)),
    ),
    (
        ReasonKind.VERSION_NOT_PROVIDED,
        wheel(elf(EXT, use("libc.so.6", Location.SYSTEM, "GLIBC_ABI_DT_RELR"))),
        "manylinux_2_35",
        (EXT, "libc.so.6", "GLIBC_ABI_DT_RELR", ("sym@GLIBC_ABI_DT_RELR",)),
    ),
    (
        ReasonKind.VERSION_UNKNOWN_NAMESPACE,
        wheel(elf(EXT, use("libz.so.1", Location.SYSTEM, "ZLIB_NG_2.1.0"))),
        "manylinux_2_41",
        (EXT, "libz.so.1", "ZLIB_NG_2.1.0", ("sym@ZLIB_NG_2.1.0",)),
    ),
    (
        ReasonKind.VERSION_PRIVATE,
        wheel(elf(EXT, use("ld-linux-x86-64.so.2", Location.SYSTEM, "GLIBC_PRIVATE"))),
        "manylinux_2_41",
        (EXT, "ld-linux-x86-64.so.2", "GLIBC_PRIVATE", ("sym@GLIBC_PRIVATE",)),
    ),
    (
        ReasonKind.BLACKLISTED_SYMBOL,
        wheel(elf(EXT, use("libz.so.1", symbols=frozenset({"deflate", "inflate_fast"})))),
        "manylinux_2_28",
        (EXT, "libz.so.1", None, ("inflate_fast",)),
    ),
    (
        ReasonKind.ISA_LEVEL,
        wheel(elf(EXT, isa_level=2)),
        "manylinux_2_28",
        (EXT, None, "x86-64-v2", ()),
    ),
    (
        ReasonKind.EXECUTABLE_STACK,
        wheel(elf(EXT, executable_stack=True)),
        "manylinux_2_28",
        (EXT, None, None, ()),
    ),
    (
        ReasonKind.LIBPYTHON,
        wheel(elf(EXT, use("libpython3.11.so.1.0"))),
        "manylinux_2_28",
        (EXT, "libpython3.11.so.1.0", None, ()),
    ),
    (
        ReasonKind.PYFPE_JBUF,
        wheel(elf(EXT, uses_pyfpe_jbuf=True)),
        "manylinux_2_5",
        (EXT, None, None, ("PyFPE_jbuf",)),
    ),
    (
        ReasonKind.UCS2,
        wheel(elf(EXT, uses_ucs2=True)),
        "manylinux_2_5",
        (EXT, None, None, ()),
    ),
    (
        ReasonKind.ANDROID_API_LEVEL,
        _android(ElfRequirements(AEXT, android_api_level=26)),
        "android_24",
        (AEXT, None, "API 26", ()),
    ),
    (
        ReasonKind.ANDROID_API_UNKNOWN,
        _android(ElfRequirements(AEXT), tag_level=24),
        "android_21",
        (AEXT, None, "API 24", ()),
    ),
    (
        ReasonKind.ANDROID_RUNPATH,
        _android(ElfRequirements(AEXT, android_api_level=21, runpath_in_wheel=True)),
        "android_21",
        (AEXT, None, "API 24", ()),
    ),
]


@pytest.mark.parametrize(
    ("kind", "requirements", "name", "culprit"),
    CULPRITS,
    ids=[f"{c[0].value}-{c[2]}" for c in CULPRITS],
)
def test_every_kind_of_culprit(
    policies: PolicySet,
    kind: ReasonKind,
    requirements: WheelRequirements,
    name: str,
    culprit: tuple[str | None, str | None, str | None, tuple[str, ...]],
) -> None:
    judged = _verdict_for(policies, requirements, name)
    assert [r.kind for r in judged.reasons] == [kind]
    (reason,) = judged.reasons
    assert (reason.file, reason.library, reason.version, reason.symbols) == culprit
    assert reason.repairable is (kind in {ReasonKind.NOT_WHITELISTED, ReasonKind.LIBPYTHON})
    assert judged.allowed_after_repair is reason.repairable
    assert "\n" not in reason.message
    for part in (reason.file, reason.library, reason.version):
        assert part is None or part in reason.message


def test_every_reason_kind_is_covered() -> None:
    assert {c[0] for c in CULPRITS} == set(ReasonKind)


def test_best_tag_with_aliases(policies: PolicySet) -> None:
    verdict = policies.evaluate(
        wheel(elf(EXT, *needs("GLIBC_2.17", "GLIBCXX_3.4.19", "GCC_4.2.0")))
    )
    assert verdict.best.tag == "manylinux_2_17_x86_64"
    assert verdict.best.alias_tags == ("manylinux2014_x86_64",)
    assert verdict.best_after_repair is verdict.best
    higher = [v for v in verdict.applicable if v.policy.priority > verdict.best.policy.priority]
    assert [v.policy.name for v in higher] == ["manylinux_2_5", "manylinux_2_12"]
    for judged in higher:  # GCC_4.2.0 is old enough for manylinux1
        assert {(r.kind, r.version) for r in judged.reasons} == {
            (ReasonKind.VERSION_TOO_NEW, "GLIBC_2.17"),
            (ReasonKind.VERSION_TOO_NEW, "GLIBCXX_3.4.19"),
        }


def test_linux_is_always_allowed_and_last(policies: PolicySet) -> None:
    verdict = policies.evaluate(wheel(elf(EXT, *needs("GLIBC_PRIVATE"), executable_stack=True)))
    assert verdict.best.tag == "linux_x86_64"
    assert verdict.policies[-1].policy.name == "linux"
    assert verdict.best_after_repair.tag == "linux_x86_64"


def test_verdicts_are_ordered_by_priority(policies: PolicySet) -> None:
    verdict = policies.evaluate(wheel(elf(EXT)))
    priorities = [v.policy.priority for v in verdict]
    assert priorities == sorted(priorities, reverse=True)
    assert len(verdict.policies) == len(policies)


def _graft_case() -> WheelRequirements:
    """The extension needs libfoo (not whitelisted), which needs libbar and GLIBC_2.28; libbar
    uses a symbol the older policies blacklist in libz."""
    libfoo = elf("/usr/lib64/libfoo.so.1.2", *needs("GLIBC_2.28"), use("libbar.so.2"))
    libbar = elf(
        "/usr/lib64/libbar.so.2",
        use("libz.so.1", symbols=frozenset({"longest_match"})),
    )
    ext = elf(EXT, *needs("GLIBC_2.17"), use("libfoo.so.1"))
    return wheel(ext, libraries={"libfoo.so.1": libfoo, "libbar.so.2": libbar})


def test_after_repair_judges_the_grafted_libraries(policies: PolicySet) -> None:
    verdict = policies.evaluate(_graft_case())
    assert verdict.best.tag == "linux_x86_64"
    assert verdict.best_after_repair.tag == "manylinux_2_36_x86_64"
    v2_28 = verdict.get("manylinux_2_28")
    assert v2_28 is not None
    assert [(r.kind, r.library) for r in v2_28.reasons] == [
        (ReasonKind.NOT_WHITELISTED, "libfoo.so.1")
    ]
    assert v2_28.grafts == ("libbar.so.2", "libfoo.so.1")
    (left,) = v2_28.reasons_after_repair
    assert (left.kind, left.file, left.library, left.symbol, left.grafted) == (
        ReasonKind.BLACKLISTED_SYMBOL, "/usr/lib64/libbar.so.2", "libz.so.1", "longest_match", True,
    )  # fmt: skip
    assert "(grafted)" in left.message
    v2_17 = verdict.get("manylinux2014")
    assert v2_17 is not None
    assert {(r.kind, r.file, r.version) for r in v2_17.reasons_after_repair} == {
        (ReasonKind.VERSION_TOO_NEW, "/usr/lib64/libfoo.so.1.2", "GLIBC_2.28"),
        (ReasonKind.BLACKLISTED_SYMBOL, "/usr/lib64/libbar.so.2", None),
    }


def test_a_whitelisted_soname_shipped_in_the_wheel_is_still_the_systems(
    policies: PolicySet,
) -> None:
    """Python's zlib module has the system libz.so.1 loaded already: the wheel's copy loses."""
    requirements = wheel(elf(EXT, use("libz.so.1", Location.WHEEL, "ZLIB_1.2.9")))
    judged = _verdict_for(policies, requirements, "manylinux_2_17")
    assert [(r.kind, r.version) for r in judged.reasons] == [
        (ReasonKind.VERSION_TOO_NEW, "ZLIB_1.2.9")
    ]


def test_libraries_inside_the_wheel_are_not_judged(policies: PolicySet) -> None:
    requirements = wheel(elf(EXT, use("libfoo.so.1", Location.WHEEL, "FOO_9.0", "GLIBC_2.99")))
    assert policies.evaluate(requirements).best.tag == "manylinux_2_5_x86_64"


def test_dynamic_loader_versions_are_judged(policies: PolicySet) -> None:
    ldso = use("ld-linux-x86-64.so.2", Location.SYSTEM, "GLIBC_2.35")
    verdict = policies.evaluate(wheel(elf(EXT, ldso)))
    assert verdict.best.tag == "manylinux_2_35_x86_64"


def test_musl_wheel_best_tag(policies: PolicySet) -> None:
    libc = use("libc.musl-x86_64.so.1")
    tagged_1_1 = policies.evaluate(wheel(elf(EXT, libc), libc=Libc.MUSL, musl=(1, 1)))
    tagged_1_2 = policies.evaluate(wheel(elf(EXT, libc), libc=Libc.MUSL, musl=(1, 2)))
    assert tagged_1_1.best.tag == "musllinux_1_1_x86_64"
    assert tagged_1_2.best.tag == "musllinux_1_2_x86_64"
    assert policies.evaluate(wheel(elf(EXT, libc), libc=Libc.MUSL)).best.tag == "linux_x86_64"


def test_musl_policies_do_not_judge_symbol_versions(policies: PolicySet) -> None:
    requirements = wheel(
        elf(EXT, use("libz.so.1", Location.SYSTEM, "ZLIB_1.2.9")), libc=Libc.MUSL, musl=(1, 2)
    )
    assert policies.evaluate(requirements).best.tag == "musllinux_1_2_x86_64"


def test_grafted_library_without_facts_is_logged(
    policies: PolicySet, caplog: pytest.LogCaptureFixture
) -> None:
    verdict = policies.evaluate(wheel(elf(EXT, use("libfoo.so.1"))))
    assert verdict.best_after_repair.tag == "manylinux_2_5_x86_64"
    assert "libfoo.so.1" in caplog.text


def test_evaluate_needs_the_linux_policy(policies: PolicySet) -> None:
    with pytest.raises(ValueError, match="linux"):
        evaluate([p for p in policies if not p.is_generic], wheel(elf(EXT)))


def test_get_accepts_names_aliases_and_tags(policies: PolicySet) -> None:
    verdict: Verdict = policies.evaluate(wheel(elf(EXT)))
    for name in (
        "manylinux_2_17",
        "manylinux2014",
        "manylinux_2_17_x86_64",
        "manylinux2014_x86_64",
    ):
        judged = verdict.get(name)
        assert judged is not None
        assert judged.policy.name == "manylinux_2_17"
    assert verdict.get("manylinux_2_17_aarch64") is None


def test_requirements_are_plain_values() -> None:
    first = ElfRequirements("a.so", (use("libc.so.6", Location.SYSTEM, "GLIBC_2.17"),))
    second = ElfRequirements("a.so", (use("libc.so.6", Location.SYSTEM, "GLIBC_2.17"),))
    assert first == second


def test_private_versions_are_reasons_even_where_versions_are_not_listed(
    policies: PolicySet,
) -> None:
    requirements = wheel(
        elf(EXT, use("libc.so", Location.SYSTEM, "GLIBC_PRIVATE", "FOO_1.0")),
        libc=Libc.MUSL,
        musl=(1, 2),
    )
    judged = _verdict_for(policies, requirements, "musllinux_1_2")
    assert [(r.kind, r.version) for r in judged.reasons] == [
        (ReasonKind.VERSION_PRIVATE, "GLIBC_PRIVATE")
    ]


def test_private_versions_are_reasons_even_when_a_policy_lists_them(policies: PolicySet) -> None:
    """A policy whose data lists ``GLIBC_PRIVATE`` still refuses it: private interfaces are no
    policy's to grant (the fast path for provided versions must not skip it)."""
    shipped, linux = policies.get("manylinux_2_17"), policies.get("linux")
    assert shipped is not None and linux is not None
    versions = shipped.versions("x86_64")
    listing = replace(versions, names=versions.names | {"GLIBC_PRIVATE"})
    policy = replace(shipped, symbol_versions=MappingProxyType({"x86_64": listing}))
    requirements = wheel(elf(EXT, use("libc.so.6", Location.SYSTEM, "GLIBC_PRIVATE", "GLIBC_2.5")))
    judged = evaluate((policy, linux), requirements).policies[0]
    assert [(r.kind, r.version) for r in judged.reasons] == [
        (ReasonKind.VERSION_PRIVATE, "GLIBC_PRIVATE")
    ]
