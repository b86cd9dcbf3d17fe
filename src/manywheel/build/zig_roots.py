"""zig builds whose interpreter this machine lacks: another architecture's, a musl one, a
free-threaded one, a Python the host has no version of. The interpreter comes from a Debian root
(:mod:`manywheel.build.roots`): Debian's own ``python3.X`` (with ``-dev``, ``-venv`` and
``zlib1g-dev``) for glibc, or a CPython built from source and cached as an overlay for musl and
free-threaded builds. The build runs in that root through
:func:`~manywheel.build.roots_run.run_in_root`, with the static x86_64 zig bound in: only
Python (and the shell) run under qemu for another architecture, the compiler runs natively.

The native-dependency prefix of such a build is ``/opt/manywheel/prefix`` *inside the root's
tree*, so that the repair, which resolves libraries in the root, finds what before-all put
there; builds of one root share it (the environment's target names the root).
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, BinaryIO

from manywheel.build.environment import Workspace, shared_path
from manywheel.build.identifiers import BuildIdentifier, Platform, PythonImplementation
from manywheel.build.qemu import ARCHITECTURES, BINFMT_CONF_DIRS, debian_arch, needs_emulation
from manywheel.build.roots import SUITES, RootSpec, RootStore
from manywheel.build.roots_python import PythonRecipe, overlay_path
from manywheel.build.roots_run import ROOT_PATH, Bind, run_in_root

if TYPE_CHECKING:
    from manywheel.audit import AuditOptions

__all__ = [
    "ROOT_PREFIX",
    "RootInterpreter",
    "ZigRootSession",
    "missing_piece",
    "root_interpreter",
]

#: The prefix of builds in a root, inside it (and physically in its tree).
ROOT_PREFIX = PurePosixPath("/opt/manywheel/prefix")

#: The suites to take a Python from, oldest glibc first.
_SUITE_ORDER = tuple(s for s in SUITES if SUITES[s].glibc is not None) + tuple(
    s for s in SUITES if SUITES[s].glibc is None
)


@dataclass(frozen=True, slots=True)
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


@dataclass(frozen=True, slots=True)
class ZigRootSession:
    """A zig build inside a root (see :class:`~manywheel.build.Session`): the workspace's
    scratch and tools, zig and its cache are bound at their host paths."""

    identifier: BuildIdentifier
    root: Path
    python: str
    workspace: Workspace
    variables: Mapping[str, str]
    meson_native_file: PurePosixPath | None
    binds: tuple[Bind, ...]
    base_env: Mapping[str, str]
    user_namespace: bool | None
    path_first: tuple[str, ...] = field(default=())

    @property
    def prefix(self) -> PurePosixPath:
        return ROOT_PREFIX

    def inside(self, path: Path) -> PurePosixPath:
        return shared_path(path, self._shared, f"the {self.root} root")

    def outside(self, path: PurePosixPath) -> Path:
        return Path(shared_path(Path(path), self._shared, f"the {self.root} root"))

    @property
    def _shared(self) -> tuple[Path, ...]:
        """Bound at their own paths (the prefix is the root's own directory, not shared)."""
        return (self.workspace.scratch, *self.workspace.tools)

    def run(
        self,
        argv: Sequence[str],
        *,
        cwd: PurePosixPath,
        env: Mapping[str, str],
        log: BinaryIO,
        timeout: float | None = None,
    ) -> int:
        log.write(f"$ {shlex.join(argv)}\n".encode())
        log.flush()
        path = ":".join([*self.path_first, ROOT_PATH])
        result = run_in_root(
            self.root,
            argv,
            binds=self.binds,
            env={**self.base_env, **self.variables, **env, "PATH": path},
            cwd=str(cwd),
            timeout=timeout,
            log=log,
            user_namespace=self.user_namespace,
        )
        log.write(f"manywheel: exit status {result.returncode}\n".encode())
        return result.returncode

    def audit_options(self) -> AuditOptions:
        from manywheel.audit import AuditOptions

        return AuditOptions(
            root=str(self.root), extra_ldpaths=(f"{ROOT_PREFIX}/lib", f"{ROOT_PREFIX}/lib64")
        )
