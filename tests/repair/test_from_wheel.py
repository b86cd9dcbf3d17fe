"""Libraries another wheel provides (``--from-wheel``): not grafted, reached through an
``$ORIGIN``-relative RPATH into that wheel's install directory, and the dependency checked
against Requires-Dist. Proven by installing both wheels side by side."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from manywheel.elf import parse_elf
from manywheel.repair import WheelProvided
from tests.harness.extensions import write_wheel
from tests.repair.fixtures import Repair
from tests.repair.natives import Natives

CALL_FOO = 'if (foo(20) != 41) { PyErr_SetString(PyExc_RuntimeError, "foo"); return NULL; }'


def _provider_wheel(natives: Natives, directory: Path) -> Path:
    """A wheel 'fooprovider' installing libfoo and libbar at fooprovider/lib (as nvidia-* do)."""
    files = {
        "fooprovider/__init__.py": b"",
        "fooprovider/lib/libfoo.so.1": (natives.libdir / "libfoo.so.1").read_bytes(),
        "fooprovider/lib/libbar.so.1": (natives.libdir / "libbar.so.1").read_bytes(),
    }
    return write_wheel(directory, "fooprovider", "1.0", "py3-none-any", files)


@pytest.fixture(scope="module")
def consumer(natives: Natives) -> Path:
    ext = natives.extension("provext", CALL_FOO, ["-lfoo"], body="int foo(int);")
    return natives.wheel("consumer", {"consumer/provext.so": ext, "consumer/__init__.py": b""})


PROVIDED = WheelProvided.parse("lib*.so.1=fooprovider:fooprovider/lib")


def test_parse_rejects_malformed_specs() -> None:
    assert WheelProvided("lib*.so.1", "fooprovider", "fooprovider/lib") == PROVIDED
    for bad in ("libx.so", "libx.so=dist", "libx.so=dist:", "x=d:../escape"):
        with pytest.raises(ValueError, match="GLOB=DIST:DIR"):
            WheelProvided.parse(bad)


def test_provided_library_is_not_grafted_and_an_rpath_leads_to_it(
    repair: Repair, consumer: Path
) -> None:
    result = repair(consumer, from_wheels=(PROVIDED,))
    assert result.plan is not None and result.plan.grafts == ()
    assert result.plan.provided == (("libbar.so.1", "fooprovider"), ("libfoo.so.1", "fooprovider"))
    with zipfile.ZipFile(result.output) as z:
        ext = parse_elf(z.read("consumer/provext.so"))
    assert ext.needed[0] == "libfoo.so.1"
    assert ext.rpath == ("$ORIGIN/../fooprovider/lib",)
    assert result.warnings == tuple(
        f"{lib} is expected from fooprovider, which the wheel's Requires-Dist does not list"
        for lib in ("libbar.so.1", "libfoo.so.1")
    )


def test_both_wheels_installed_side_by_side_import(
    repair: Repair, consumer: Path, natives: Natives, tmp_path: Path
) -> None:
    repaired = repair(consumer, from_wheels=(PROVIDED,)).output
    provider = _provider_wheel(natives, tmp_path)
    site = tmp_path / "site"
    for wheel in (repaired, provider):
        with zipfile.ZipFile(wheel) as z:
            z.extractall(site)
    done = subprocess.run(
        [sys.executable, "-c", "import consumer.provext"],
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(site)},
        cwd="/",
        check=False,
    )
    assert done.returncode == 0, done.stderr


def test_declared_dependency_gives_no_warning(repair: Repair, natives: Natives) -> None:
    ext = natives.extension("declared", "foo(1);", ["-lfoo"], body="int foo(int);")
    wheel = natives.wheel(
        "declared", {"declared.so": ext}, metadata="Requires-Dist: FooProvider>=1.0\n"
    )
    result = repair(wheel, from_wheels=(PROVIDED,))
    assert result.plan is not None and result.plan.grafts == ()
    assert result.warnings == ()
