"""The gcc-built fixture wheels shown by auditwheel 6.8.2 and by manywheel: the same schema-1
document fields that decide the tag (overall_tag, sym_tag, external_libs, policy_upgrades'
blacklisted symbols, unsupported_isa)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import jsonschema
import pytest

from manywheel.audit import AuditOptions, audit_wheel
from manywheel.report import auditwheel_json
from tests.audit.builders import EXT, Builder
from tests.audit.real_wheels import auditwheel_show

SCHEMA = json.loads((Path(__file__).parent / "data" / "auditwheel-show-schema.json").read_text())
STDIO = "#include <stdio.h>"
FIELDS = ("overall_tag", "sym_tag", "external_libs", "unsupported_isa", "pyfpe", "ucs2")


def _clean(build: Builder) -> Path:
    ext = build.extension("clean", 'puts("hi")', prelude=STDIO)
    return build.wheel("clean", {f"clean{EXT}": ext})


def _outside(build: Builder) -> Path:
    build.library("libbar.so.1", "int bar(void) { return 2; }")
    build.library("libfoo.so.1", "int bar(void);\nint foo(void) { return bar(); }", links=["-lbar"])
    ext = build.extension("usesfoo", "foo()", prelude="int foo(void);", links=["-lfoo"])
    return build.wheel("usesfoo", {f"usesfoo{EXT}": ext})


def _missing(build: Builder) -> Path:
    build.library("libgone.so.1", "int gone(void) { return 1; }")
    ext = build.extension("usesgone", "gone()", prelude="int gone(void);", links=["-lgone"])
    wheel = build.wheel("usesgone", {f"usesgone{EXT}": ext})
    (build.libdir / "libgone.so.1").unlink()
    return wheel


def _newer_glibc(build: Builder) -> Path:
    ext = build.extension("rand", "arc4random()", prelude="#include <stdlib.h>")
    return build.wheel("rand", {f"rand{EXT}": ext})


def _blacklisted(build: Builder) -> Path:
    prelude = "#define _GNU_SOURCE\n#include <pthread.h>"
    call = "pthread_attr_t a; pthread_getattr_default_np(&a)"
    ext = build.extension("black", call, prelude=prelude, links=["-lpthread"])
    return build.wheel("black", {f"black{EXT}": ext})


def _weak_blacklisted(build: Builder) -> Path:
    """A blacklisted symbol referenced weakly is optional: not a reason (as in auditwheel)."""
    prelude = "#define _GNU_SOURCE\n#include <pthread.h>\n#pragma weak pthread_getattr_default_np"
    call = "pthread_attr_t a; if (pthread_getattr_default_np) pthread_getattr_default_np(&a)"
    ext = build.extension("weak", call, prelude=prelude, links=["-lpthread"])
    return build.wheel("weak", {f"weak{EXT}": ext})


def _isa(build: Builder) -> Path:
    flags = ["-march=x86-64-v3", "-mneeded"]
    ext = build.extension("avx", 'puts("hi")', prelude=STDIO, flags=flags)
    return build.wheel("avx", {f"avx{EXT}": ext})


def _libs_in_wheel(build: Builder) -> Path:
    lib = build.library("libin.so.1", "int in(void) { return 3; }")
    ext = build.extension(
        "usesin", "in()", prelude="int in(void);", links=["-lin"],
        flags=["-Wl,-rpath,$ORIGIN/usesin.libs"],
    )  # fmt: skip
    wheel = build.wheel("usesin", {f"usesin{EXT}": ext, "usesin.libs/libin.so.1": lib.read_bytes()})
    lib.unlink()
    return wheel


def _script_with_runpath(build: Builder) -> Path:
    """An executable in .data/scripts finding a library in the wheel through its RUNPATH."""
    lib = build.library("libin.so.1", "int in(void) { return 3; }")
    tool = build.executable("tool", "in()", links=["-lin", "-Wl,-rpath,$ORIGIN/../../tool.libs"])
    ext = build.extension("tool", 'puts("hi")', prelude=STDIO)
    files = {
        f"tool{EXT}": ext,
        "tool-1.0.data/scripts/tool": tool,
        "tool.libs/libin.so.1": lib.read_bytes(),
    }
    wheel = build.wheel("tool", files)
    lib.unlink()
    return wheel


def _libpython(build: Builder) -> Path:
    build.library("libpython3.11.so.1.0", "int Py_IsInitialized(void) { return 1; }")
    ext = build.extension(
        "embeds", "Py_IsInitialized()", prelude="int Py_IsInitialized(void);",
        links=["-l:libpython3.11.so.1.0"],
    )  # fmt: skip
    return build.wheel("embeds", {f"embeds{EXT}": ext})


def _execstack(build: Builder) -> Path:
    ext = build.extension("stack", 'puts("hi")', prelude=STDIO, flags=["-Wl,-z,execstack"])
    return build.wheel("stack", {f"stack{EXT}": ext})


def _stray_script(build: Builder) -> Path:
    build.library("libgone.so.1", "int gone(void) { return 1; }")
    tool = build.executable("tool", "gone()", links=["-lgone"])
    ext = build.extension("good", 'puts("hi")', prelude=STDIO)
    wheel = build.wheel("good", {f"good{EXT}": ext, "good-1.0.data/scripts/tool": tool})
    (build.libdir / "libgone.so.1").unlink()
    return wheel


CASES: dict[str, Callable[[Builder], Path]] = {
    "executable-stack": _execstack,
    "stray-script": _stray_script,
    "libpython": _libpython,
    "script-runpath-into-the-wheel": _script_with_runpath,
    "clean": _clean,
    "outside-library-chain": _outside,
    "not-found": _missing,
    "newer-glibc": _newer_glibc,
    "blacklisted-symbol": _blacklisted,
    "weak-blacklisted-symbol": _weak_blacklisted,
    "isa-level": _isa,
    "library-in-wheel": _libs_in_wheel,
}


#: Deliberate differences: case -> field -> (manywheel, auditwheel).
DIFFERENCES: dict[str, dict[str, tuple[object, object]]] = {
    # auditwheel 6.8.2 does not look at PT_GNU_STACK. glibc 2.41 refuses to dlopen a library
    # asking for an executable stack, so no manylinux tag can promise the extension imports.
    "executable-stack": {"overall_tag": ("linux_x86_64", "manylinux_2_5_x86_64")},
}


@pytest.mark.slow
@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_fixture_same_as_auditwheel(build: Builder, case: str) -> None:
    wheel = CASES[case](build)
    env = {"AUDITWHEEL_LD_LIBRARY_PATH": str(build.libdir)}
    theirs = auditwheel_show(wheel, remember=False, extra_env=env)
    options = AuditOptions(extra_ldpaths=(str(build.libdir),))
    ours = auditwheel_json(audit_wheel(wheel, options=options), wheel.name)
    jsonschema.validate(ours, SCHEMA)
    fields = (*FIELDS, "versioned_symbols", "policy_upgrades")
    expected = DIFFERENCES.get(case, {})
    assert {f: (ours[f], theirs[f]) for f in expected} == expected
    assert {f: ours[f] for f in fields if f not in expected} == {
        f: theirs[f] for f in fields if f not in expected
    }
    if case == "script-runpath-into-the-wheel":
        report = audit_wheel(wheel, options=options)
        (needed,) = [
            n
            for n in report.member("tool-1.0.data/scripts/tool").needed
            if n.soname == "libin.so.1"
        ]
        assert (needed.where.value, needed.path) == ("wheel", "tool.libs/libin.so.1")
    blacklisted = "pthread_getattr_default_np" in json.dumps(ours["policy_upgrades"])
    assert blacklisted is (case == "blacklisted-symbol")
