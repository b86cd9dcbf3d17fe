"""The ``zig`` environment: builds run on this machine with its own interpreters, and zig (from
PyPI, cached) as the C/C++ compiler and linker for the policy's glibc (or musl), so a
manylinux2014 wheel comes out of a glibc 2.36 machine without docker or an old system.

An identifier is buildable when an interpreter for it was found on the host (same architecture
and libc): the extension gets that interpreter's headers and ABI, and zig's libc stubs of the
target version. Other architectures and musl need an interpreter of that kind; this environment
reports them as unavailable with the reason.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import PurePosixPath
from typing import BinaryIO

from manywheel.build.environment import Workspace, target_variables
from manywheel.build.host import HostSession, link_python
from manywheel.build.identifiers import BuildIdentifier, PythonImplementation, gnu_triple
from manywheel.build.interpreters import Interpreter
from manywheel.build.roots_cache import CacheDirectory
from manywheel.build.targets import TargetPolicies
from manywheel.build.zig import ZigToolchain, fetch_zig, write_wrappers, zig_target
from manywheel.policy import Libc

__all__ = ["MIN_PYTHON", "ZigEnvironment"]

#: The oldest Python the PEP 517 frontend (pypa/build) runs on.
MIN_PYTHON = (3, 8)


class ZigEnvironment:
    """``--env zig``. ``interpreters`` are the host's, best first per identifier; ``pip`` is the
    command that downloads ziglang the first time; ``zig`` skips that (an unpacked zig)."""

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
        searched: str = "pyenv, uv, PATH, --python",
        zig: ZigToolchain | None = None,
    ) -> None:
        self.interpreters = dict(interpreters)
        self.targets = targets
        self.cache = cache
        self.pip = tuple(pip)
        self.environ = dict(environ)
        self.host_arch = host_arch
        self.searched = searched
        self._zig = zig
        self._lock = threading.Lock()

    def unavailable(self, identifier: BuildIdentifier) -> str | None:
        if identifier.implementation is PythonImplementation.CPYTHON and (
            identifier.version < MIN_PYTHON
        ):
            return "CPython < 3.8 cannot run the PEP 517 frontend (pypa/build)"
        interpreter = self.interpreters.get(identifier)
        if interpreter is None:
            kind = "free-threaded " if identifier.free_threaded else ""
            impl = "PyPy" if identifier.implementation is PythonImplementation.PYPY else "CPython"
            libc = "musl" if identifier.libc is Libc.MUSL else "glibc"
            return (
                f"no {kind}{impl} {identifier.version[0]}.{identifier.version[1]} for "
                f"{identifier.arch} ({libc}) found ({self.searched})"
            )
        return interpreter.problem

    def target(self, identifier: BuildIdentifier) -> str:
        return self.targets.platform_tag(identifier)

    def prepare(self, identifiers: Sequence[BuildIdentifier], log: BinaryIO) -> None:
        if identifiers:
            self.toolchain(log)

    def toolchain(self, log: BinaryIO) -> ZigToolchain:
        """The zig to use, fetched (once per process, under the cache's lock) if not given."""
        with self._lock:
            if self._zig is None:
                self._zig = fetch_zig(self.cache, pip=self.pip, environ=self.environ, log=log)
            return self._zig

    def zig_target(self, identifier: BuildIdentifier) -> str:
        glibc = None if identifier.libc is Libc.MUSL else self.targets.libc_version(identifier)
        return zig_target(identifier.arch, identifier.libc, glibc)

    @contextmanager
    def open(
        self, identifier: BuildIdentifier, workspace: Workspace, log: BinaryIO
    ) -> Iterator[HostSession]:
        interpreter = self.interpreters[identifier]
        zig = self.toolchain(log)
        tools = workspace.scratch / "toolchain"
        prefix = PurePosixPath(workspace.prefix)
        wrappers = write_wrappers(
            tools,
            inside=PurePosixPath(tools),
            zig=PurePosixPath(zig.executable),
            zig_cache=PurePosixPath(self.cache.root / "toolchains" / f"zig-{zig.version}-cache"),
            target=self.zig_target(identifier),
            arch=identifier.arch,
            libc=identifier.libc,
            prefix=prefix,
            system_libraries=identifier.arch == self.host_arch,
        )
        python_bin = workspace.scratch / "bin"
        link_python(python_bin, interpreter.path)
        variables = {
            **target_variables(
                identifier,
                prefix,
                self.targets.platform_tag(identifier),
                gnu_triple(identifier.arch, identifier.libc),
            ),
            **wrappers.variables,
        }
        yield HostSession(
            identifier=identifier,
            python=interpreter.path,
            workspace=workspace,
            variables=variables,
            meson_native_file=wrappers.meson_native_file,
            base_environ=self.environ,
            path_first=(str(python_bin), str(wrappers.bin)),
            extra_ldpaths=(f"{prefix}/lib", f"{prefix}/lib64"),
        )
