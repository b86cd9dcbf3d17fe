"""The commands on Android files: ``lddtree``, ``elf``, ``show`` and ``policies``."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import jsonschema

from manywheel.cli import main
from tests.cli.test_elf_command import SCHEMA
from tests.fixtures.android.build import Case
from tests.fixtures.android.cases import android_cases

__all__ = ["android_cases"]  # the fixture, imported for pytest


def _run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), stdout=out, stderr=err, environ={})
    return code, out.getvalue(), err.getvalue()


def _extract(case: Case, tmp_path: Path) -> Path:
    with zipfile.ZipFile(case.wheel) as archive:
        (name,) = [n for n in archive.namelist() if n.endswith(".so") and "/" not in n]
        target = tmp_path / name
        target.write_bytes(archive.read(name))
    return target


def test_lddtree_uses_bionic_rules(android_cases: dict[str, Case], tmp_path: Path) -> None:
    code, out, err = _run("lddtree", str(_extract(android_cases["clean"], tmp_path)))
    assert (code, err) == (0, "")
    assert "[bionic " in out.splitlines()[0]
    assert "libc.so  [platform]" in out and "libpython3.13.so  [platform]" in out
    code, out, _ = _run("lddtree", "--json", str(_extract(android_cases["graft"], tmp_path)))
    assert code == 1  # libfoo.so is nowhere
    assert json.loads(out)["flavor"] == "bionic"


def test_elf_shows_the_api_level(android_cases: dict[str, Case]) -> None:
    code, out, _ = _run("elf", str(android_cases["clean"].wheel))
    assert code == 0
    assert "Android API  24 (NDK r27d, build manywheel-fixture)" in out
    code, out, _ = _run("elf", "--json", str(android_cases["built-lower"].wheel))
    document = json.loads(out)
    jsonschema.validate(document, SCHEMA)
    (facts,) = document["files"]
    assert facts["android"] == {
        "api_level": 21, "ndk_version": "r27d", "ndk_build": "manywheel-fixture"
    }  # fmt: skip


def test_show_names_the_bionic_version(android_cases: dict[str, Case]) -> None:
    code, out, _ = _run("show", str(android_cases["newer-libc"].wheel))
    assert code == 0
    assert "as it is: android_26_" in out.splitlines()[0]
    assert "LIBC_O" in out


def test_policies_lists_android() -> None:
    code, out, _ = _run("policies", "--libc", "android", "--json", "--arch", "aarch64")
    assert code == 0
    policies = json.loads(out)["policies"]
    android = [p for p in policies if p["libc"] == "android"]
    assert [p["name"] for p in android] == ["android_21", "android_24", "android_26", "android_27"]
    assert android[1]["tags"] == ["android_24_arm64_v8a"]
    assert android[1]["bionic_versions"]["libc.so"] == ["LIBC", "LIBC_N"]
