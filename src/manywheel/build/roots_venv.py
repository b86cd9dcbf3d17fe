"""A fresh virtual environment inside a root, and pip for it without installing pip.

``python -m venv --without-pip`` takes ~1 s where ensurepip takes ~3 s (and ten times that under
qemu). pip then runs straight from a pip wheel (``python pip-X.whl/pip install ...``): the
interpreter's own bundled one (``ensurepip/_bundled``) or the root's
(``/usr/share/python-wheels``, Debian's ``python3-pip-whl``). It installs into the venv, and it
is the root's pip, not the host's, that decides whether a wheel's tags are supported there.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path, PurePosixPath

from manywheel.build.roots_errors import RootCommandError
from manywheel.build.roots_run import Bind, inside, run_in_root
from manywheel.values import value_class

__all__ = ["DEBIAN_PIP_WHEELS", "RootVenv", "find_pip_wheel", "make_venv"]

DEBIAN_PIP_WHEELS = PurePosixPath("/usr/share/python-wheels")


@value_class
class RootVenv:
    """A venv at ``path`` inside the root, which is ``host`` on the host."""

    host: Path
    path: PurePosixPath

    @property
    def python(self) -> str:
        return str(self.path / "bin" / "python")

    @property
    def bin(self) -> PurePosixPath:
        return self.path / "bin"

    def pip(self, pip_wheel: PurePosixPath) -> list[str]:
        """The start of a pip command for this venv, run from ``pip_wheel``."""
        return [self.python, str(pip_wheel / "pip"), "--disable-pip-version-check", "--no-input"]


def _version(wheel: Path) -> tuple[int, ...]:
    found = re.match(r"pip-(\d+(?:\.\d+)*)", wheel.name)
    return tuple(int(part) for part in found.group(1).split(".")) if found else ()


def find_pip_wheel(root: Path, directories: Iterable[PurePosixPath]) -> PurePosixPath | None:
    """The newest ``pip-*.whl`` in the first of ``directories`` (inside ``root``) that has one."""
    for directory in directories:
        wheels = sorted(inside(root, directory).glob("pip-*.whl"), key=_version)
        if wheels:
            return directory / wheels[-1].name
    return None


def make_venv(
    root: Path,
    directory: PurePosixPath,
    *,
    python: str = "python3",
    binds: Sequence[Bind] = (),
    env: Mapping[str, str] | None = None,
    timeout: float = 600,
) -> RootVenv:
    """A venv without pip at ``directory`` inside ``root``, made by ``python`` (a command or
    path inside). Raises :class:`RootCommandError` when the interpreter cannot make one."""
    result = run_in_root(
        root,
        [python, "-m", "venv", "--without-pip", str(directory)],
        binds=binds,
        env=env,
        timeout=timeout,
    )
    if result.returncode != 0:
        raise RootCommandError(
            f"{python} -m venv failed in {root} (exit {result.returncode})",
            tail=result.stdout + result.stderr,
        )
    return RootVenv(inside(root, directory), directory)
