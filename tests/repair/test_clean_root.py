"""The proof that matters: in a minimal Debian root that lacks the libraries a wheel was built
against, the unrepaired wheel fails to import and the repaired one imports and calls into what
was grafted. Wheels built here from real sdists and from gcc fixtures. Tags tell the truth on an
older glibc (bullseye, 2.31): pip there refuses what needs more."""

from __future__ import annotations

from pathlib import Path

import pytest

from manywheel.audit import AuditOptions
from manywheel.repair import ElfPatcher, RepairRequest, repair_wheel
from tests.harness.fixtures import SdistWheelBuilder
from tests.harness.install import Outcome, install_and_import, unzip_and_import
from tests.harness.sdists import PROJECTS, HostPython, find_python
from tests.repair.natives import Natives, build_natives, build_plugin_wheel

pytestmark = [pytest.mark.root, pytest.mark.slow]

LIBDIR = "/usr/lib/x86_64-linux-gnu"
CALL_FOO = 'if (foo(20) != 41) { PyErr_SetString(PyExc_RuntimeError, "foo"); return NULL; }'

#: What each project's import must do beyond importing: call into the grafted library.
CALLS = {
    "pyyaml": "import yaml; assert yaml.load('a: [1, 2]', Loader=yaml.CLoader) == {'a': [1, 2]}",
    # A call through libffi (ffi_call), with the backend alone (cdef would need pycparser).
    "cffi": "import _cffi_backend as B; i = B.new_primitive_type('int');"
    " f = B.load_library(None).load_function(B.new_function_type((i,), i, False), 'abs');"
    " assert f(-3) == 3",
    "psycopg2": "import psycopg2.extensions as e; assert e.libpq_version() > 100000",
    "lxml": "from lxml import etree; assert etree.fromstring('<a><b/></a>')[0].tag == 'b'",
    "pillow": "from PIL import Image; import io; b = io.BytesIO();"
    " Image.new('RGB', (4, 4)).save(b, 'JPEG'); assert b.getvalue()[:2] == b'\\xff\\xd8'",
}
#: Libraries the root has (python needs them) that must be hidden to prove they were grafted.
HIDE = {"cffi": (f"{LIBDIR}/libffi.so.8",)}


def _repair(wheel: Path, out: Path, patcher: ElfPatcher, libdir: Path | None = None) -> Path:
    audit = AuditOptions(extra_ldpaths=(str(libdir),) if libdir else ())
    return repair_wheel(wheel, out, RepairRequest(patcher=patcher, audit=audit)).output


@pytest.mark.parametrize("project", sorted(CALLS), ids=sorted(CALLS))
def test_sdist_wheel_imports_only_once_repaired(
    project: str,
    sdist_wheel: SdistWheelBuilder,
    bookworm_root: Path,
    patcher: ElfPatcher,
    tmp_path: Path,
) -> None:
    wheel = sdist_wheel(project, python="3.11")
    module, hide = PROJECTS[project].module, HIDE.get(project, ())
    before = install_and_import(bookworm_root, wheel, module, hide=hide)
    assert before.outcome is Outcome.IMPORT_FAILED, before
    # Absent: "cannot open shared object file"; hidden under /dev/null: "file too short".
    assert "cannot open shared object file" in before.stderr or (
        hide and "file too short" in before.stderr
    ), before.stderr
    repaired = _repair(wheel, tmp_path, patcher)
    after = install_and_import(bookworm_root, repaired, module, code=CALLS[project], hide=hide)
    assert after.ok, after.stderr[-3000:]


def test_gcc_chain_imports_only_once_repaired(
    natives: Natives, bookworm_root: Path, patcher: ElfPatcher, tmp_path: Path
) -> None:
    ext = natives.extension("rootchain", CALL_FOO, ["-lfoo"], body="int foo(int);")
    wheel = natives.wheel("rootchain", {"rootchain.so": ext})
    before = install_and_import(bookworm_root, wheel, "rootchain")
    assert before.outcome is Outcome.IMPORT_FAILED and "libfoo.so.1" in before.stderr
    repaired = _repair(wheel, tmp_path, patcher, natives.libdir)
    after = install_and_import(bookworm_root, repaired, "rootchain")
    assert after.ok, after.stderr


def test_dlopened_plugin_imports_only_with_include(
    natives: Natives, bookworm_root: Path, patcher: ElfPatcher, tmp_path: Path
) -> None:
    wheel = build_plugin_wheel(natives)
    audit = AuditOptions(extra_ldpaths=(str(natives.libdir),))
    plain = repair_wheel(
        wheel, tmp_path / "plain", RepairRequest(patcher=patcher, audit=audit)
    ).output
    failed = install_and_import(bookworm_root, plain, "dlpkg")
    assert failed.outcome is Outcome.IMPORT_FAILED and "not in dlpkg.libs" in failed.stderr
    audit = AuditOptions(extra_ldpaths=(str(natives.libdir),), include=("libplugin.so.1",))
    included = repair_wheel(
        wheel, tmp_path / "incl", RepairRequest(patcher=patcher, audit=audit)
    ).output
    worked = install_and_import(bookworm_root, included, "dlpkg", code="assert dlpkg.RESULT == 102")
    assert worked.ok, worked.stderr


@pytest.fixture(scope="module")
def natives39(tmp_path_factory: pytest.TempPathFactory) -> Natives:
    python: HostPython = find_python("3.9")
    return build_natives(tmp_path_factory.mktemp("natives39"), python)


def test_tags_tell_the_truth_on_glibc_2_31(
    natives39: Natives, bullseye_root: Path, patcher: ElfPatcher, tmp_path: Path
) -> None:
    old = natives39.extension("oldglibc", CALL_FOO, ["-lfoo"], body="int foo(int);")
    new = natives39.extension("newglibc", "spawn();", ["-lthreads"], body="int spawn(void);")
    old_wheel = _repair(
        natives39.wheel("oldglibc", {"oldglibc.so": old}), tmp_path, patcher, natives39.libdir
    )
    new_wheel = _repair(
        natives39.wheel("newglibc", {"newglibc.so": new}), tmp_path, patcher, natives39.libdir
    )
    assert "manylinux_2_5" in old_wheel.name and "manylinux_2_34" in new_wheel.name
    assert install_and_import(bullseye_root, old_wheel, "oldglibc").ok
    refused = install_and_import(bullseye_root, new_wheel, "newglibc")
    assert refused.outcome is Outcome.UNSUPPORTED, refused
    forced = unzip_and_import(bullseye_root, new_wheel, "newglibc")
    assert "GLIBC_2.34' not found" in forced.stderr, forced
