"""The ``zig`` environment: zig (from PyPI, cached) as the C/C++ compiler and linker for the
policy's glibc (or musl), so a manylinux2014 wheel comes out of a glibc 2.36 machine without
docker or an old system.

An identifier is built with a host interpreter of its kind when there is one (same
architecture and libc): the extension gets that interpreter's headers and ABI, and zig's libc
stubs of the target version. Otherwise, given a :class:`~manywheel.build.roots.RootStore`, the
interpreter comes from a Debian root (:mod:`manywheel.build.zig_roots`): another
architecture's Python under qemu with the compiler running natively, a musl or free-threaded
CPython built from source, a Python version only a newer suite ships. Roots and interpreters
that are not cached yet are made only when ``make_interpreters`` is set (minutes each, once).
"""

from __future__ import annotations

import tempfile
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from functools import cached_property
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, BinaryIO

from manywheel.build.environment import (
    EnvironmentUnavailableError,
    Session,
    Workspace,
    target_variables,
)
from manywheel.build.host import HostSession, link_python
from manywheel.build.identifiers import BuildIdentifier, PythonImplementation, gnu_triple
from manywheel.build.interpreters import Interpreter
from manywheel.build.qemu import BINFMT_CONF_DIRS
from manywheel.build.roots import RootStore, scratch_base
from manywheel.build.roots_cache import CacheDirectory, remove_tree
from manywheel.build.roots_index import PackageIndex
from manywheel.build.roots_python import built_python
from manywheel.build.roots_run import Bind
from manywheel.build.targets import TargetPolicies
from manywheel.build.zig import ZigToolchain, ZigWrappers, fetch_zig, write_wrappers, zig_target
from manywheel.build.zig_roots import RootInterpreter, missing_piece, root_interpreter
from manywheel.policy import Libc

if TYPE_CHECKING:
    from manywheel.build.roots_session import RootSession

__all__ = ["MIN_PYTHON", "RootSupport", "ZigEnvironment"]

#: The oldest Python the PEP 517 frontend (pypa/build) runs on.
MIN_PYTHON = (3, 8)


class RootSupport:
    """What root-backed zig builds need: the store that makes and caches roots, where pip
    inside finds packages (a :class:`PackageIndex`, or a function giving one, asked only when
    a root is used: reading pip's configuration takes a subprocess), and whether missing roots
    and interpreters may be made."""

    def __init__(
        self,
        store: RootStore,
        *,
        index: PackageIndex | Callable[[], PackageIndex] = PackageIndex,
        make_interpreters: bool = False,
        user_namespace: bool | None = None,
        binfmt_conf_dirs: tuple[Path, ...] = BINFMT_CONF_DIRS,
    ) -> None:
        self.store = store
        self._index = index
        self.make_interpreters = make_interpreters
        self.user_namespace = user_namespace
        self.binfmt_conf_dirs = binfmt_conf_dirs

    @cached_property
    def index(self) -> PackageIndex:
        return self._index if isinstance(self._index, PackageIndex) else self._index()


