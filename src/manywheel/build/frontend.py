"""The PEP 517 frontend: pypa/build, as cibuildwheel uses it, run by the build's own interpreter.

Its pure-Python files (build, packaging, pyproject_hooks, tomli, importlib-metadata, zipp) are
installed once per pinned set into the cache with ``pip install --target --no-deps`` and put on
the frontend's ``sys.path`` only (a launcher inserts the directory; ``PYTHONPATH`` is never set,
so the isolated build environment and the backend never see these copies). pypa/build then
makes the isolated environment with the interpreter's ``venv`` and installs the project's
build requirements into it with pip, exactly as ``python -m build --wheel`` does.
"""

from __future__ import annotations

import hashlib
import shlex
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from manywheel.build.roots_cache import CacheDirectory, exclusive_lock, staging_dir
from manywheel.errors import ToolError

__all__ = ["FRONTEND_PINS", "Frontend", "ensure_frontend", "frontend_pins", "wheel_command"]

#: pypa/build and its dependencies, pinned per Python range (pure-Python wheels; tomli and
#: importlib-metadata are installed for every version in the range and used where needed).
FRONTEND_PINS: Mapping[str, tuple[str, ...]] = {
    "py38": (
        "build==1.2.2.post1",
        "packaging==24.2",
        "pyproject_hooks==1.2.0",
        "tomli==2.0.2",
        "importlib-metadata==8.5.0",
        "zipp==3.20.2",
    ),
    "py310": (
        "build==1.6.1",
        "packaging==26.3",
        "pyproject_hooks==1.3.3",
        "tomli==2.0.2",
        "importlib-metadata==8.5.0",
        "zipp==3.20.2",
    ),
}

#: Run by the build's interpreter: pypa/build's command line, from the frontend's directory.
_LAUNCHER = (
    "import sys; sys.path.insert(0, sys.argv.pop(1)); "
    "from build.__main__ import entrypoint; sys.argv[0] = 'build'; entrypoint()"
)


def frontend_pins(version: tuple[int, int]) -> str:
    """The :data:`FRONTEND_PINS` key for a Python version."""
    return "py38" if version < (3, 10) else "py310"


@dataclass(frozen=True, slots=True)
class Frontend:
    """An installed frontend: ``directory`` goes first on the launcher's ``sys.path``."""

    directory: Path
    pins: tuple[str, ...]


def ensure_frontend(
    cache: CacheDirectory,
    key: str,
    *,
    pip: Sequence[str],
    environ: Mapping[str, str],
    log: BinaryIO,
) -> Frontend:
    """The cached frontend for ``key`` (see :data:`FRONTEND_PINS`), installed the first time."""
    pins = FRONTEND_PINS[key]
    digest = hashlib.sha256("\n".join(pins).encode()).hexdigest()[:12]
    parent = cache.root / "frontend"
    directory = parent / f"{key}-{digest}"
    frontend = Frontend(directory, pins)
    if (directory / "build" / "__main__.py").is_file():
        return frontend
    with exclusive_lock(cache, f"frontend-{key}-{digest}"):
        if (directory / "build" / "__main__.py").is_file():
            return frontend
        with staging_dir(parent, f"{key}-{digest}") as staging:
            target = staging / "site"
            argv = [*pip, "install", "--no-deps", "--only-binary", ":all:", "--no-compile"]
            argv += ["--disable-pip-version-check", "--target", str(target), *pins]
            log.write(f"$ {shlex.join(argv)}\n".encode())
            log.flush()
            env = {k: v for k, v in environ.items() if not k.startswith("PYTHON")}
            try:
                code = subprocess.run(
                    argv, stdout=log, stderr=subprocess.STDOUT, env=env, check=False
                ).returncode
            except OSError as e:
                raise ToolError(f"cannot run pip ({argv[0]}): {e.strerror or e}") from e
            if code != 0:
                raise ToolError(f"pip could not install the PEP 517 frontend ({', '.join(pins)})")
            target.replace(directory)
    return frontend


def wheel_command(
    python: str,
    frontend: PurePosixPath,
    source: PurePosixPath,
    outdir: PurePosixPath,
    config_settings: Sequence[str] = (),
) -> list[str]:
    """``python -m build --wheel --outdir OUTDIR SOURCE`` with the cached frontend: the
    argument list :meth:`Session.run` gets (paths as seen inside)."""
    settings = [f"--config-setting={setting}" for setting in config_settings]
    return [
        python,
        "-c",
        _LAUNCHER,
        str(frontend),
        "--wheel",
        *settings,
        "--outdir",
        str(outdir),
        str(source),
    ]
