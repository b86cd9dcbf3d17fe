"""Extension modules built here with gcc against real CPython headers, for the Python-ABI checks:

- ``limited37`` / ``limited310`` / ``limited312``: ``Py_LIMITED_API`` 3.7, 3.10 and 3.12 (pyenv
  3.13.0's headers), each calling what its limited API has (``PyModule_AddType`` is 3.10,
  ``PyObject_Vectorcall`` 3.12; from 3.12 ``Py_DECREF`` is a call to ``_Py_DecRef``);
- ``nonlimited``: ``Py_LIMITED_API`` 3.8 plus a call of ``PyObject_CallOneArg``, which the
  Stable ABI does not have (declared by hand, as a careless build would reach it);
- ``gil314`` / ``ft314``: the full API of CPython 3.14.10 (Debian sid's ``libpython3.14-dev``),
  built as is and with ``Py_GIL_DISABLED=1`` — what a ``--disable-gil`` build's pyconfig.h
  defines — so ``Py_DECREF`` calls ``_Py_MergeZeroLocalRefcount``/``_Py_DecRefShared``;
- ``abi3t315``: ``Py_TARGET_ABI3T`` 3.15 with CPython 3.15.2's headers (sid), initialised through
  ``PyModExport_<name>`` (PEP 793), as abi3t requires;
- ``gilabi315``: ``Py_LIMITED_API`` 3.15 without abi3t, a static PyModuleDef: GIL-only.

For the import proofs (:func:`build_free_threading_modules`), the full API of CPython 3.13 with
multi-phase init and an ``answer()`` whose ``Py_DECREF`` the free-threaded headers make a call
of ``_Py_DecRefShared``/``_Py_MergeZeroLocalRefcount``: ``ft313`` (declares ``Py_mod_gil``
``Py_MOD_GIL_NOT_USED``) and ``ft313gil`` (does not) against a free-threaded interpreter's own
headers, and ``gil313`` against the GIL-enabled pyenv 3.13's.

Each ``.so`` is built once per session into a temporary directory (~0.2 s each); wheels are
written around them with whatever name and tag a test needs.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from tests.harness.availability import Unavailable
from tests.harness.cpython_debs import cpython_debs
from tests.harness.extensions import write_wheel
from tests.harness.sdists import find_python

__all__ = ["AbiModules", "build_abi_modules", "build_free_threading_modules", "module_wheel"]

_METHODS = """
static PyObject *answer(PyObject *self, PyObject *arg) { return PyLong_FromLong(42); }
static PyMethodDef methods[] = {{"answer", answer, METH_NOARGS, NULL}, {NULL, NULL, 0, NULL}};
"""


def _classic(name: str, body: str, call: str) -> str:
    """A module with a static PyModuleDef; ``call`` runs in PyInit with ``m`` the module."""
    return f"""#include <Python.h>
{_METHODS}
{body}
static struct PyModuleDef def = {{PyModuleDef_HEAD_INIT, "{name}", NULL, -1, methods}};
PyMODINIT_FUNC PyInit_{name}(void) {{
    PyObject *m = PyModule_Create(&def);
    if (m == NULL) return NULL;
    {call}
    return m;
}}
"""


LIMITED_CALLS = {
    0x03070000: "PyObject *o = PyLong_FromLong(1); Py_DECREF(o);",
    0x030A0000: "PyObject *o = PyLong_FromLong(1); Py_DECREF(o);"
    " if (PyModule_AddType(m, (PyTypeObject *)PyExc_ValueError) < 0) return NULL;",
    0x030C0000: "PyObject *o = PyObject_Vectorcall((PyObject *)&PyLong_Type, NULL, 0, NULL);"
    " Py_XDECREF(o);",
}

ABI3T = """#include <Python.h>
static PyObject *answer(PyObject *self, PyObject *arg) { return PyLong_FromLong(42); }
static PyMethodDef methods[] = {{"answer", answer, METH_NOARGS, NULL}, {NULL, NULL, 0, NULL}};
PyABIInfo_VAR(abi_info);
static PySlot slots[] = {
    PySlot_DATA(Py_mod_name, "NAME"),
    PySlot_STATIC_DATA(Py_mod_methods, methods),  /* else: "requires PySlot_STATIC" */
    PySlot_DATA(Py_mod_abi, &abi_info),
    PySlot_DATA(Py_mod_gil, Py_MOD_GIL_NOT_USED),
    {0}
};
PyMODEXPORT_FUNC PyModExport_NAME(void) { return slots; }
"""


FREE_THREADING = """#include <Python.h>
static PyObject *answer(PyObject *self, PyObject *unused) {
    PyObject *big = PyLong_FromLong(1000);  /* not immortal: Py_DECREF really decrements */
    if (big == NULL) return NULL;
    long value = PyLong_AsLong(big) / 25 + 2;
    Py_DECREF(big);
    return PyLong_FromLong(value);
}
static PyMethodDef methods[] = {{"answer", answer, METH_NOARGS, NULL}, {NULL, NULL, 0, NULL}};
static PyModuleDef_Slot slots[] = {
    GIL_SLOT
    {0, NULL}};
