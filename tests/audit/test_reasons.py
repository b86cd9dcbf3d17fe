"""One gcc-built fixture wheel per kind of reason: the audit finds it, names its culprit, and the
verdict as it is and after repair follows."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from manywheel.audit import AuditOptions, AuditReport, Where, audit_wheel, refusals
from manywheel.policy import ReasonKind
from tests.audit.builders import EXT, Builder

STDIO = "#include <stdio.h>"


def _audit(wheel: Path, build: Builder, **options: object) -> AuditReport:
    opts = AuditOptions(extra_ldpaths=(str(build.libdir),), **options)  # type: ignore[arg-type]
    return audit_wheel(wheel, options=opts)


def _kinds(report: AuditReport) -> set[ReasonKind]:
    assert report.verdict is not None
    return {r.kind for v in report.verdict.applicable for r in v.reasons}


def test_clean_extension_is_manylinux_2_5(build: Builder) -> None:
    ext = build.extension("clean", 'puts("hi")', prelude=STDIO)
    report = _audit(build.wheel("clean", {f"clean{EXT}": ext}), build)
    assert report.best is not None and report.best.tag == "manylinux_2_5_x86_64"
    assert refusals(report) == ()
    (member,) = report.members
    assert member.role.value == "extension"
    assert {n.soname: n.where for n in member.needed} == {"libc.so.6": Where.SYSTEM}


def test_library_outside_the_wheel_is_grafted_after_repair(build: Builder) -> None:
    build.library("libfoo.so.1", "int foo(void) { return 1; }")
    ext = build.extension("usesfoo", "foo()", prelude="int foo(void);", links=["-lfoo"])
    report = _audit(build.wheel("usesfoo", {f"usesfoo{EXT}": ext}), build)
    assert report.best is not None and report.best.tag == "linux_x86_64"
    assert report.best_after_repair is not None
    assert report.best_after_repair.tag == "manylinux_2_5_x86_64"
    assert report.best_after_repair.grafts == ("libfoo.so.1",)
    assert ReasonKind.NOT_WHITELISTED in _kinds(report)
    (external,) = [e for e in report.external if e.soname == "libfoo.so.1"]
    assert external.realpath == str(build.libdir / "libfoo.so.1")


def test_library_not_found_keeps_linux_even_after_repair(build: Builder) -> None:
    build.library("libgone.so.1", "int gone(void) { return 1; }")
    ext = build.extension("usesgone", "gone()", prelude="int gone(void);", links=["-lgone"])
    wheel = build.wheel("usesgone", {f"usesgone{EXT}": ext})
    (build.libdir / "libgone.so.1").unlink()
    report = _audit(wheel, build)
    assert report.best_after_repair is not None
    assert report.best_after_repair.tag == "linux_x86_64"
    assert ReasonKind.LIBRARY_NOT_FOUND in _kinds(report)
    assert report.members[0].needed[0].where is Where.NOT_FOUND


def test_newer_glibc_symbol_is_named(build: Builder) -> None:
    ext = build.extension("rand", "arc4random()", prelude="#include <stdlib.h>")
    report = _audit(build.wheel("rand", {f"rand{EXT}": ext}), build)
    assert report.best is not None and report.best.tag == "manylinux_2_36_x86_64"
    refused = report.verdict.get("manylinux_2_35") if report.verdict else None
    assert refused is not None
    (reason,) = refused.reasons
    assert (reason.kind, reason.version, reason.symbols) == (
        ReasonKind.VERSION_TOO_NEW,
        "GLIBC_2.36",
        ("arc4random",),
    )


def test_isa_level_refuses_and_can_be_disabled(build: Builder) -> None:
    flags = ["-march=x86-64-v3", "-mneeded"]
    ext = build.extension("avx", 'puts("hi")', prelude=STDIO, flags=flags)
    wheel = build.wheel("avx", {f"avx{EXT}": ext})
    report = _audit(wheel, build)
    assert report.members[0].elf.x86_isa_level is not None
    assert int(report.members[0].elf.x86_isa_level) == 3
    assert ReasonKind.ISA_LEVEL in _kinds(report)
    assert report.best is not None and report.best.tag == "linux_x86_64"
    relaxed = _audit(wheel, build, check_isa=False)
    assert relaxed.best is not None and relaxed.best.tag == "manylinux_2_5_x86_64"


def test_executable_stack_is_a_reason(build: Builder) -> None:
    ext = build.extension("stack", 'puts("hi")', prelude=STDIO, flags=["-Wl,-z,execstack"])
    report = _audit(build.wheel("stack", {f"stack{EXT}": ext}), build)
    assert report.members[0].elf.executable_stack
    assert ReasonKind.EXECUTABLE_STACK in _kinds(report)


def test_libpython_link_is_repairable(build: Builder) -> None:
    build.library("libpython3.11.so.1.0", "int Py_IsInitialized(void) { return 1; }")
    ext = build.extension(
        "embeds", "Py_IsInitialized()", prelude="int Py_IsInitialized(void);",
        links=["-l:libpython3.11.so.1.0"],
    )  # fmt: skip
    report = _audit(build.wheel("embeds", {f"embeds{EXT}": ext}), build)
    assert report.members[0].libpython == "libpython3.11.so.1.0"
    assert ReasonKind.LIBPYTHON in _kinds(report)
    assert report.best_after_repair is not None
    assert report.best_after_repair.tag == "manylinux_2_5_x86_64"


def test_build_machine_rpath_is_reported(build: Builder) -> None:
    flags = ["-Wl,-rpath,/home/builder/lib:$ORIGIN/pkg.libs", "-Wl,--disable-new-dtags"]
    ext = build.extension("rp", 'puts("hi")', prelude=STDIO, flags=flags)
    report = _audit(build.wheel("rp", {f"rp{EXT}": ext}), build)
    assert report.members[0].foreign_rpaths == ("/home/builder/lib",)


def test_one_stray_executable_is_named_as_the_holdout(build: Builder) -> None:
    build.library("libgone.so.1", "int gone(void) { return 1; }")
    tool = build.executable("tool", "gone()", links=["-lgone"])
    ext = build.extension("good", 'puts("hi")', prelude=STDIO)
    files = {f"good{EXT}": ext, "good-1.0.data/scripts/tool": tool}
    wheel = build.wheel("good", files)
    (build.libdir / "libgone.so.1").unlink()
    report = _audit(wheel, build)
    assert {m.member: m.role.value for m in report.members} == {
        f"good{EXT}": "extension",
        "good-1.0.data/scripts/tool": "executable",
    }
    assert [(h.member, h.with_it, h.without_it) for h in report.holdouts] == [
        ("good-1.0.data/scripts/tool", "linux_x86_64", "manylinux_2_5_x86_64")
    ]


def test_aarch64_wheel_on_this_host(build: Builder) -> None:
    """Architecture from the wheel: the host's x86_64 libc is not the wheel's, so libc resolves
    nowhere, and that is not held against a whitelisted library; 4 KiB LOAD alignment is."""
    stub = build.work / "aarch64"
    stub.mkdir()
    (stub / "libc.c").write_text("int puts(const char *s) { return 0; }\n")
    arm = ["-nostdlib", "-Wl,-z,max-page-size=4096", "-Wl,-z,common-page-size=4096"]
    build.gcc(
        [*arm, "-shared", "-fPIC", "-Wl,-soname,libc.so.6", "-o", str(stub / "libc.so.6"),
         str(stub / "libc.c")],
        compiler="aarch64-linux-gnu-gcc",
    )  # fmt: skip
    ext = build.extension(
        "arm", 'puts("hi")', prelude="int puts(const char *);", compiler="aarch64-linux-gnu-gcc",
        flags=[*arm, f"-L{stub}", "-l:libc.so.6"],
    )  # fmt: skip
    report = _audit(build.wheel("arm", {"arm.cpython-311-aarch64-linux-gnu.so": ext}), build)
    assert report.arch == "aarch64"
    assert report.best is not None and report.best.tag == "manylinux_2_17_aarch64"
    (member,) = report.members
    assert member.low_alignment
    assert [n.where for n in member.needed] == [Where.NOT_FOUND]


def test_elf_in_purelib_and_record_findings(build: Builder) -> None:
    ext = build.extension("pl", 'puts("hi")', prelude=STDIO)
    wheel = build.wheel("pl", {"pl-1.0.data/purelib/pl.so": ext, "pl/__init__.py": b"x = 1\n"})
    (wheel.parent / "tampered").mkdir()
    tampered = wheel.parent / "tampered" / wheel.name
    with zipfile.ZipFile(wheel) as src, zipfile.ZipFile(tampered, "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            dst.writestr(info, b"x = 2\n" if info.filename == "pl/__init__.py" else data)
    report = audit_wheel(wheel)
    assert report.purelib_elves == ("pl-1.0.data/purelib/pl.so",)
    assert report.findings == ()
    assert audit_wheel(tampered).findings != ()


@pytest.mark.parametrize("tags", ["py3-none-any", "py2.py3-none-any"], ids=["py3", "universal"])
def test_pure_wheel(build: Builder, tags: str) -> None:
    from tests.harness.extensions import write_wheel

    wheel = write_wheel(build.work, "pure", "1.0", tags, {"pure/__init__.py": b""})
    report = audit_wheel(wheel)
    assert report.pure and report.verdict is None and report.members == ()
