"""A :class:`~manywheel.build.environment.Session` on this machine itself: paths inside are the
host's, commands run as subprocesses with the caller's environment (minus what would redirect
Python: ``PYTHONPATH``, ``PYTHONHOME``, ``VIRTUAL_ENV``), the session's variables on top, and
``python``/``python3`` and the toolchain's ``cc``/``c++`` first on ``PATH``."""

from __future__ import annotations

import os
import shlex
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import field
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, BinaryIO

from manywheel.build.environment import Workspace, shared_path
from manywheel.build.identifiers import BuildIdentifier
from manywheel.values import value_class

if TYPE_CHECKING:
    from manywheel.audit import AuditOptions

__all__ = ["HostSession", "clean_environment", "link_python"]

#: Variables of the calling process that must not reach a build: they would make the build's
#: interpreter import from, or install into, somewhere else.
_DROPPED = (
    "PYTHONPATH",
    "PYTHONHOME",
    "PYTHONSTARTUP",
    "PYTHONUSERBASE",
    "PYTHONEXECUTABLE",
    "VIRTUAL_ENV",
    "CONDA_PREFIX",
    "__PYVENV_LAUNCHER__",
    "PIP_PYTHON",
    "PIP_TARGET",
    "PIP_PREFIX",
    "PIP_USER",
    "PIP_REQUIRE_VIRTUALENV",
)


def clean_environment(environ: Mapping[str, str]) -> dict[str, str]:
    """``environ`` without what would redirect a build's Python (see :data:`_DROPPED`)."""
    return {k: v for k, v in environ.items() if k not in _DROPPED}


def link_python(bin_dir: Path, python: str) -> None:
    """``bin_dir/python`` and ``python3`` -> ``python`` (the build's interpreter on ``PATH``)."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    for name in ("python", "python3"):
        link = bin_dir / name
        link.unlink(missing_ok=True)
        link.symlink_to(python)


@value_class
class HostSession:
    """Commands run here; ``inside`` and ``outside`` are the identity on shared directories."""

    identifier: BuildIdentifier
    python: str
    workspace: Workspace
    variables: Mapping[str, str]
    meson_native_file: PurePosixPath | None
    base_environ: Mapping[str, str]
    #: Directories put first on ``PATH`` (the python links, the toolchain's wrappers).
    path_first: tuple[str, ...] = ()
    extra_ldpaths: tuple[str, ...] = field(default=())

    @property
    def prefix(self) -> PurePosixPath:
        return PurePosixPath(self.workspace.prefix)

    def inside(self, path: Path) -> PurePosixPath:
        return shared_path(path, self.workspace.shared, "this session")

    def outside(self, path: PurePosixPath) -> Path:
        return Path(shared_path(Path(path), self.workspace.shared, "this session"))

    def environment(self, env: Mapping[str, str]) -> dict[str, str]:
        merged = {**clean_environment(self.base_environ), **self.variables, **env}
        path = merged.get("PATH") or os.defpath
        merged["PATH"] = os.pathsep.join([*self.path_first, path])
        return merged

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
        started = time.monotonic()
        try:
            code = subprocess.run(
                list(argv),
                cwd=str(cwd),
                env=self.environment(env),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                timeout=timeout,
                check=False,
            ).returncode
        except subprocess.TimeoutExpired:
            log.write(f"manywheel: timed out after {timeout} s\n".encode())
            return 124
        except OSError as e:
            log.write(f"manywheel: cannot run {argv[0]}: {e.strerror or e}\n".encode())
            return 127
        log.write(
            f"manywheel: exit status {code} after {time.monotonic() - started:.1f} s\n".encode()
        )
        return code

    def audit_options(self) -> AuditOptions:
        from manywheel.audit import AuditOptions

        return AuditOptions(root="/", extra_ldpaths=self.extra_ldpaths)
