"""Bionic's loader (Android's ``linker64``) where it differs from glibc's, from AOSP's
``bionic/linker/linker.cpp``, ``linker_soinfo.cpp``, ``linker_utils.cpp``, ``linker_phdr.cpp`` and
``android-changes-for-ndk-developers.md``:

* a NEEDED with a slash is opened as it is; otherwise the search is ``LD_LIBRARY_PATH``, then the
  DT_RUNPATH of the object that needs it (only that object's: nothing is inherited), then the
  namespace's default directories (``/system/lib64``, ``/odm/lib64``, ``/vendor/lib64``);
* DT_RPATH is ignored (the linker warns "unused DT entry: DT_RPATH"), DT_RUNPATH is read from
  API 24 on; in it ``$ORIGIN``/``${ORIGIN}`` is the directory of the object's *real* path and
  ``$LIB``/``${LIB}`` is ``lib64`` (``lib`` for 32-bit), ``$PLATFORM`` is not substituted, and
  entries that are not absolute after substitution are dropped;
* no ld.so.cache, no ld.so.conf, no hwcaps subdirectories;
* the first file found is the one: a file of the wrong class or machine is an error, not skipped;
  the OS ABI byte is not checked;
* a name is answered by an object already loaded under it or with that DT_SONAME (API >= 23);
* an app's libraries see the system's libraries through a namespace link that exposes only the
  public (NDK) libraries; and a Python extension is loaded into a process that has already loaded
  ``libpython3.X.so``. Neither is a file under an audited root: they are the *platform's*
  (:attr:`~manywheel.linker.Rule.PLATFORM`) when no file answers the name.
"""

from __future__ import annotations

import posixpath
import re

from manywheel.elf import ElfClass, ElfFile

__all__ = [
    "BIONIC_INTERPRETERS",
    "PLATFORM_LIBRARIES",
    "bionic_default_dirs",
    "bionic_lib",
    "expand_bionic_entry",
    "is_bionic",
    "is_platform_library",
]

BIONIC_INTERPRETERS = ("/system/bin/linker64", "/system/bin/linker")

#: The public libraries of Android's system namespace: the NDK's stable libraries (every level;
#: developer.android.com/ndk/guides/stable_apis), and those the Python app itself ships for
#: extension modules (CPython's Android build: OpenSSL and SQLite renamed ``*_python.so``).
PLATFORM_LIBRARIES = frozenset(
    {
        "libaaudio.so",
        "libamidi.so",
        "libandroid.so",
        "libbinder_ndk.so",
        "libc.so",
        "libcamera2ndk.so",
        "libdl.so",
        "libEGL.so",
        "libGLESv1_CM.so",
        "libGLESv2.so",
        "libGLESv3.so",
        "libicu.so",
        "libjnigraphics.so",
        "liblog.so",
        "libm.so",
        "libmediandk.so",
        "libnativewindow.so",
        "libneuralnetworks.so",
        "libOpenMAXAL.so",
        "libOpenSLES.so",
        "libstdc++.so",
        "libsync.so",
        "libvulkan.so",
        "libz.so",
        "libcrypto_python.so",
        "libssl_python.so",
        "libsqlite3_python.so",
    }
)
_LIBPYTHON = re.compile(r"^libpython\d+\.\d+[a-z]*\.so(\.\d+)*$", re.ASCII)
_TOKEN = re.compile(r"\$(?:\{(ORIGIN|LIB)\}|(ORIGIN|LIB))")
_BIONIC_VERSION = re.compile(r"^LIBC(_[A-Z0-9]+)?$", re.ASCII)


def is_bionic(elf: ElfFile) -> bool:
    """Linked against Bionic: it has an Android ident note, Android's linker as interpreter, or
    needs a ``LIBC``-family symbol version from ``libc.so`` (musl, the other ``libc.so``, has no
    symbol versions)."""
    if elf.android is not None or elf.interpreter in BIONIC_INTERPRETERS:
        return True
    return any(
        need.file == "libc.so" and any(_BIONIC_VERSION.match(e.name) for e in need.entries)
        for need in elf.version_needs
    )


def is_platform_library(name: str) -> bool:
    """A public system library, or the app's libpython."""
    return name in PLATFORM_LIBRARIES or _LIBPYTHON.match(name) is not None


def _is64(elf: ElfFile) -> bool:
    return elf.header.elf_class == ElfClass.ELF64


def bionic_lib(elf: ElfFile) -> str:
    """What ``$LIB`` expands to."""
    return "lib64" if _is64(elf) else "lib"


def bionic_default_dirs(elf: ElfFile) -> tuple[str, ...]:
    """The default namespace's directories (``kDefaultLdPaths``)."""
    lib = bionic_lib(elf)
    return (f"/system/{lib}", f"/odm/{lib}", f"/vendor/{lib}")


def expand_bionic_entry(entry: str, *, origin: str, lib: str) -> str | None:
    """A DT_RUNPATH entry as Bionic uses it: tokens substituted, normalised; ``None`` when it is
    empty or not absolute (the linker drops it)."""
    values = {"ORIGIN": origin, "LIB": lib}
    expanded = _TOKEN.sub(lambda m: values[m.group(1) or m.group(2)], entry)
    if not expanded.startswith("/"):
        return None
    return posixpath.normpath(expanded)
