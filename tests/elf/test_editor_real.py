"""The editor on real wheel members: torch's (the local index's torch 2.13 CPU wheel), scipy's
bundled OpenBLAS (already edited by patchelf when scipy was repaired: its tables live in
segments patchelf appended) and a musllinux library (pillow's bundled libjpeg). Each result is
checked by our reader and GNU readelf, and loaded by the real loader — glibc's, or musl's for the
musl library — before and after ``strip``."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from manywheel.elf import EditMethod, ElfChanges, edit_elf, parse_elf
from manywheel.wheel import WheelArchive
from tests.elf.editing import check_edit, strip_copy
from tests.harness.downloads import download_wheel

TORCH = Path("/opt/wheels/torch-2.13.0+cpu-cp311-cp311-manylinux_2_28_x86_64.whl")
HUGE = ":".join(f"/opt/very/long/search/path/{i:05d}" for i in range(3000))
MUSL_LOADER = Path("/lib/ld-musl-x86_64.so.1")


def _torch() -> WheelArchive:
    if not TORCH.is_file():
        pytest.skip(f"{TORCH} is not on this machine (the local index provides it)")
    return WheelArchive.open(TORCH)


def _extract(archive: WheelArchive, members: list[str], root: Path) -> dict[str, Path]:
    out = {}
    for member in members:
        path = root / member
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(archive.read_member(member))
        path.chmod(0o755)
        out[member] = path
    return out


@pytest.mark.slow
@pytest.mark.parametrize(
    "member",
    [
        "torch/_C.cpython-311-x86_64-linux-gnu.so",
        "torch/lib/libshm.so",
        "torch/lib/libtorch_global_deps.so",
        "torch/bin/test_api",
        "torch/bin/torch_shm_manager",
    ],
)
def test_torch_members(member: str, tmp_path: Path) -> None:
    """A clean-up of the build machine's search path (in place), a graft's renames and a new
    SONAME (growing), on members of every kind torch has."""
    with _torch() as archive:
        data = archive.read_member(member)
    old = parse_elf(data)
    keep = [e for e in (old.runpath or old.rpath) if e.startswith("$ORIGIN")]
    rename = tuple((n, n.replace(".so", "-0123abcd.so", 1)) for n in old.needed if "c10" in n)
    cases = [
        (ElfChanges(rpath=":".join(keep) or "$ORIGIN"), None),
        (
            ElfChanges(replace_needed=rename, rpath="$ORIGIN/../../torch.libs:" + ":".join(keep)),
            None,
        ),
        (ElfChanges(soname="libtorch-edited-0123abcd.so", rpath=HUGE), {EditMethod.EXTEND}),
    ]
    for number, (changes, methods) in enumerate(cases):
        if changes.soname is not None and old.header.e_type != 3:
            continue
        result = edit_elf(data, changes, name=member)
        if methods is not None:
            assert result.method in methods
        after = check_edit(data, result, tmp_path / f"{number}-{Path(member).name}")
        assert after.runpath == tuple((changes.rpath or "").split(":")) or after.rpath


@pytest.mark.slow
def test_torch_program_runs_after_a_graft_rename(tmp_path: Path) -> None:
    """c10's unit tests, with libc10.so renamed as a graft renames it and the program's
    DT_NEEDED following; run, stripped, run again."""
    members = ["torch/test/c10_Half_test", "torch/lib/libc10.so", "torch/lib/libgomp.so.1"]
    with _torch() as archive:
        files = _extract(archive, members, tmp_path / "site")
    program, c10 = files["torch/test/c10_Half_test"], files["torch/lib/libc10.so"]
    new = "libc10-0123abcd.so"
    edited = edit_elf(program.read_bytes(), ElfChanges(replace_needed=(("libc10.so", new),)))
    assert edited.method is not EditMethod.UNCHANGED
    check_edit(program.read_bytes(), edited, tmp_path / "checked-program")
    program.write_bytes(edited.data)
    renamed = edit_elf(c10.read_bytes(), ElfChanges(soname=new))
    check_edit(c10.read_bytes(), renamed, tmp_path / "checked-c10")
    (c10.parent / new).write_bytes(renamed.data)
    c10.unlink()
    for run in range(2):
        done = subprocess.run(
            [str(program), "--gtest_brief=1"],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert done.returncode == 0 and "PASSED" in done.stdout, done.stderr[-2000:]
        if run == 0:
            for path in (program, c10.parent / new):
                strip_copy(path, "strip", path.with_name(path.name + ".stripped"))
                path.with_name(path.name + ".stripped").replace(path)


_DLOPEN = "import ctypes, sys; ctypes.CDLL(sys.argv[1]); print('loaded')"


@pytest.mark.slow
@pytest.mark.network
def test_scipy_openblas_that_patchelf_edited(tmp_path: Path) -> None:
    """scipy's OpenBLAS went through patchelf (auditwheel): its .dynstr, .gnu.hash and
    .dynamic live in segments appended at the end. Edits of it must read and load. (``strip``
    already breaks the file as patchelf left it — its segments come out misaligned, "ELF load
    command address/offset not page-aligned" — so after strip, ours must load exactly when the
    original does.)"""
    wheel = download_wheel("scipy==1.14.1", "manylinux_2_17_x86_64")
    with WheelArchive.open(wheel) as archive:
        libs = [
            m.name for m in archive.members if m.name.startswith("scipy.libs/") and not m.is_dir
        ]
        files = _extract(archive, libs, tmp_path / "site")
    (blas,) = [p for m, p in files.items() if "openblas" in m]
    data = blas.read_bytes()
    stripped_original_loads = _loads(strip_copy(blas, "strip", tmp_path / "original.so"))
    for number, changes in enumerate(
        [
            ElfChanges(rpath="$ORIGIN"),
            ElfChanges(soname="libscipy_openblas-edited-0123abcd.so", rpath=f"$ORIGIN:{HUGE}"),
        ]
    ):
        result = edit_elf(data, changes, name=str(blas))
        check_edit(data, result, tmp_path / f"checked-{number}.so")
        blas.write_bytes(result.data)
        assert _loads(blas)
        stripped = strip_copy(blas, "strip", tmp_path / "site" / "scipy.libs" / "s.so")
        assert _loads(stripped) == stripped_original_loads
        blas.write_bytes(data)


def _loads(path: Path) -> bool:
    done = subprocess.run(
        [sys.executable, "-c", _DLOPEN, str(path)], capture_output=True, text=True, check=False
    )
    return done.stdout.strip() == "loaded"


@pytest.mark.slow
@pytest.mark.network
def test_musllinux_library_loads_with_musl(tmp_path: Path) -> None:
    if not MUSL_LOADER.exists():
        from tests.harness.availability import skip_or_fail

        skip_or_fail(f"{MUSL_LOADER} missing (apt-get install musl; scripts/bootstrap does)")
    wheel = download_wheel("pillow==11.0.0", "musllinux_1_2_x86_64")
    with WheelArchive.open(wheel) as archive:
        (member,) = [m.name for m in archive.members if "pillow.libs/libjpeg" in m.name]
        data = archive.read_member(member)
    assert parse_elf(data).interpreter is None and "libc.musl-x86_64.so.1" in parse_elf(data).needed
    for number, changes in enumerate(
        [ElfChanges(soname="libjpeg-edited.so.62", rpath="$ORIGIN"), ElfChanges(rpath=HUGE)]
    ):
        result = edit_elf(data, changes, name=member)
        out = tmp_path / f"libjpeg-{number}.so"
        check_edit(data, result, tmp_path / f"checked-{number}.so")
        out.write_bytes(result.data)
        for path in (out, strip_copy(out, "strip", tmp_path / f"stripped-{number}.so")):
            done = subprocess.run(
                [str(MUSL_LOADER), "--list", str(path)], capture_output=True, text=True, check=False
            )
            assert done.returncode == 0 and "libc.musl" in done.stdout, done.stderr