class ZigEnvironment:
    """``--env zig``. ``interpreters`` are the host's, best first per identifier; ``pip`` is the
    command that downloads ziglang the first time; ``zig`` skips that (an unpacked zig).
    Use it as a context manager (or call :meth:`close`): roots live until then."""

    name = "zig"

    def __init__(
        self,
        *,
        interpreters: Mapping[BuildIdentifier, Interpreter],
        targets: TargetPolicies,
        cache: CacheDirectory,
        pip: Sequence[str],
        environ: Mapping[str, str],
        host_arch: str,
        roots: RootSupport | None = None,
        searched: str = "pyenv, uv, PATH, --python",
        zig: ZigToolchain | None = None,
    ) -> None:
        self.interpreters = dict(interpreters)
        self.targets = targets
        self.cache = cache
        self.pip = tuple(pip)
        self.environ = dict(environ)
        self.host_arch = host_arch
        self.roots = roots
        self.searched = searched
        self._zig = zig
        self._lock = threading.Lock()
        self._unpacked: dict[str, Path] = {}
        self._workdir: Path | None = None

    def __enter__(self) -> ZigEnvironment:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Remove the roots this run unpacked."""
        with self._lock:
            if self._workdir is not None:
                remove_tree(self._workdir, ignore_errors=True)
            self._workdir = None
            self._unpacked.clear()

    def _source(self, identifier: BuildIdentifier) -> Interpreter | RootInterpreter | str:
        """The host interpreter, else the root one, else why neither."""
        interpreter = self.interpreters.get(identifier)
        if interpreter is not None:
            return interpreter
        kind = "free-threaded " if identifier.free_threaded else ""
        impl = "PyPy" if identifier.implementation is PythonImplementation.PYPY else "CPython"
        libc = "musl" if identifier.libc is Libc.MUSL else "glibc"
        host = (
            f"no {kind}{impl} {identifier.version[0]}.{identifier.version[1]} for "
            f"{identifier.arch} ({libc}) found ({self.searched})"
        )
        if self.roots is None:
            return host
        from_root = root_interpreter(identifier)
        if isinstance(from_root, str):
            return f"{host}; {from_root}"
        return from_root

    def unavailable(self, identifier: BuildIdentifier) -> str | None:
        if identifier.implementation is PythonImplementation.CPYTHON and (
            identifier.version < MIN_PYTHON
        ):
            return "CPython < 3.8 cannot run the PEP 517 frontend (pypa/build)"
        source = self._source(identifier)
        if isinstance(source, str):
            return source
        if isinstance(source, Interpreter):
            return source.problem
        assert self.roots is not None
        return missing_piece(
            source,
            self.roots.store,
            make=self.roots.make_interpreters,
            binfmt_conf_dirs=self.roots.binfmt_conf_dirs,
        )

    def target(self, identifier: BuildIdentifier) -> str:
        tag = self.targets.platform_tag(identifier)
        source = self._source(identifier)
        return f"{tag}-{source.spec.name}" if isinstance(source, RootInterpreter) else tag

    def prepare(self, identifiers: Sequence[BuildIdentifier], log: BinaryIO) -> None:
        if not identifiers:
            return
        self.toolchain(log)
        for identifier in identifiers:
            source = self._source(identifier)
            if isinstance(source, RootInterpreter):
                self._root(self.target(identifier), source, log)

    def toolchain(self, log: BinaryIO) -> ZigToolchain:
        """The zig to use, fetched (once per process, under the cache's lock) if not given."""
        with self._lock:
            if self._zig is None:
                self._zig = fetch_zig(self.cache, pip=self.pip, environ=self.environ, log=log)
            return self._zig

    def zig_target(self, identifier: BuildIdentifier) -> str:
        glibc = None if identifier.libc is Libc.MUSL else self.targets.libc_version(identifier)
        return zig_target(identifier.arch, identifier.libc, glibc)

    def _root(self, target: str, source: RootInterpreter, log: BinaryIO) -> Path:
        """The target's root, unpacked once per run (made or built first when allowed)."""
        assert self.roots is not None
        store = self.roots.store
        with self._lock:
            if target in self._unpacked:
                return self._unpacked[target]
            log.write(f"manywheel: preparing {source.description} for {target}\n".encode())
            log.flush()
            overlays = []
            if source.recipe is not None:
                overlays.append(built_python(store, source.recipe).overlay)
            if self._workdir is None:
                self._workdir = Path(tempfile.mkdtemp(prefix="manywheel-zig-", dir=scratch_base()))
            root = store.unpack(source.spec, self._workdir / target, overlays=overlays)
            (root / "usr/local").mkdir(parents=True, exist_ok=True)
            self._unpacked[target] = root
            return root

    def _wrappers(
        self,
        identifier: BuildIdentifier,
        workspace: Workspace,
        prefix: PurePosixPath,
        log: BinaryIO,
        *,
        system: bool,
    ) -> ZigWrappers:
        zig = self.toolchain(log)
        tools = workspace.scratch / "toolchain"
        return write_wrappers(
            tools,
            inside=PurePosixPath(tools),
            zig=PurePosixPath(zig.executable),
            zig_cache=PurePosixPath(self._zig_cache(zig)),
            target=self.zig_target(identifier),
            arch=identifier.arch,
            libc=identifier.libc,
            prefix=prefix,
            system_libraries=system,
        )

    def _zig_cache(self, zig: ZigToolchain) -> Path:
        return self.cache.root / "toolchains" / f"zig-{zig.version}-cache"

    def _variables(
        self, identifier: BuildIdentifier, prefix: PurePosixPath, wrappers: ZigWrappers
    ) -> dict[str, str]:
        tag = self.targets.platform_tag(identifier)
        triple = gnu_triple(identifier.arch, identifier.libc)
        return {**target_variables(identifier, prefix, tag, triple), **wrappers.variables}

    @contextmanager
    def open(
        self, identifier: BuildIdentifier, workspace: Workspace, log: BinaryIO
    ) -> Iterator[Session]:
        source = self._source(identifier)
        if isinstance(source, str):
            raise EnvironmentUnavailableError(f"{identifier} cannot be built here: {source}")
        python_bin = workspace.scratch / "bin"
        if isinstance(source, Interpreter):
            prefix = PurePosixPath(workspace.prefix)
            glibc_here = identifier.arch == self.host_arch and identifier.libc is Libc.GLIBC
            wrappers = self._wrappers(identifier, workspace, prefix, log, system=glibc_here)
            link_python(python_bin, source.path)
            yield HostSession(
                identifier=identifier,
                python=source.path,
                workspace=workspace,
                variables=self._variables(identifier, prefix, wrappers),
                meson_native_file=wrappers.meson_native_file,
                base_environ=self.environ,
                path_first=(str(python_bin), str(wrappers.bin)),
                extra_ldpaths=(f"{prefix}/lib", f"{prefix}/lib64"),
            )
            return
        yield self._root_session(identifier, source, workspace, log)

    def _root_session(
        self,
        identifier: BuildIdentifier,
        source: RootInterpreter,
        workspace: Workspace,
        log: BinaryIO,
    ) -> RootSession:
        # Imported here: a run that builds nothing in a root does not load roots' sessions
        # (nor, through them, the audit) before its builds start.
        from manywheel.build.roots_session import (
            ROOT_PREFIX,
            RootSession,
            environment_binds,
            workspace_binds,
        )

        assert self.roots is not None
        root = self._root(self.target(identifier), source, log)
        system = identifier.libc is Libc.GLIBC
        wrappers = self._wrappers(identifier, workspace, ROOT_PREFIX, log, system=system)
        python_bin = workspace.scratch / "bin"
        link_python(python_bin, str(source.python))
        zig = self.toolchain(log)
        cache = self._zig_cache(zig)
        cache.mkdir(parents=True, exist_ok=True)
        binds = [
            *environment_binds(self.roots.index, (), None),
            *workspace_binds(workspace),
            Bind(zig.home),
            Bind(cache, writable=True),
        ]
        base = {
            **self.roots.index.environment(),
            "PIP_DISABLE_PIP_VERSION_CHECK": "1",
            "PIP_ROOT_USER_ACTION": "ignore",
        }
        return RootSession(
            identifier=identifier,
            root=root,
            python=str(source.python),
            workspace=workspace,
            binds=tuple(binds),
            base_env=base,
            variables=self._variables(identifier, ROOT_PREFIX, wrappers),
            user_namespace=self.roots.user_namespace,
            meson_native_file=wrappers.meson_native_file,
            path_first=(str(python_bin), str(wrappers.bin)),
        )
