"""The contract between the build runner and an environment: zig on the host, a Debian root, a
container. A new environment is a new module implementing these two Protocols, chosen in ``cli``.

How the runner uses one (``manywheel build``)::

    env.unavailable(identifier)       # cheap, no side effects: None, or one line saying why not
    env.target(identifier)            # identifiers with equal targets share a before-all and prefix
    env.prepare(identifiers, log)     # once per run: fetch/unpack what is cached (zig, a root)
    with env.open(identifier, workspace, log) as session:   # per before-all, per build
        session.run(["sh", "-c", "..."], cwd=session.inside(workspace.scratch), env={}, log=log)
        ...                           # the PEP 517 frontend runs through session.run too
        repair_wheel(..., audit=session.audit_options())   # while the session is still open
    env.close()                       # once, at the end: remove unpacked roots and the like

The repair targets ``session.variables["AUDITWHEEL_PLAT"]`` (the policy's platform tag).

The runner owns the host directories of a :class:`Workspace` (the build's scratch directory
with the project's copy and the frontend's output, the target's native-dependency prefix, the
frontend's own files) and a session makes them visible inside at paths :meth:`Session.inside`
gives. Everything a command needs to know about the target is in :attr:`Session.variables`:
the toolchain (``CC``, ``CXX``, ``AR``, ...), the prefix (``MANYWHEEL_PREFIX``, also on
``PKG_CONFIG_PATH``/``CMAKE_PREFIX_PATH``) and the target's names (:data:`TARGET_VARIABLES`).

Errors: :meth:`Environment.prepare` and :meth:`Environment.open` raise
:class:`~manywheel.ToolError` when a tool the environment needs is missing or fails (exit 4),
and :class:`EnvironmentUnavailableError` when the machine cannot provide it at all (no root,
no container engine); a command that fails is a non-zero return of :meth:`Session.run`, never an
exception. Nothing here reads the process's environment: the CLI passes it in.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, BinaryIO, Protocol

from manywheel.build.identifiers import BuildIdentifier
from manywheel.errors import ToolError
from manywheel.values import value_class

if TYPE_CHECKING:
    from manywheel.audit import AuditOptions

__all__ = [
    "TARGET_VARIABLES",
    "Environment",
    "EnvironmentUnavailableError",
    "Session",
    "Workspace",
    "shared_path",
    "target_variables",
]

#: The variables every session sets besides the toolchain's, for before-all/before-build
#: scripts: where to install native dependencies and what to build them for.
TARGET_VARIABLES = (
    "MANYWHEEL_PREFIX",  # install native dependencies here (``--prefix=$MANYWHEEL_PREFIX``)
    "MANYWHEEL_IDENTIFIER",  # cp311-manylinux_x86_64
    "MANYWHEEL_ARCH",  # x86_64, aarch64, ...
    "MANYWHEEL_PLATFORM",  # the policy's platform tag: manylinux_2_17_x86_64, musllinux_1_2_aarch64
    "MANYWHEEL_HOST",  # GNU triple for ``configure --host``: aarch64-linux-gnu, x86_64-linux-musl
    "AUDITWHEEL_PLAT",  # as in the manylinux images: the platform tag above
)


class EnvironmentUnavailableError(ToolError):
    """This machine cannot provide the environment at all (no root, no container engine, no
    way to run the target's architecture): like a missing tool, exit code 4. The message says
    what is missing."""


@value_class
class Workspace:
    """Host directories the runner owns, which a session makes visible inside (read-write).

    ``scratch`` is the build's own (the project's copy, the frontend's output, temporary files);
    ``prefix`` is shared by every build of the same :meth:`Environment.target` (before-all
    installs there, builds link against it); ``tools`` are the runner's own files that commands
    use but should not change (the PEP 517 frontend)."""

    scratch: Path
    prefix: Path
    tools: tuple[Path, ...] = ()

    @property
    def shared(self) -> tuple[Path, ...]:
        return (self.scratch, self.prefix, *self.tools)


class Session(Protocol):
    """One build's (or one before-all's) place to run commands, open until its context exits."""

    @property
    def identifier(self) -> BuildIdentifier: ...

    @property
    def python(self) -> str:
        """The interpreter for :attr:`identifier`, as a command inside (a path, or a name on
        the session's ``PATH``): it runs the frontend, and ``python`` in before-build."""
        ...

    @property
    def prefix(self) -> PurePosixPath:
        """:attr:`Workspace.prefix` as seen inside; also ``$MANYWHEEL_PREFIX``."""
        ...

    @property
    def variables(self) -> Mapping[str, str]:
        """What every command gets on top of the session's base environment: the toolchain
        (``CC``, ``CXX``, ``AR``, ``RANLIB``, ``LDSHARED``, ...), the prefix's search paths and
        :data:`TARGET_VARIABLES`. Paths are inside paths."""
        ...

    @property
    def meson_native_file(self) -> PurePosixPath | None:
        """A meson native file naming the toolchain (the runner passes it to meson-python as
        ``setup-args=--native-file=...``), or ``None`` when the environment's own compilers
        need none. CMake's toolchain file, if any, is ``CMAKE_TOOLCHAIN_FILE`` in
        :attr:`variables`."""
        ...

    def inside(self, path: Path) -> PurePosixPath:
        """Where the host path ``path`` (in one of the workspace's directories) is inside.
        Raises :class:`ValueError` for a path the session does not share."""
        ...

    def outside(self, path: PurePosixPath) -> Path:
        """The host path of an inside path in a shared directory (inverse of :meth:`inside`)."""
        ...

    def run(
        self,
        argv: Sequence[str],
        *,
        cwd: PurePosixPath,
        env: Mapping[str, str],
        log: BinaryIO,
        timeout: float | None = None,
    ) -> int:
        """Run ``argv`` inside, in ``cwd``, with the session's base environment (never the
        host's ``PIP_*``/``PYTHON*`` unless the environment is the host itself), then
        :attr:`variables`, then ``env``. stdout and stderr go to ``log``; returns the exit
        status (negative: killed by that signal; ``124`` for a timeout, as ``timeout(1)``)."""
        ...

    def audit_options(self) -> AuditOptions:
        """How the in-process repair resolves what the build linked: the system the wheel was
        built against (``root``: ``/`` for the host, the root's directory on the host for a
        Debian root) and the prefix's library directories (``extra_ldpaths``, as paths in that
        system). Valid while the session is open."""
        ...


class Environment(Protocol):
    """A kind of place builds run in, configured for one ``manywheel build`` run."""

    @property
    def name(self) -> str:
        """``zig``, ``debian:bookworm``, ``container:IMAGE``: as ``--env`` spells it."""
        ...

    def unavailable(self, identifier: BuildIdentifier) -> str | None:
        """``None`` when this environment can build ``identifier`` on this machine, else one
        line saying why not (``no CPython 3.14 interpreter found (pyenv, PATH, --python)``).
        Cheap and without side effects: nothing is downloaded or built."""
        ...

    def target(self, identifier: BuildIdentifier) -> str:
        """The name of the target ``identifier`` builds for (``manylinux_2_17_x86_64``,
        ``bookworm-arm64``): builds of one target share one before-all run and one prefix."""
        ...

    def prepare(self, identifiers: Sequence[BuildIdentifier], log: BinaryIO) -> None:
        """Make ready, once per run, what the builds of ``identifiers`` need (fetch and unpack
        cached toolchains, roots, images), under a lock so concurrent runs share the cache."""
        ...

    def open(
        self, identifier: BuildIdentifier, workspace: Workspace, log: BinaryIO
    ) -> AbstractContextManager[Session]:
        """A session for ``identifier`` with ``workspace``'s directories visible inside."""
        ...

    def close(self) -> None:
        """Release what :meth:`prepare` and :meth:`open` made for the run (unpacked roots,
        containers); the caches stay. Called once, after the last session."""
        ...


def shared_path(path: Path, shared: Sequence[Path], where: str) -> PurePosixPath:
    """``path`` as seen inside a session that binds each of ``shared`` at its own host path
    (:meth:`Session.inside` for such sessions); :class:`ValueError` for a path outside them."""
    absolute = path.absolute()
    for directory in shared:
        top = directory.absolute()
        if absolute == top or top in absolute.parents:
            return PurePosixPath(absolute)
    raise ValueError(f"{path} is not in a directory shared with {where}")


def target_variables(
    identifier: BuildIdentifier, prefix: PurePosixPath, platform_tag: str, host_triple: str
) -> dict[str, str]:
    """:data:`TARGET_VARIABLES` and the prefix's search paths, for an environment's
    :attr:`Session.variables` (``prefix`` and ``host_triple`` as seen inside)."""
    return {
        "MANYWHEEL_PREFIX": str(prefix),
        "MANYWHEEL_IDENTIFIER": str(identifier),
        "MANYWHEEL_ARCH": identifier.arch,
        "MANYWHEEL_PLATFORM": platform_tag,
        "MANYWHEEL_HOST": host_triple,
        "AUDITWHEEL_PLAT": platform_tag,
        "PKG_CONFIG_PATH": f"{prefix}/lib/pkgconfig:{prefix}/share/pkgconfig",
        "CMAKE_PREFIX_PATH": str(prefix),
    }
