"""Conformance with auditwheel 6.8.2 on real wheels: for each pinned wheel, ``auditwheel show
--json`` and manywheel's schema-1 document agree on every field (best tag as it is, symbol tag,
versioned symbols, external libraries, policy upgrades, ...). Every disagreement is listed in
``IMPROVEMENTS`` with the reason manywheel is right; a listed difference that stops happening
fails too, so the list stays true."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import jsonschema
import pytest

from manywheel.audit import audit_wheel
from manywheel.report import auditwheel_json
from tests.audit.real_wheels import RealWheel, auditwheel_show, fetch

SCHEMA = json.loads((Path(__file__).parent / "data" / "auditwheel-show-schema.json").read_text())

X86_64 = "manylinux_2_28_x86_64"
AARCH64 = "manylinux_2_28_aarch64"
MUSL = "musllinux_1_2_x86_64"

WHEELS = [
    *(
        RealWheel(r, X86_64)
        for r in (
            "numpy==1.26.4",
            "scipy==1.14.1",
            "pillow==11.0.0",
            "lxml==5.3.0",
            "cryptography==43.0.3",
            "psycopg2-binary==2.9.10",
            "h5py==3.12.1",
            "pandas==2.2.3",
            "shapely==2.0.6",
            "pyzmq==26.2.0",
            "opencv-python-headless==4.10.0.84",
            "psutil==6.1.0",
            "grpcio==1.68.0",
            "matplotlib==3.9.2",
            "scikit-learn==1.5.2",
            "orjson==3.10.11",
            "msgpack==1.1.0",
            "cffi==1.17.1",
            "markupsafe==3.0.2",
            "ujson==5.10.0",
            "regex==2024.11.6",
            "kiwisolver==1.4.7",
            "pyarrow==18.0.0",
            "PyYAML==6.0.2",
        )
    ),
    *(
        RealWheel(r, AARCH64)
        for r in (
            "numpy==1.26.4",
            "PyYAML==6.0.2",
            "pillow==11.0.0",
            "cryptography==43.0.3",
            "lxml==5.3.0",
            "psycopg2-binary==2.9.10",
        )
    ),
    *(
        RealWheel(r, MUSL)
        for r in (
            "numpy==2.1.3",
            "pillow==11.0.0",
            "cryptography==43.0.3",
            "lxml==5.3.0",
            "psutil==7.2.0",
            "PyYAML==6.0.2",
        )
    ),
    RealWheel("orjson==3.10.11", "musllinux_1_2_aarch64"),
    RealWheel("PyYAML==6.0.2", "musllinux_1_2_aarch64"),
    RealWheel("PyYAML==6.0.2", "manylinux_2_17_s390x"),
    RealWheel("markupsafe==3.0.2", "manylinux_2_17_i686"),
    RealWheel("msgpack==1.1.0", "manylinux_2_17_i686"),
]
TORCH = RealWheel("torch==2.13.0+cpu", X86_64)


@dataclass(frozen=True, slots=True)
class Improvement:
    """A deliberate difference: the field, manywheel's value, auditwheel's, and why."""

    field: str
    ours: object
    theirs: object
    why: str


_MUSL_1_1_WHY = (
    "auditwheel knows one musllinux policy at a time: the host's musl version, or the latest it "
    "knows (1.2) on a glibc host. musl has no symbol versions, so the musl version a wheel needs "
    "comes from its own tag (it was built in a musllinux_1_1 image): manywheel keeps "
    "musllinux_1_1, which the wheel truthfully claims and is wider."
)


def _musl_1_1(arch: str) -> tuple[Improvement, ...]:
    ours, theirs = f"musllinux_1_1_{arch}", f"musllinux_1_2_{arch}"
    return tuple(
        Improvement(field, ours, theirs, _MUSL_1_1_WHY) for field in ("overall_tag", "sym_tag")
    )


_LIBC_SO = (
    "Rust's musl target links `libc.so`, which on a musl system is the dynamic loader itself "
    "(musl's libc.so is ld-musl). auditwheel rewrites the whitelist's libc.so to "
    "libc.musl-<arch>.so.1, so the NEEDED `libc.so` becomes an external library that is not "
    "found and the wheel drops to linux; manywheel counts it as the loader."
)

#: Wheel id -> the deliberate differences on it.
IMPROVEMENTS: dict[str, tuple[Improvement, ...]] = {
    "PyYAML==6.0.2-musllinux_1_2_x86_64": _musl_1_1("x86_64"),
    "PyYAML==6.0.2-musllinux_1_2_aarch64": _musl_1_1("aarch64"),
    "numpy==2.1.3-musllinux_1_2_x86_64": _musl_1_1("x86_64"),
    "orjson==3.10.11-musllinux_1_2_aarch64": (
        Improvement("overall_tag", "musllinux_1_2_aarch64", "linux_aarch64", _LIBC_SO),
        Improvement("external_libs", {}, {"libc.so": None}, _LIBC_SO),
        Improvement(
            "policy_upgrades", {}, {"musllinux_1_2_aarch64": {"libs_to_eliminate": ["libc.so"]}},
            _LIBC_SO,
        ),
    ),
}  # fmt: skip

#: Every field of the schema-1 document but the wheel's name.
FIELDS = (
    "pure",
    "overall_tag",
    "sym_tag",
    "pyfpe",
    "ucs2",
    "unsupported_isa",
    "versioned_symbols",
    "external_libs",
    "policy_upgrades",
)


def _compare(wheel: RealWheel) -> None:
    path = fetch(wheel)
    theirs = auditwheel_show(path)
    ours = auditwheel_json(audit_wheel(path), path.name)
    jsonschema.validate(ours, SCHEMA)
    expected = {i.field: i for i in IMPROVEMENTS.get(wheel.id, ())}
    for field in FIELDS:
        improvement = expected.get(field)
        if improvement is None:
            assert ours[field] == theirs[field], (
                f"{field}: manywheel {ours[field]!r}, auditwheel {theirs[field]!r}"
            )
        else:
            assert (ours[field], theirs[field]) == (improvement.ours, improvement.theirs), (
                improvement.why
            )


@pytest.mark.network
@pytest.mark.slow
@pytest.mark.parametrize("wheel", WHEELS, ids=[w.id for w in WHEELS])
def test_same_verdict_as_auditwheel(wheel: RealWheel) -> None:
    _compare(wheel)


@pytest.mark.slow
def test_torch_against_auditwheel() -> None:
    """Both call torch linux_x86_64 as it is; manywheel also names the one test binary that
    holds it there (auditwheel says nothing about why)."""
    _compare(TORCH)
    report = audit_wheel(fetch(TORCH))
    assert [(h.member, h.with_it, h.without_it) for h in report.holdouts] == [
        ("torch/bin/test_shim", "linux_x86_64", "manylinux_2_28_x86_64")
    ]
    assert len(report.members) == 136


def test_the_list_is_long_enough() -> None:
    assert len(WHEELS) + 1 >= 40
    assert len({w.platform.split("_")[0] for w in WHEELS}) == 2
    archs = {"x86_64", "aarch64", "i686", "s390x"}
    assert {a for w in WHEELS for a in archs if w.platform.endswith(a)} == archs