static struct PyModuleDef def = {PyModuleDef_HEAD_INIT, "NAME", NULL, 0, methods, slots};
PyMODINIT_FUNC PyInit_NAME(void) { return PyModuleDef_Init(&def); }
"""
#: Without it, a free-threaded CPython re-enables the GIL when it imports the module.
NO_GIL_SLOT = "{Py_mod_gil, Py_MOD_GIL_NOT_USED},"


@dataclass(frozen=True, slots=True)
class AbiModules:
    directory: Path
    #: name -> the built shared object
    built: dict[str, Path]
    #: name -> what it was built against (for messages)
    headers: dict[str, str]

    def data(self, name: str) -> bytes:
        return self.built[name].read_bytes()


def _gcc(source: str, out: Path, includes: list[Path], defines: list[str]) -> Path:
    c_file = out.with_suffix(".c")
    c_file.write_text(source, encoding="utf-8")
    argv = ["gcc", "-shared", "-fPIC", "-O1", *defines, *(f"-I{i}" for i in includes)]
    argv += ["-o", str(out), str(c_file)]
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed:\n{done.stderr}")
    return out


def build_abi_modules(directory: Path) -> AbiModules:
    """Build every module (see the module's doc). Raises :class:`Unavailable` when pyenv's 3.13
    or Debian's CPython packages cannot be had."""
    built: dict[str, Path] = {}
    headers: dict[str, str] = {}
    py313 = find_python("3.13")
    for limit, call in LIMITED_CALLS.items():
        name = f"limited3{(limit >> 16) & 0xFF}"
        source = _classic(name, "", call)
        built[name] = _gcc(
            source, directory / f"{name}.so", [py313.include], [f"-DPy_LIMITED_API={limit:#x}"]
        )
        headers[name] = f"CPython {py313.version}"
    body = "PyAPI_FUNC(PyObject *) PyObject_CallOneArg(PyObject *, PyObject *);"
    call = "PyObject *o = PyObject_CallOneArg((PyObject *)&PyLong_Type, m); Py_XDECREF(o);"
    built["nonlimited"] = _gcc(
        _classic("nonlimited", body, call),
        directory / "nonlimited.so",
        [py313.include],
        ["-DPy_LIMITED_API=0x03080000"],
    )
    headers["nonlimited"] = f"CPython {py313.version}"
    _sid_modules(directory, built, headers)
    return AbiModules(directory, built, headers)


def _sid_modules(directory: Path, built: dict[str, Path], headers: dict[str, str]) -> None:
    try:
        py314, py315 = cpython_debs("3.14"), cpython_debs("3.15")
    except (Unavailable, OSError, subprocess.SubprocessError) as e:
        raise Unavailable(f"CPython 3.14/3.15 packages from Debian: {e}") from e
    decref = "PyObject *o = PyLong_FromLong(1000); Py_DECREF(o);"
    for name, defines in (("gil314", []), ("ft314", ["-DPy_GIL_DISABLED=1"])):
        source = _classic(name, "", decref)
        built[name] = _gcc(source, directory / f"{name}.so", py314.include, defines)
        headers[name] = f"CPython {py314.package_version}"
    source = ABI3T.replace("NAME", "abi3t315")
    built["abi3t315"] = _gcc(
        source, directory / "abi3t315.so", py315.include, ["-DPy_TARGET_ABI3T=0x030f0000"]
    )
    source = _classic("gilabi315", "", decref)
    built["gilabi315"] = _gcc(
        source, directory / "gilabi315.so", py315.include, ["-DPy_LIMITED_API=0x030f0000"]
    )
    headers["abi3t315"] = headers["gilabi315"] = f"CPython {py315.package_version}"


def build_free_threading_modules(directory: Path, free_threaded_include: Path) -> AbiModules:
    """``ft313``, ``ft313gil`` (against ``free_threaded_include``, a 3.13t interpreter's
    ``include/python3.13t``) and ``gil313`` (pyenv 3.13's headers); see the module's doc."""
    built: dict[str, Path] = {}
    headers: dict[str, str] = {}
    py313 = find_python("3.13")
    variants = (
        ("ft313", free_threaded_include, NO_GIL_SLOT, "CPython 3.13t"),
        ("ft313gil", free_threaded_include, "", "CPython 3.13t"),
        ("gil313", py313.include, NO_GIL_SLOT, f"CPython {py313.version}"),
    )
    for name, include, slot, what in variants:
        source = FREE_THREADING.replace("NAME", name).replace("GIL_SLOT", slot)
        built[name] = _gcc(source, directory / f"{name}.so", [include], [])
        headers[name] = what
    return AbiModules(directory, built, headers)


def module_wheel(
    modules: AbiModules, out: Path, name: str, filename: str, tag: str, *, dist: str = ""
) -> Path:
    """A wheel ``<dist>-1.0-<tag>.whl`` holding module ``name`` as ``<dist>/<filename>``."""
    dist = dist or name
    out.mkdir(parents=True, exist_ok=True)
    files = {f"{dist}/{filename}": modules.data(name), f"{dist}/__init__.py": b""}
    return write_wheel(out, dist, "1.0", tag, files)
