"""Interpreters Debian does not ship, built from its sources: a free-threaded CPython that runs
a free-threaded extension without the GIL, and a musl CPython that imports a musllinux
extension through musl's own loader. Both through the test stage's clean systems."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from manywheel.build.roots import RootStore
from manywheel.build.roots_python import BuiltPython, PythonRecipe
from manywheel.build.roots_systems import CleanSystems
from manywheel.build.testing import TestSettings, TestStatus, test_wheel
from manywheel.elf import read_elf
from tests.harness.extensions import write_wheel

FREE_THREADED_MODULE = """\
#include <Python.h>
static PyObject *gil(PyObject *self, PyObject *args) { return PyBool_FromLong(1); }
static PyMethodDef methods[] = {{"loaded", gil, METH_NOARGS, NULL}, {NULL, NULL, 0, NULL}};
static PyModuleDef_Slot slots[] = {
    {Py_mod_gil, Py_MOD_GIL_NOT_USED},  /* without it, importing re-enables the GIL */
    {0, NULL}};
static struct PyModuleDef def = {PyModuleDef_HEAD_INIT, "ftmod", NULL, 0, methods, slots};
PyMODINIT_FUNC PyInit_ftmod(void) { return PyModuleDef_Init(&def); }
"""

MUSL_MODULE = """\
#include <Python.h>
#include <stdio.h>
static PyObject *libc(PyObject *self, PyObject *args) {
    char text[64];
    snprintf(text, sizeof text, "%s", "built with musl-gcc");
    return PyUnicode_FromString(text);
}
static PyMethodDef methods[] = {{"libc", libc, METH_NOARGS, NULL}, {NULL, NULL, 0, NULL}};
static struct PyModuleDef def = {PyModuleDef_HEAD_INIT, "muslmod", NULL, -1, methods};
PyMODINIT_FUNC PyInit_muslmod(void) { return PyModule_Create(&def); }
"""


def _headers(built: BuiltPython, dest: Path) -> Path:
    """The interpreter's include directory, unpacked from its overlay."""
    dest.mkdir()
    subprocess.run(["tar", "-I", "zstd", "-xf", str(built.overlay), "-C", str(dest)], check=True)
    prefix = dest / str(built.recipe.prefix).lstrip("/")
    return prefix / "include" / f"python{built.recipe.abi_version}"


def _compile(compiler: str, source: str, include: Path, output: Path) -> bytes:
    c_file = output.with_suffix(".c")
    c_file.write_text(source)
    argv = [compiler, "-shared", "-fPIC", "-O1", f"-I{include}", "-o", str(output), str(c_file)]
    subprocess.run(argv, check=True, capture_output=True, text=True)
    return output.read_bytes()


@pytest.mark.root
@pytest.mark.slow
def test_free_threaded_interpreter_runs_without_the_gil(
    free_threaded_python: BuiltPython, root_store: RootStore, tmp_path: Path
) -> None:
    include = _headers(free_threaded_python, tmp_path / "overlay")
    module = _compile("gcc", FREE_THREADED_MODULE, include, tmp_path / "ftmod.so")
    suffix = "ftmod.cpython-313t-x86_64-linux-gnu.so"
    wheel = write_wheel(
        tmp_path, "ftmod", "1.0", "cp313-cp313t-manylinux_2_17_x86_64", {suffix: module}
    )
    code = (
        "import sys, sysconfig, ftmod; assert ftmod.loaded();"
        "print(sys._is_gil_enabled(), sysconfig.get_config_var('Py_GIL_DISABLED'))"
    )
    settings = TestSettings(command=f'python -W error -c "{code}"')
    systems = CleanSystems(root_store, build_interpreters=False)
    result = test_wheel(wheel, systems=systems, settings=settings, project=tmp_path)
    assert result.status is TestStatus.PASSED, result.output
    assert result.output.splitlines()[-1] == "False 1"
    assert result.system is not None
    assert "CPython 3.13t built from source" in result.system


@pytest.mark.root
@pytest.mark.slow
def test_musl_interpreter_imports_a_musllinux_extension_through_musls_loader(
    musl_python: BuiltPython, root_store: RootStore, tmp_path: Path
) -> None:
    include = _headers(musl_python, tmp_path / "overlay")
    module = _compile("musl-gcc", MUSL_MODULE, include, tmp_path / "muslmod.so")
    built = read_elf(tmp_path / "muslmod.so")
    assert "libc.so.6" not in built.needed  # linked against musl, not glibc
    name = "muslmod.cpython-311-x86_64-linux-musl.so"
    wheel = write_wheel(
        tmp_path, "muslmod", "1.0", "cp311-cp311-musllinux_1_2_x86_64", {name: module}
    )
    code = (
        "import muslmod, sys; maps = open('/proc/self/maps').read();"
        "libs = sorted({l.split()[-1] for l in maps.splitlines() if '.so' in l});"
        "print(muslmod.libc()); print(*[l for l in libs if 'libc' in l or 'ld-' in l])"
    )
    settings = TestSettings(command=f'python -c "{code}"')
    systems = CleanSystems(root_store, build_interpreters=False)
    result = test_wheel(wheel, systems=systems, settings=settings, project=tmp_path)
    assert result.status is TestStatus.PASSED, result.output
    *_, message, loaded = result.output.splitlines()
    assert message == "built with musl-gcc"
    assert loaded == "/usr/lib/x86_64-linux-musl/libc.so", loaded  # musl's loader is its libc
    assert result.system is not None
    assert result.system.startswith("musl on Debian bookworm")


def test_a_recipe_refuses_what_cpython_cannot_build() -> None:
    with pytest.raises(ValueError, match="no free-threaded build"):
        PythonRecipe("bookworm", "3.11", free_threaded=True)
    with pytest.raises(ValueError, match="libc must be glibc or musl"):
        PythonRecipe("bookworm", "3.11", libc="uclibc")
    recipe = PythonRecipe("trixie", "3.13", free_threaded=True)
    assert recipe.name == "cpython-3.13t-trixie-amd64"
    assert str(recipe.prefix) == "/opt/manywheel/cpython-3.13t-trixie-amd64"
    assert "libssl-dev" in recipe.build_root.packages
    assert recipe.build_root.sources
    assert recipe.runtime_root.is_base
