"""Native fixtures for repair tests, built with gcc in a few hundred milliseconds each: small
shared libraries (a chain, one without SONAME, one needing a newer glibc), extensions linking
them, ELF executables for ``.data/scripts``, packed into wheels by the harness's wheel writer."""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from tests.harness.extensions import module_source, write_wheel
from tests.harness.sdists import HostPython

__all__ = ["Natives", "build_natives", "build_plugin_wheel", "gcc", "unfindable_library"]


def gcc(argv: Sequence[str]) -> None:
    result = subprocess.run(["gcc", *argv], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"gcc {' '.join(argv)} failed:\n{result.stderr}")


def _library(
    out: Path, name: str, source: str, *, soname: str | None, links: Sequence[str] = ()
) -> Path:
    c = out / f"{name}.c"
    c.write_text(source, encoding="utf-8")
    target = out / (soname or f"{name}.so")
    args = ["-shared", "-fPIC", "-O1", "-o", str(target), str(c), f"-L{out}", *links]
    if soname is not None:
        args.insert(0, f"-Wl,-soname,{soname}")
    gcc(args)
    if soname is not None and soname != f"{name}.so":
        (out / f"{name}.so").symlink_to(soname)
    return target


@dataclass(frozen=True, slots=True)
class Natives:
    """Where the libraries live (what ``AUDITWHEEL_LD_LIBRARY_PATH`` must name) and the wheels."""

    libdir: Path
    python: HostPython
    wheels: Path

    def extension(
        self,
        module: str,
        call: str,
        links: Sequence[str],
        *,
        body: str = "",
        extra: Sequence[str] = (),
    ) -> bytes:
        c = self.wheels / f"{module}.c"
        c.write_text(module_source(module, body, call), encoding="utf-8")
        so = self.wheels / f"{module}.so"
        gcc(
            [
                "-shared",
                "-fPIC",
                "-O1",
                f"-I{self.python.include}",
                "-o",
                str(so),
                str(c),
                *extra,
                f"-L{self.libdir}",
                *links,
            ]
        )
        return so.read_bytes()

    def executable(self, name: str, source: str, links: Sequence[str]) -> bytes:
        c = self.wheels / f"{name}.c"
        c.write_text(source, encoding="utf-8")
        exe = self.wheels / name
        gcc(
            [
                "-O1",
                "-o",
                str(exe),
                str(c),
                f"-L{self.libdir}",
                f"-Wl,-rpath-link,{self.libdir}",
                *links,
            ]
        )
        return exe.read_bytes()

    def wheel(
        self,
        distribution: str,
        files: dict[str, bytes],
        platform: str = "linux_x86_64",
        *,
        metadata: str = "",
    ) -> Path:
        tag = f"{self.python.abi}-{self.python.abi}-{platform}"
        return write_wheel(self.wheels, distribution, "1.0", tag, files, metadata=metadata)


def unfindable_library(directory: Path, soname: str) -> list[str]:
    """``soname`` (a ``gone()`` function) built in ``directory``, which no search reaches: the
    linker flags that link it."""
    directory.mkdir(parents=True, exist_ok=True)
    name = soname.split(".so", 1)[0]
    _library(directory, name, "int gone(void) { return 1; }\n", soname=soname)
    return [f"-L{directory}", f"-l{name.removeprefix('lib')}"]


def build_natives(directory: Path, python: HostPython) -> Natives:
    libdir, wheels = directory / "lib", directory / "wheels"
    libdir.mkdir(parents=True)
    wheels.mkdir(parents=True)
    _library(libdir, "libbar", "int bar(int x) { return x * 2; }\n", soname="libbar.so.1")
    _library(
        libdir,
        "libfoo",
        "int bar(int);\nint foo(int x) { return bar(x) + 1; }\n",
        soname="libfoo.so.1",
        links=["-lbar"],
    )
    _library(libdir, "libpriv", "int priv(void) { return 42; }\n", soname=None)
    _library(
        libdir,
        "libthreads",
        "#include <pthread.h>\nstatic void *run(void *a) { return a; }\n"
        "int spawn(void) { pthread_t t; if (pthread_create(&t, 0, run, 0)) return -1;"
        " return pthread_join(t, 0); }\n",
        soname="libthreads.so.1",
    )
    return Natives(libdir, python, wheels)


#: The extension's only entry: call(path) dlopens the plugin at ``path`` and calls plugin(1).
DLEXT = r"""
#include <Python.h>
#include <dlfcn.h>
static PyObject *call(PyObject *self, PyObject *args) {
    const char *path;
    if (!PyArg_ParseTuple(args, "s", &path)) return NULL;
    void *h = dlopen(path, RTLD_NOW);
    if (!h) { PyErr_SetString(PyExc_ImportError, dlerror()); return NULL; }
    int (*plugin)(int) = (int (*)(int))dlsym(h, "plugin");
    if (!plugin) { PyErr_SetString(PyExc_ImportError, dlerror()); return NULL; }
    return PyLong_FromLong(plugin(1));
}
static PyMethodDef methods[] = {{"call", call, METH_VARARGS, NULL}, {NULL, NULL, 0, NULL}};
static struct PyModuleDef def = {PyModuleDef_HEAD_INIT, "_dlext", NULL, -1, methods};
PyMODINIT_FUNC PyInit__dlext(void) { return PyModule_Create(&def); }
"""

#: The package looks for its plugin where a repair with --include puts it.
INIT = b"""import glob, os
from dlpkg._dlext import call
_found = glob.glob(os.path.join(os.path.dirname(__file__), "..", "dlpkg.libs", "libplugin-*"))
if not _found:
    raise ImportError("the plugin is not in dlpkg.libs")
RESULT = call(_found[0])
"""


def build_plugin_wheel(natives: Natives) -> Path:
    """Package ``dlpkg``: an extension that dlopens libplugin.so.1 (which needs libbar) from
    ``dlpkg.libs``, where only ``repair --include`` puts it."""
    src = natives.wheels / "plugin.c"
    src.write_text("int bar(int);\nint plugin(int x) { return bar(x) + 100; }\n")
    gcc(
        [
            "-shared",
            "-fPIC",
            "-Wl,-soname,libplugin.so.1",
            "-o",
            str(natives.libdir / "libplugin.so.1"),
            str(src),
            f"-L{natives.libdir}",
            "-lbar",
        ]
    )
    ext_c = natives.wheels / "dlext.c"
    ext_c.write_text(DLEXT)
    ext = natives.wheels / "_dlext.so"
    gcc(["-shared", "-fPIC", f"-I{natives.python.include}", "-o", str(ext), str(ext_c)])
    return natives.wheel("dlpkg", {"dlpkg/__init__.py": INIT, "dlpkg/_dlext.so": ext.read_bytes()})
