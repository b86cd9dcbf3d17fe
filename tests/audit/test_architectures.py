"""Architecture and libc come from the wheel, never from this x86_64 glibc host: extensions
built by cross compilers (with a stub libc, no target sysroot needed) and by musl-gcc."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass

import pytest

from manywheel.audit import Where, audit_wheel
from manywheel.policy import Libc, ReasonKind
from manywheel.report import auditwheel_json
from tests.audit.builders import EXT, Builder
from tests.harness.availability import skip_or_fail


@dataclass(frozen=True, slots=True)
class Cross:
    compiler: str
    arch: str
    #: The best tag as it is (the oldest policy with data for the architecture).
    best: str
    #: The extension-module suffix's triplet.
    triplet: str
    #: The architecture may run with 64 KiB pages (a 4 KiB LOAD alignment is reported).
    large_pages: bool


CROSS = [
    Cross("aarch64-linux-gnu-gcc", "aarch64", "manylinux_2_17_aarch64", "aarch64-linux-gnu", True),
    Cross("powerpc64le-linux-gnu-gcc", "ppc64le", "manylinux_2_17_ppc64le",
          "powerpc64le-linux-gnu", True),
    Cross("s390x-linux-gnu-gcc", "s390x", "manylinux_2_17_s390x", "s390x-linux-gnu", False),
    Cross("i686-linux-gnu-gcc", "i686", "manylinux_2_5_i686", "i386-linux-gnu", False),
    Cross("riscv64-linux-gnu-gcc", "riscv64", "manylinux_2_31_riscv64", "riscv64-linux-gnu", False),
]  # fmt: skip


@pytest.mark.parametrize("cross", CROSS, ids=[c.arch for c in CROSS])
def test_foreign_architecture(build: Builder, cross: Cross) -> None:
    ext = build.cross_extension(cross.compiler, "cross")
    files = {f"cross.cpython-311-{cross.triplet}.so": ext}
    wheel = build.wheel("cross", files, f"linux_{cross.arch}")
    report = audit_wheel(wheel)
    assert (report.arch, report.libc) == (cross.arch, Libc.GLIBC)
    assert report.best is not None and report.best.tag == cross.best
    (member,) = report.members
    assert member.role.value == "extension"
    assert member.low_alignment is cross.large_pages
    # the host's libc.so.6 is x86_64: rejected, so not found; whitelisted, so not held against it
    assert [(n.soname, n.where) for n in member.needed] == [("libc.so.6", Where.NOT_FOUND)]
    assert auditwheel_json(report, wheel.name)["external_libs"] == {}


def test_x86_64_member_in_an_aarch64_wheel_is_ignored(build: Builder) -> None:
    arm = build.cross_extension("aarch64-linux-gnu-gcc", "arm")
    x86 = build.extension("stray", 'puts("x")', prelude="#include <stdio.h>")
    files = {"arm.cpython-311-aarch64-linux-gnu.so": arm, f"stray{EXT}": x86}
    report = audit_wheel(build.wheel("mixed", files, "linux_aarch64"))
    assert report.arch == "aarch64"
    assert [m.member for m in report.members] == ["arm.cpython-311-aarch64-linux-gnu.so"]
    assert [i.member for i in report.ignored] == [f"stray{EXT}"]


def _musl_extension(build: Builder) -> bytes:
    if shutil.which("musl-gcc") is None:
        skip_or_fail("musl-gcc is not installed (musl-tools)")
    c = build.work / "m.c"
    c.write_text('#include <stdio.h>\nvoid *PyInit_m(void) { puts("x"); return 0; }\n')
    so = build.work / "m.so"
    subprocess.run(["musl-gcc", "-shared", "-fPIC", "-o", str(so), str(c)], check=True)
    return so.read_bytes()


@pytest.mark.parametrize("platform", ["musllinux_1_1_x86_64", "musllinux_1_2_x86_64"])
def test_musl_version_from_the_tag(build: Builder, platform: str) -> None:
    wheel = build.wheel(
        "m", {"m.cpython-311-x86_64-linux-musl.so": _musl_extension(build)}, platform
    )
    report = audit_wheel(wheel)
    assert report.libc is Libc.MUSL
    assert report.best is not None and report.best.tag == platform


def test_untagged_musl_wheel_takes_the_musl_it_resolves_to(build: Builder) -> None:
    """No musllinux tag: the musl version is read from the musl libc the extension resolves to
    in the audited system (here musl-gcc's musl 1.2), so musllinux_1_1 is refused for it."""
    wheel = build.wheel("m", {"m.cpython-311-x86_64-linux-musl.so": _musl_extension(build)})
    report = audit_wheel(wheel)
    assert report.libc is Libc.MUSL
    assert report.requirements is not None and report.requirements.musl_version == (1, 2)
    assert report.best is not None and report.best.tag == "musllinux_1_2_x86_64"
    refused = report.verdict.get("musllinux_1_1") if report.verdict else None
    assert refused is not None
    assert [r.kind for r in refused.reasons] == [ReasonKind.MUSL_TOO_NEW]
