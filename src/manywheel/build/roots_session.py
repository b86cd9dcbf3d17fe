"""A build session inside a root (see :class:`~manywheel.build.Session`), for every environment
that runs its commands with :func:`~manywheel.build.roots_run.run_in_root`.

The workspace's scratch directory (read-write) and tools (read-only) are bound into the root at
their own host paths, so a path means the same inside and out; the target's native-dependency
prefix is the root's own ``/usr/local`` (the root is the target's, shared by its builds), which
the in-process repair finds because it resolves inside the root.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping, Sequence
from dataclasses import field
from pathlib import Path, PurePosixPath
from types import TracebackType
from typing import BinaryIO, TypeVar

from manywheel.audit import AuditOptions
from manywheel.build.environment import Workspace
from manywheel.build.identifiers import BuildIdentifier
from manywheel.build.roots_index import PackageIndex
from manywheel.build.roots_run import ROOT_PATH, Bind, run_in_root
from manywheel.values import value_class

__all__ = [
    "CA_BUNDLE",
    "ROOT_PREFIX",
    "Closing",
    "RootSession",
    "environment_binds",
    "multiarch",
    "shared_inside",
    "workspace_binds",
]

ROOT_PREFIX = PurePosixPath("/usr/local")
CA_BUNDLE = PurePosixPath("/etc/ssl/certs/ca-certificates.crt")
_Closing = TypeVar("_Closing", bound="Closing")
_MULTIARCH = {
    "i686": "i386-linux-gnu",
    "armv7l": "arm-linux-gnueabihf",
    "ppc64le": "powerpc64le-linux-gnu",
}


def multiarch(machine: str) -> str:
    """Debian's multiarch directory name for a wheel tag's architecture."""
    return _MULTIARCH.get(machine, f"{machine}-linux-gnu")


def shared_inside(workspace: Workspace, path: Path, where: str) -> PurePosixPath:
    """``path`` inside, where the workspace's scratch and tools are bound at their own paths;
    :class:`ValueError` for a path in neither."""
    absolute = path.absolute()
    for shared in (workspace.scratch, *workspace.tools):
        if absolute == shared.absolute() or shared.absolute() in absolute.parents:
            return PurePosixPath(absolute)
    raise ValueError(f"{path} is not shared with {where}")


class Closing:
    """An environment that holds something until :meth:`close`; a context manager too."""

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self: _Closing) -> _Closing:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()


def environment_binds(
    index: PackageIndex, binds: Sequence[Bind], ca_bundle: Path | None
) -> tuple[Bind, ...]:
    """What every session of an environment sees: the index's local directories, the caller's
    binds, and the host's CA bundle over the system's (for pip over TLS)."""
    ca = [Bind(ca_bundle, CA_BUNDLE)] if ca_bundle is not None and ca_bundle.is_file() else []
    return (*index.binds(), *binds, *ca)


def workspace_binds(workspace: Workspace) -> list[Bind]:
    """The scratch directory read-write and the tools read-only, at their own paths."""
    return [Bind(workspace.scratch, writable=True), *(Bind(tool) for tool in workspace.tools)]


@value_class
class RootSession:
    """One build's view of a root. ``base_env`` comes first (the index's ``PIP_*``...), then
    ``variables``, then a command's own; ``path_first`` goes before the root's ``PATH``."""

    identifier: BuildIdentifier
    root: Path
    python: str
    workspace: Workspace
    binds: tuple[Bind, ...]
    base_env: Mapping[str, str] = field(default_factory=dict)
    variables: Mapping[str, str] = field(default_factory=dict)
    user_namespace: bool | None = None
    meson_native_file: PurePosixPath | None = None
    path_first: tuple[str, ...] = ()

    @property
    def prefix(self) -> PurePosixPath:
        return ROOT_PREFIX

    def inside(self, path: Path) -> PurePosixPath:
        return shared_inside(self.workspace, path, f"the {self.root} root")

    def outside(self, path: PurePosixPath) -> Path:
        host = Path(path)
        self.inside(host)  # the same check: only shared directories map
        return host

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
        merged = {**self.base_env, **self.variables, **env}
        if self.path_first:
            merged["PATH"] = ":".join([*self.path_first, merged.get("PATH", ROOT_PATH)])
        result = run_in_root(
            self.root,
            argv,
            binds=self.binds,
            env=merged,
            cwd=str(cwd),
            timeout=timeout,
            log=log,
            user_namespace=self.user_namespace,
        )
        return result.returncode

    def audit_options(self) -> AuditOptions:
        """Resolve in the root, with the prefix's library directories searched too."""
        prefix = ROOT_PREFIX
        libs = (
            f"{prefix}/lib",
            f"{prefix}/lib64",
            f"{prefix}/lib/{multiarch(self.identifier.arch)}",
        )
        return AuditOptions(root=str(self.root), extra_ldpaths=libs)
