"""The Python-tag judgment on its own: tags read as interpreter claims (compressed sets, ``t``,
``abi3t``), and the rules that need no compiled module (suffix tables per architecture and
libc, reserved tags, symbols a missing library may define)."""

from __future__ import annotations

import base64
import hashlib
import zipfile
from pathlib import Path

import pytest

from manywheel.policy import Libc, ModuleFacts, StableAbi, judge_python_abi, python_imports
from manywheel.wheel import AbiKind, WheelFilename, interpreter_claims, verify_wheel
from tests.harness.extensions import write_wheel


def _name(tags: str) -> WheelFilename:
    return WheelFilename.parse(f"pkg-1.0-{tags}.whl")


@pytest.mark.parametrize(
    ("tags", "expected"),
    [
        ("cp311-cp311-linux_x86_64", [("cp311-cp311", AbiKind.CPYTHON, (3, 11), False)]),
        ("cp313-cp313t-linux_x86_64", [("cp313-cp313t", AbiKind.CPYTHON, (3, 13), True)]),
        ("cp37-cp37m-linux_x86_64", [("cp37-cp37m", AbiKind.CPYTHON, (3, 7), False)]),
        ("cp38-abi3-linux_x86_64", [("cp38-abi3", AbiKind.ABI3, (3, 8), False)]),
        (
            "cp315-abi3.abi3t-linux_x86_64",
            [
                ("cp315-abi3", AbiKind.ABI3, (3, 15), False),
                ("cp315-abi3t", AbiKind.ABI3T, (3, 15), True),
            ],
        ),
        (
            "cp36.cp37-abi3-linux_x86_64",
            [
                ("cp36-abi3", AbiKind.ABI3, (3, 6), False),
                ("cp37-abi3", AbiKind.ABI3, (3, 7), False),
            ],
        ),
        ("py3-none-linux_x86_64", [("py3-none", AbiKind.NONE, None, False)]),
        ("pp310-pypy310_pp73-linux_x86_64", [("pp310-pypy310_pp73", AbiKind.OTHER, None, False)]),
        ("cp311-cp312-linux_x86_64", [("cp311-cp312", AbiKind.OTHER, (3, 11), False)]),
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_claims(tags: str, expected: list[tuple[str, AbiKind, tuple[int, int], bool]]) -> None:
    got = [(c.tag, c.kind, c.version, c.free_threaded) for c in interpreter_claims(_name(tags))]
    assert got == expected


def _abi3t_wheel(directory: Path, tag_lines: list[str]) -> Path:
    directory.mkdir()
    wheel = write_wheel(directory, "pkg", "1.0", "cp315-abi3.abi3t-linux_x86_64", {"pkg/a": b""})
    with zipfile.ZipFile(wheel) as z:
        members = {n: z.read(n) for n in z.namelist()}
    wheel_file = "pkg-1.0.dist-info/WHEEL"
    lines = [x for x in members[wheel_file].decode().splitlines() if not x.startswith("Tag:")]
    members[wheel_file] = "\n".join([*lines, *(f"Tag: {t}" for t in tag_lines), ""]).encode()
    record = "pkg-1.0.dist-info/RECORD"
    rows = [
        f"{n},sha256={base64.urlsafe_b64encode(hashlib.sha256(d).digest()).rstrip(b'=').decode()},"
        f"{len(d)}"
        for n, d in members.items()
        if n != record
    ]
    members[record] = ("\n".join([*rows, f"{record},,"]) + "\n").encode()
    with zipfile.ZipFile(wheel, "w") as z:
        for n, d in members.items():
            z.writestr(n, d)
    return wheel


def test_compressed_abi3_abi3t_tags_are_read_as_two(tmp_path: Path) -> None:
    """``abi3.abi3t`` is read everywhere tags are: WHEEL must list both expanded tags."""
    good = _abi3t_wheel(tmp_path / "good", ["cp315-abi3-linux_x86_64", "cp315-abi3t-linux_x86_64"])
    assert verify_wheel(good) == ()
    half = _abi3t_wheel(tmp_path / "half", ["cp315-abi3-linux_x86_64"])
    assert any("cp315-abi3t-linux_x86_64" in str(f) for f in verify_wheel(half))


def test_python_imports_bisects_sorted_groups() -> None:
    groups = [("PyInit_x", "PyList_New", "Py_DecRef", "abort"), ("_PyObject_New", "_Z3foo")]
    assert python_imports(groups) == ("PyList_New", "Py_DecRef", "_PyObject_New")


@pytest.fixture(scope="module")
def data() -> StableAbi:
    return StableAbi.load()


@pytest.mark.parametrize(
    ("arch", "libc", "suffix", "ok"),
    [
        ("aarch64", Libc.GLIBC, ".cpython-311-aarch64-linux-gnu.so", True),
        ("aarch64", Libc.GLIBC, ".cpython-311-x86_64-linux-gnu.so", False),
        ("x86_64", Libc.MUSL, ".cpython-311-x86_64-linux-musl.so", True),
        ("x86_64", Libc.MUSL, ".cpython-311-x86_64-linux-gnu.so", False),
        ("aarch64", Libc.ANDROID, ".cpython-311-aarch64-linux-android.so", True),
        ("x86_64", Libc.ANDROID, ".cpython-311-x86_64-linux-android.so", True),
        ("x86_64", Libc.ANDROID, ".cpython-311-x86_64-linux-gnu.so", False),
        ("armv7l", Libc.GLIBC, ".cpython-311-arm-linux-gnueabihf.so", True),
        ("i686", Libc.GLIBC, ".cpython-311-i386-linux-gnu.so", True),
        ("sparc64", Libc.GLIBC, ".cpython-311-sparc64-linux-gnu.so", True),  # unknown: any
        ("x86_64", Libc.GLIBC, ".cpython-310-x86_64-linux-gnu.so", False),
    ],
)
def test_version_specific_suffix(
    data: StableAbi, arch: str, libc: Libc, suffix: str, ok: bool
) -> None:
    module = ModuleFacts(f"pkg/m{suffix}", "m", ("PyList_New",))
    verdict = judge_python_abi(
        _name(f"cp311-cp311-linux_{arch}"), [module], arch=arch, libc=libc, data=data
    )
    assert verdict.ok is ok, verdict.problems


def test_abi3t_before_315_is_a_note(data: StableAbi) -> None:
    module = ModuleFacts("pkg/m.so", "m", ("PyLong_FromLong",), mod_export=True)
    verdict = judge_python_abi(
        _name("cp314-abi3t-linux_x86_64"), [module], arch="x86_64", data=data
    )
    assert verdict.ok
    assert [n.kind.value for n in verdict.notes] == ["reserved-tag"]


def test_a_symbol_a_missing_library_may_define_is_a_note(data: StableAbi) -> None:
    module = ModuleFacts("pkg/m.abi3.so", "m", ("PyMethod_New",), unresolved=("libshiboken.so",))
    verdict = judge_python_abi(_name("cp310-abi3-linux_x86_64"), [module], arch="x86_64", data=data)
    assert verdict.ok
    assert "libshiboken.so" in verdict.notes[0].message


@pytest.mark.parametrize(
    ("symbol", "why"),
    [
        ("PyErr_SetFromWindowsErr", "only on Windows"),
        ("_Py_RefTotal", "only debug builds"),
        ("_PyObject_GetDictPtr", "not in the Stable ABI"),
    ],
)
def test_symbols_linux_release_builds_lack(data: StableAbi, symbol: str, why: str) -> None:
    module = ModuleFacts("pkg/m.abi3.so", "m", (symbol,))
    verdict = judge_python_abi(_name("cp311-abi3-linux_x86_64"), [module], arch="x86_64", data=data)
    (problem,) = verdict.problems
    assert why in problem.message and problem.version == "never"


def test_libraries_are_judged_by_symbols_not_names(data: StableAbi) -> None:
    """A library (no module name) with a version-specific-looking name is not an extension."""
    library = ModuleFacts("pkg.libs/libhelper.cpython-311.so.1", None, ("PyList_New",))
    verdict = judge_python_abi(_name("cp38-abi3-linux_x86_64"), [library], arch="x86_64", data=data)
    assert verdict.ok and verdict.needed == (3, 2)


@pytest.mark.parametrize(
    ("imports", "abi", "gil_build"),
    [
        (("PyLong_FromLong", "_Py_Dealloc"), "cp313t", True),  # the GIL build's Py_DECREF
        (("_Py_Dealloc", "_Py_DecRefShared"), "cp313t", False),  # free-threaded refcounting too
        (("PyLong_FromLong",), "cp313t", False),  # no refcounting: the symbols cannot tell
        (("PyLong_FromLong", "_Py_Dealloc"), "cp313", False),
    ],
)
def test_a_gil_build_py_decref_under_a_free_threaded_tag(
    data: StableAbi, imports: tuple[str, ...], abi: str, gil_build: bool
) -> None:
    """A 3.13t module whose Py_DECREF calls _Py_Dealloc was built for the GIL-enabled build,
    whatever its file name says (test_python_abi_imports shows 3.13t refusing one)."""
    module = ModuleFacts(f"pkg/m.cpython-{abi[2:]}-x86_64-linux-gnu.so", "m", imports)
    verdict = judge_python_abi(
        _name(f"cp313-{abi}-linux_x86_64"), [module], arch="x86_64", data=data
    )
    assert [(p.kind.value, p.symbols) for p in verdict.problems] == (
        [("gil-build", ("_Py_Dealloc",))] if gil_build else []
    )
