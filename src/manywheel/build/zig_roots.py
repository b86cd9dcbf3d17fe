"""zig builds whose interpreter this machine lacks: another architecture's, a musl one, a
free-threaded one, a Python the host has no version of. The interpreter comes from a Debian root
(:mod:`manywheel.build.roots`): Debian's own ``python3.X`` (with ``-dev``, ``-venv`` and
``zlib1g-dev``) for glibc, or a CPython built from source and cached as an overlay for musl and
free-threaded builds. The build runs in that root through
:func:`~manywheel.build.roots_run.run_in_root`, with the static x86_64 zig bound in: only
Python (and the shell) run under qemu for another architecture, the compiler runs natively.

Such a build runs in a :class:`~manywheel.build.roots_session.RootSession`: its
native-dependency prefix is the root's own ``/usr/local`` (as in the manylinux images), which
the repair, resolving libraries in the root, finds; builds of one root share it (the
environment's target names the root).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path, PurePosixPath

from manywheel.build.identifiers import BuildIdentifier, Platform, PythonImplementation
from manywheel.build.qemu import ARCHITECTURES, BINFMT_CONF_DIRS, debian_arch, needs_emulation
from manywheel.build.roots import SUITES, RootSpec, RootStore
from manywheel.build.roots_python import PythonRecipe, overlay_path
from manywheel.values import value_class

__all__ = ["RootInterpreter", "missing_piece", "root_interpreter"]

#: The suites to take a Python from, oldest glibc first.
_SUITE_ORDER = tuple(s for s in SUITES if SUITES[s].glibc is not None) + tuple(
    s for s in SUITES if SUITES[s].glibc is None
)


@value_class
class RootInterpreter:
    """Where a root-backed build's interpreter comes from."""

    #: The root the build runs in (for a built interpreter: its runtime root).
    spec: RootSpec
    python: PurePosixPath
    #: A CPython built from source, unpacked over ``spec`` (``None``: Debian's own python).
    recipe: PythonRecipe | None = None

    @property
    def description(self) -> str:
        if self.recipe is not None:
            return f"CPython {self.recipe.abi_version} built from source ({self.recipe.name})"
        return f"Debian {self.spec.suite} {self.spec.arch}'s {self.python}"


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


def _suites_with(version: str) -> list[str]:
    return [s for s in _SUITE_ORDER if version in SUITES[s].pythons]


def root_interpreter(identifier: BuildIdentifier) -> RootInterpreter | str:
    """How a root can give ``identifier`` its interpreter, or why none can."""
    if identifier.implementation is not PythonImplementation.CPYTHON:
        return "only CPython comes from Debian roots"
    try:
        arch = debian_arch(identifier.arch)
    except ValueError:
        return f"no Debian architecture for {identifier.arch}"
    version = f"{identifier.version[0]}.{identifier.version[1]}"
    suites = _suites_with(version)
    if not suites:
        shipped = sorted({v for s in SUITES.values() for v in s.pythons}, key=_version_key)
        return f"no Debian suite here ships CPython {version} (they ship {', '.join(shipped)})"
    suite = suites[0]
    musl = identifier.platform is Platform.MUSLLINUX
    if musl or identifier.free_threaded:
        recipe = PythonRecipe(
            suite, version, identifier.free_threaded, "musl" if musl else "glibc", arch
        )
        python = recipe.prefix / "bin" / f"python{recipe.abi_version}"
        return RootInterpreter(recipe.runtime_root, python, recipe)
    packages = (f"python{version}-dev", f"python{version}-venv", "zlib1g-dev")
    spec = RootSpec(suite, arch, packages)
    return RootInterpreter(spec, PurePosixPath(f"/usr/bin/python{version}"))


def missing_piece(
    interpreter: RootInterpreter,
    store: RootStore,
    *,
    make: bool,
    binfmt_conf_dirs: Sequence[Path] = BINFMT_CONF_DIRS,
) -> str | None:
    """Why ``interpreter`` cannot be had here (cheaply: only the cache and qemu's
    registration files are looked at), or ``None``."""
    arch = interpreter.spec.arch
    if needs_emulation(arch, store.native_arch):
        qemu = ARCHITECTURES[arch].qemu
        if not any((d / f"qemu-{qemu}.conf").is_file() for d in binfmt_conf_dirs):
            return (
                f"running {arch} programs on this {store.native_arch} machine needs "
                "qemu-user-static (apt-get install qemu-user-static)"
            )
    recipe = interpreter.recipe
    cached = (store.cache.roots / interpreter.spec.archive_name).is_file()
    if recipe is not None:
        cached = cached and overlay_path(store.cache, recipe).is_file()
        if not cached and needs_emulation(arch, store.native_arch):
            return f"{interpreter.description} is not cached (building it under qemu takes hours)"
    if not cached and not make:
        return f"{interpreter.description} is not cached here (--make-interpreters makes it once)"
    return None
