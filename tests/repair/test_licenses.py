"""License texts of grafted libraries (PEP 639): a repair that grafts libffi and zlib from this
machine's Debian packages puts each package's copyright file under ``.dist-info/licenses/``,
lists them as ``License-File`` when the metadata is 2.4, leaves older metadata as written, and
the wheel still verifies, passes twine's checks and packaging's validation, and pip installs and
imports it in a clean Debian root with the system's libffi hidden. A library the user built
gets its text from ``--license-file``; one with none is named in the report."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from packaging.metadata import Metadata

from manywheel.audit import AuditOptions
from manywheel.cli import main
from manywheel.policy import PolicySet, load_policies
from manywheel.repair import (
    PatchelfPatcher,
    RepairOptions,
    RepairRequest,
    UserLicense,
    repair_wheel,
)
from manywheel.wheel import verify_wheel
from tests.harness.extensions import write_wheel
from tests.harness.install import install_and_import
from tests.repair.natives import Natives, gcc

SHIPPED = Path(__file__).parents[2] / "src/manywheel/policy/data/manylinux-policy.json"
FFZ = r"""#include <Python.h>
#include <ffi.h>
#include <zlib.h>
static PyObject *crc(PyObject *self, PyObject *arg) {
    ffi_cif cif; ffi_type *args[1] = {&ffi_type_sint};
    if (ffi_prep_cif(&cif, FFI_DEFAULT_ABI, 1, &ffi_type_sint, args) != FFI_OK) return NULL;
    return PyLong_FromUnsignedLong(crc32(0L, (const Bytef *)"abc", 3));
}
static PyMethodDef methods[] = {{"crc", crc, METH_NOARGS, NULL}, {NULL, NULL, 0, NULL}};
static struct PyModuleDef def = {PyModuleDef_HEAD_INIT, "_ffz", NULL, -1, methods};
PyMODINIT_FUNC PyInit__ffz(void) { return PyModule_Create(&def); }
"""
DESCRIPTION = (
    "Description-Content-Type: text/plain\nSummary: grafts libffi and zlib\n\n"
    "A test wheel whose extension links libffi and zlib.\n"
)


@pytest.fixture(scope="module")
def without_zlib(tmp_path_factory: pytest.TempPathFactory) -> PolicySet:
    """The shipped policies with ``libz.so.1`` taken off every whitelist (an in-house baseline
    that trusts no system zlib), so that zlib is grafted like libffi."""
    entries = [
        {"name": p["name"], "lib_whitelist": [s for s in p["lib_whitelist"] if s != "libz.so.1"]}
        for p in json.loads(SHIPPED.read_text())
        if "libz.so.1" in p["lib_whitelist"]
    ]
    path = tmp_path_factory.mktemp("policy") / "no-zlib.json"
    path.write_text(json.dumps(entries))
    return load_policies([path])


@pytest.fixture(scope="module")
def ffz_module(natives: Natives) -> bytes:
    c = natives.wheels / "_ffz.c"
    c.write_text(FFZ, encoding="utf-8")
    so = natives.wheels / "_ffz.so"
    gcc(["-shared", "-fPIC", "-O1", f"-I{natives.python.include}", "-o", str(so), str(c),
         "-lffi", "-lz"])  # fmt: skip
    return so.read_bytes()


def _wheel(directory: Path, module: bytes, natives: Natives, version: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    files = {"ffz/_ffz.so": module, "ffz/__init__.py": b"from ._ffz import crc\n"}
    tag = f"{natives.python.abi}-{natives.python.abi}-linux_x86_64"
    return write_wheel(
        directory, "ffz", "1.0", tag, files, metadata=DESCRIPTION, metadata_version=version
    )


def _read(wheel: Path, name: str) -> bytes:
    with zipfile.ZipFile(wheel) as z:
        return z.read(name)


def _names(wheel: Path) -> list[str]:
    with zipfile.ZipFile(wheel) as z:
        return z.namelist()


def _twine_check(wheel: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "twine", "check", "--strict", str(wheel)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


EXPECTED = {
    "ffz-1.0.dist-info/licenses/ffz.libs/libffi8/copyright": "/usr/share/doc/libffi8/copyright",
    "ffz-1.0.dist-info/licenses/ffz.libs/zlib1g/copyright": "/usr/share/doc/zlib1g/copyright",
}


def test_metadata_24_lists_the_debian_copyright_files(
    natives: Natives,
    ffz_module: bytes,
    without_zlib: PolicySet,
    patcher: PatchelfPatcher,
    tmp_path: Path,
) -> None:
    wheel = _wheel(tmp_path / "in", ffz_module, natives, "2.4")
    result = repair_wheel(
        wheel, tmp_path / "out", RepairRequest(patcher=patcher, policies=without_zlib)
    )
    grafted = {g.sonames[0] for g in result.plan.grafts} if result.plan else set()
    assert grafted == {"libffi.so.8", "libz.so.1"}
    assert {f.member: f.source for f in result.licenses} == EXPECTED
    assert result.unlicensed == () and result.license_note is None
    for member, source in EXPECTED.items():
        assert _read(result.output, member) == Path(source).read_bytes()
    before, after = (
        _read(wheel, "ffz-1.0.dist-info/METADATA"),
        _read(result.output, "ffz-1.0.dist-info/METADATA"),
    )
    head = before.split(b"\n\n", 1)[0]
    assert after.startswith(head + b"\nLicense-File: ffz.libs/libffi8/copyright\n")
    assert after.endswith(before[len(head) :])  # the description, byte for byte
    parsed = Metadata.from_email(after, validate=True)
    assert parsed.license_files == ["ffz.libs/libffi8/copyright", "ffz.libs/zlib1g/copyright"]
    assert verify_wheel(result.output) == ()
    _twine_check(result.output)


def test_older_metadata_is_left_as_written(
    natives: Natives,
    ffz_module: bytes,
    without_zlib: PolicySet,
    patcher: PatchelfPatcher,
    tmp_path: Path,
) -> None:
    wheel = _wheel(tmp_path / "in", ffz_module, natives, "2.1")
    result = repair_wheel(
        wheel, tmp_path / "out", RepairRequest(patcher=patcher, policies=without_zlib)
    )
    assert set(EXPECTED) <= set(_names(result.output))
    metadata = "ffz-1.0.dist-info/METADATA"
    assert _read(result.output, metadata) == _read(wheel, metadata)
    assert result.license_note is not None and "2.1 predates License-File" in result.license_note
    assert verify_wheel(result.output) == ()
    _twine_check(result.output)


@pytest.mark.root
@pytest.mark.slow
def test_pip_installs_the_licenses_and_the_grafts_work(  # noqa: PLR0917 (fixtures)
    natives: Natives,
    ffz_module: bytes,
    without_zlib: PolicySet,
    patcher: PatchelfPatcher,
    bookworm_root: Path,
    tmp_path: Path,
) -> None:
    wheel = _wheel(tmp_path / "in", ffz_module, natives, "2.4")
    repaired = repair_wheel(
        wheel, tmp_path / "out", RepairRequest(patcher=patcher, policies=without_zlib)
    )
    code = (
        "import importlib.metadata as m, zlib; assert ffz.crc() == zlib.crc32(b'abc');"
        "d = m.distribution('ffz'); files = {str(f) for f in d.files};"
        "assert 'ffz-1.0.dist-info/licenses/ffz.libs/libffi8/copyright' in files, files;"
        "assert 'ffz.libs/libffi8/copyright' in d.metadata.get_all('License-File')"
    )
    hide = ("/usr/lib/x86_64-linux-gnu/libffi.so.8",)
    result = install_and_import(bookworm_root, repaired.output, "ffz", code=code, hide=hide)
    assert result.ok, result.stderr[-3000:]


def test_user_built_library_takes_the_given_text_or_is_named(
    natives: Natives, patcher: PatchelfPatcher, tmp_path: Path
) -> None:
    ext = natives.extension("licfoo", "foo(1);", ["-lfoo"], body="int foo(int);")
    wheel = natives.wheel("licfoo", {"licfoo.so": ext})
    audit = AuditOptions(extra_ldpaths=(str(natives.libdir),))
    bare = repair_wheel(wheel, tmp_path / "bare", RepairRequest(patcher=patcher, audit=audit))
    sources = sorted(Path(s).name for s in bare.unlicensed)
    assert sources == ["libbar.so.1", "libfoo.so.1"] and bare.licenses == ()
    text = tmp_path / "COPYING.foo"
    text.write_text("libfoo: do what you like\n")
    options = RepairOptions(license_files=(UserLicense.parse(f"libfoo.so.*={text}"),))
    given = repair_wheel(
        wheel, tmp_path / "given", RepairRequest(patcher=patcher, audit=audit, options=options)
    )
    (license_file,) = given.licenses
    assert (
        license_file.member == "licfoo-1.0.dist-info/licenses/licfoo.libs/libfoo.so.1/COPYING.foo"
    )
    assert _read(given.output, license_file.member) == text.read_bytes()
    assert [Path(s).name for s in given.unlicensed] == ["libbar.so.1"]


def test_the_repair_report_names_what_has_no_text(natives: Natives, tmp_path: Path) -> None:
    ext = natives.extension("licbar", "foo(1);", ["-lfoo"], body="int foo(int);")
    wheel = natives.wheel("licbar", {"licbar.so": ext})
    out, err = io.StringIO(), io.StringIO()
    env = {
        "AUDITWHEEL_LD_LIBRARY_PATH": str(natives.libdir),
        "PATH": str(Path(sys.executable).parent),
    }
    code = main(
        ["repair", "--json", "-w", str(tmp_path), str(wheel)], stdout=out, stderr=err, environ=env
    )
    assert code == 0, err.getvalue()
    (entry,) = json.loads(out.getvalue())["wheels"]
    assert sorted(Path(m).name for m in entry["licenses"]["missing"]) == [
        "libbar.so.1",
        "libfoo.so.1",
    ]
    missing = main(
        ["repair", "--license-file", "libfoo*=/nonexistent/COPYING", "-w", str(tmp_path / "x"),
         str(wheel)], stdout=io.StringIO(), stderr=err, environ=env,
    )  # fmt: skip
    assert missing == 3 and "/nonexistent/COPYING" in err.getvalue()
