"""The PEP 517 frontend: pypa/build, as cibuildwheel uses it, run by the build's own interpreter.

Its pure-Python files (build, packaging, pyproject_hooks, tomli, importlib-metadata, zipp) are
installed once per pinned set into the cache with ``pip install --target --no-deps`` and put on
the frontend's ``sys.path`` only (a launcher inserts the directory; ``PYTHONPATH`` is never set,
so the isolated build environment and the backend never see these copies). pypa/build then
makes the isolated environment with the interpreter's ``venv`` and installs the project's
build requirements into it with pip, exactly as ``python -m build --wheel`` does; with
``build[uv]`` (cibuildwheel's name), uv's static binary is installed next to the frontend,
where pypa/build finds it, and installs them instead (``--installer uv``): much faster, above
all for an interpreter under qemu, while uv itself runs natively.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from manywheel.build.roots_cache import CacheDirectory, exclusive_lock, staging_dir
from manywheel.build.tools import UV_VERSION, run_logged
from manywheel.errors import ToolError
from manywheel.values import value_class

__all__ = [
    "FRONTENDS",
    "FRONTEND_EQUIVALENTS",
    "FRONTEND_PINS",
    "Frontend",
    "ensure_frontend",
    "frontend_pins",
    "verbosity_flags",
    "wheel_command",
]

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


#: cibuildwheel's ``build-frontend`` values this supports: pypa/build with pip, or with uv as
#: its installer (uv's static binary, installed next to the frontend where pypa/build finds it).
FRONTENDS = ("build", "build[uv]")

#: cibuildwheel's other frontends, built with the one that makes the same wheel: ``pip wheel``
#: and ``python -m build`` both run the backend in an isolated environment that pip fills;
#: ``uv build`` is that with uv filling it.
FRONTEND_EQUIVALENTS: Mapping[str, str] = {"pip": "build", "uv": "build[uv]"}


@value_class
class Frontend:
    """An installed frontend: ``directory`` goes first on the launcher's ``sys.path``."""

    directory: Path
    pins: tuple[str, ...]
    #: ``uv`` is installed with it (``--installer uv``).
    uv: bool = False

    @property
    def quiet(self) -> bool:
        """Whether its pypa/build takes ``-q`` (from 1.3 on; the pin for Python < 3.10 is
        1.2.2.post1, which does not)."""
        version = next((p.split("==")[1] for p in self.pins if p.startswith("build==")), "")
        return not version.startswith(("0.", "1.0.", "1.1.", "1.2."))


def verbosity_flags(level: int) -> list[str]:
    """cibuildwheel's ``build-verbosity`` for pypa/build and ``build[uv]`` (its
    ``_get_verbosity_flags``): ``-q`` repeated for a negative level, ``-v`` repeated one time
    fewer than a level above 1 (pypa/build shows the backend's output already), nothing for
    0 and 1; ``level`` is clamped to -3..3 as cibuildwheel clamps it."""
    level = max(-3, min(3, level))
    if level < 0:
        return ["-" + "q" * -level]
    return ["-" + "v" * (level - 1)] if level > 1 else []


def ensure_frontend(
    cache: CacheDirectory,
    key: str,
    *,
    pip: Sequence[str],
    environ: Mapping[str, str],
    log: BinaryIO,
    uv_arch: str | None = None,
) -> Frontend:
    """The cached frontend for ``key`` (see :data:`FRONTEND_PINS`), installed the first time;
    with ``uv_arch``, uv's static binary for that (the machine's) architecture too."""
    pins = FRONTEND_PINS[key] + ((f"uv=={UV_VERSION}",) if uv_arch else ())
    digest = hashlib.sha256("\n".join([*pins, uv_arch or ""]).encode()).hexdigest()[:12]
    parent = cache.root / "frontend"
    name = f"{key}{'-uv' if uv_arch else ''}-{digest}"
    directory = parent / name
    frontend = Frontend(directory, pins, uv=uv_arch is not None)
    if (directory / "build" / "__main__.py").is_file():
        return frontend
    with exclusive_lock(cache, f"frontend-{name}"):
        if (directory / "build" / "__main__.py").is_file():
            return frontend
        with staging_dir(parent, name) as staging:
            target = staging / "site"
            argv = [*pip, "install", "--no-deps", "--only-binary", ":all:"]
            argv += ["--platform", f"musllinux_1_1_{uv_arch}"] if uv_arch else []
            argv += ["--disable-pip-version-check", "--target", str(target), *pins]
            env = {k: v for k, v in environ.items() if not k.startswith("PYTHON")}
            if run_logged(argv, env, log) != 0:
                raise ToolError(f"pip could not install the PEP 517 frontend ({', '.join(pins)})")
            target.replace(directory)
    return frontend


def wheel_command(
    python: str,
    frontend: PurePosixPath,
    source: PurePosixPath,
    outdir: PurePosixPath,
    config_settings: Sequence[str] = (),
    *,
    uv: bool = False,
    extra: Sequence[str] = (),
) -> list[str]:
    """``python -m build --wheel --outdir OUTDIR SOURCE`` with the cached frontend (``uv``:
    ``--installer uv``; ``extra``: the ``build-frontend`` option's ``args``): the argument
    list :meth:`Session.run` gets (paths as seen inside)."""
    settings = [f"--config-setting={setting}" for setting in config_settings]
    return [
        python,
        "-c",
        _LAUNCHER,
        str(frontend),
        "--wheel",
        *(["--installer", "uv"] if uv else []),
        *settings,
        *extra,
        "--outdir",
        str(outdir),
        str(source),
    ]
