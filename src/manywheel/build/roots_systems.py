"""Which clean system proves a wheel: the oldest Debian root its tag allows, with an interpreter
of the wheel's Python, on the wheel's architecture (under qemu for another one), or a musl root.

A :class:`CleanSystem` is a root (a :class:`RootSpec`, plus overlays such as a built
interpreter, plus read-only binds such as a host interpreter) and the interpreter to test with.
:class:`CleanSystems` picks one for a wheel, in this order of preference for each suite from the
oldest glibc up (bullseye 2.31, bookworm 2.36, trixie 2.41, sid):

1. the suite's own ``python3.X`` (installed into a derived root when it is not the default);
2. for a free-threaded (``t``) wheel, CPython built ``--disable-gil`` from the suite's source;
3. a host interpreter (pyenv's) bound in read-only, when every glibc symbol version its files
   need is in the suite's glibc.

A musllinux wheel gets CPython built with musl from the oldest suite that has the version's
source. Interpreters are built (minutes, once, cached) only when ``build_interpreters`` allows.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from pathlib import Path, PurePosixPath

from packaging.tags import Tag
from packaging.utils import parse_wheel_filename

from manywheel.build.identifiers import BuildIdentifier, Platform
from manywheel.build.qemu import debian_arch, needs_emulation
from manywheel.build.roots import SUITES, RootSpec, RootStore
from manywheel.build.roots_python import BuiltPython, PythonRecipe, built_python, overlay_path
from manywheel.build.roots_run import Bind
from manywheel.build.roots_venv import DEBIAN_PIP_WHEELS
from manywheel.elf import read_elf
from manywheel.errors import InputError, ManywheelError
from manywheel.values import value_class

__all__ = [
    "CleanSystem",
    "CleanSystems",
    "NoCleanSystemError",
    "WheelTarget",
    "host_python_glibc",
    "wheel_target",
]

_ALIASES = {"manylinux1": (2, 5), "manylinux2010": (2, 12), "manylinux2014": (2, 17)}
_PLATFORM = re.compile(
    r"^(?:(?P<alias>manylinux1|manylinux2010|manylinux2014)"
    r"|(?P<family>manylinux|musllinux)_(?P<major>\d+)_(?P<minor>\d+)|(?P<linux>linux))_(?P<arch>.+)$"
)


class NoCleanSystemError(ManywheelError):
    """No clean system on this machine can run the wheel; the message says why."""


@value_class
class WheelTarget:
    """What a wheel needs of a system: Python (``minimum`` for abi3 and ``py3`` wheels),
    free-threading, libc and its oldest version the tags allow, architecture."""

    version: tuple[int, int] | None
    minimum: bool
    free_threaded: bool
    libc: str
    libc_version: tuple[int, int]
    arch: str | None  # a wheel tag's architecture; None for "any"

    @property
    def version_text(self) -> str:
        if self.version is None:
            return "3"
        return f"{self.version[0]}.{self.version[1]}" + ("t" if self.free_threaded else "")


def _python_of(tags: Iterable[Tag]) -> tuple[tuple[int, int] | None, bool, bool]:
    """(version, is-a-minimum, free-threaded) from the interpreter and ABI tags."""
    versions: list[tuple[int, int]] = []
    minimum = free_threaded = False
    for tag in tags:
        found = re.fullmatch(r"(?:cp|py)(\d)(\d*)", tag.interpreter)
        if found and found.group(2):
            versions.append((int(found.group(1)), int(found.group(2))))
        minimum = minimum or tag.abi in {"abi3", "none"}
        free_threaded = free_threaded or tag.abi.endswith("t")
    return (min(versions) if versions else None), minimum, free_threaded


def wheel_target(filename: str, identifier: BuildIdentifier | None = None) -> WheelTarget:
    """What the wheel ``filename`` needs; ``identifier`` (the build's) decides the Python of an
    abi3 wheel, as cibuildwheel tests it with the interpreter that built it."""
    try:
        _name, _version, _build, tags = parse_wheel_filename(filename)
    except ValueError as e:
        raise InputError(f"not a wheel filename: {e}", path=filename) from e
    version, minimum, free_threaded = _python_of(tags)
    libc, oldest, arch = "glibc", (99, 99), None
    for tag in tags:
        found = _PLATFORM.match(tag.platform)
        if tag.platform == "any" or found is None:
            continue
        arch = found["arch"]
        if found["alias"]:
            needs = _ALIASES[found["alias"]]
        elif found["linux"]:
            needs = (0, 0)
        else:
            libc = "musl" if found["family"] == "musllinux" else "glibc"
            needs = (int(found["major"]), int(found["minor"]))
        oldest = min(oldest, needs)
    if identifier is not None:
        version, minimum = identifier.version, False
        free_threaded = identifier.free_threaded
        libc = "musl" if identifier.platform is Platform.MUSLLINUX else libc
        arch = arch or identifier.arch
    return WheelTarget(version, minimum, free_threaded, libc, oldest if arch else (0, 0), arch)


@value_class
class CleanSystem:
    """A root to test in and the interpreter to use there."""

    description: str
    spec: RootSpec
    python: str
    overlays: tuple[Path, ...] = ()
    binds: tuple[Bind, ...] = ()
    #: Where pip wheels are (inside), in order: the interpreter's bundled one first.
    pip_wheel_dirs: tuple[PurePosixPath, ...] = (DEBIAN_PIP_WHEELS,)


def host_python_glibc(prefix: Path, version: str) -> tuple[int, int]:
    """The newest glibc symbol version the interpreter under ``prefix`` (its binary, libpython
    and extension modules) needs: the oldest glibc it runs on."""
    files = [prefix / "bin" / f"python{version}", *prefix.glob(f"lib/libpython{version}*.so*")]
    files += prefix.glob(f"lib/python{version}/lib-dynload/*.so")
    newest = (2, 0)
    for path in files:
        if not path.is_file() or path.is_symlink():
            continue
        try:
            elf = read_elf(path)
        except (ManywheelError, OSError):
            continue
        for need in elf.version_needs:
            for entry in need.entries:
                found = re.fullmatch(r"GLIBC_(\d+)\.(\d+)(?:\.\d+)?", entry.name)
                if found:
                    newest = max(newest, (int(found.group(1)), int(found.group(2))))
    return newest


def _key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


class CleanSystems:
    """Chooses (and makes, through ``store``) the clean system for each wheel.

    ``host_pythons`` maps ``"3.10"`` to a host interpreter's prefix (``/root/.pyenv/versions/
    3.10.13``), used where no Debian root has that version; ``build_interpreters`` allows
    building free-threaded and musl CPythons that are not cached yet (minutes each, once).
    """

    def __init__(
        self,
        store: RootStore,
        *,
        host_pythons: Mapping[str, Path] | None = None,
        build_interpreters: bool = True,
        jobs: int = 2,
    ) -> None:
        self.store = store
        self.host_pythons = dict(host_pythons or {})
        self.build_interpreters = build_interpreters
        self.jobs = jobs
        self._host_glibc: dict[str, tuple[int, int]] = {}

    def choose(self, filename: str, identifier: BuildIdentifier | None = None) -> CleanSystem:
        """The clean system for wheel ``filename``; :class:`NoCleanSystemError` says why none."""
        target = wheel_target(filename, identifier)
        arch = debian_arch(target.arch) if target.arch else self.store.native_arch
        suites = [s for s in SUITES.values() if s.glibc is None or s.glibc >= target.libc_version]
        if target.libc == "musl":
            return self._musl(target, arch)
        reasons: list[str] = []
        for suite in suites:
            system = self._in_suite(suite.name, target, arch, reasons)
            if system is not None:
                return system
        what = (
            f"CPython {target.version_text} on glibc >= {'.'.join(map(str, target.libc_version))}"
        )
        detail = f" ({'; '.join(reasons)})" if reasons else ""
        raise NoCleanSystemError(f"no clean system for {filename}: no {what} for {arch}{detail}")

    def _versions(self, suite: str, target: WheelTarget) -> list[str]:
        """The suite's pythons that fit the wheel, oldest first (the default python first)."""
        info = SUITES[suite]
        ordered = sorted(info.pythons, key=lambda v: (v != info.python, _key(v)))
        if target.version is None:
            return ordered
        wanted = f"{target.version[0]}.{target.version[1]}"
        if target.minimum:
            return [v for v in ordered if _key(v) >= _key(wanted)]
        return [v for v in ordered if v == wanted]

    def _in_suite(
        self, suite: str, target: WheelTarget, arch: str, reasons: list[str]
    ) -> CleanSystem | None:
        info = SUITES[suite]
        foreign = needs_emulation(arch, self.store.native_arch)
        for version in self._versions(suite, target):
            if target.free_threaded:
                built = self._built(PythonRecipe(suite, version, True, "glibc", arch), reasons)
                if built is not None:
                    return _built_system(built, f"Debian {suite} {arch}")
                continue
            packages = () if version == info.python else (f"python{version}-venv",)
            return CleanSystem(
                f"Debian {suite} {arch}{' (qemu)' if foreign else ''}, CPython {version}",
                RootSpec(suite, arch, packages),
                f"python{version}",
            )
        if target.version is None or target.free_threaded or foreign or info.glibc is None:
            return None
        return self._host(suite, info.glibc, target, arch)

    def _host(
        self, suite: str, glibc: tuple[int, int], target: WheelTarget, arch: str
    ) -> CleanSystem | None:
        assert target.version is not None
        version = f"{target.version[0]}.{target.version[1]}"
        candidates = [version] if not target.minimum else sorted(self.host_pythons, key=_key)
        for candidate in candidates:
            prefix = self.host_pythons.get(candidate)
            if prefix is None or (target.minimum and _key(candidate) < _key(version)):
                continue
            if candidate not in self._host_glibc:
                self._host_glibc[candidate] = host_python_glibc(prefix, candidate)
            if self._host_glibc[candidate] <= glibc:
                bundled = PurePosixPath(prefix) / "lib" / f"python{candidate}" / "ensurepip"
                return CleanSystem(
                    f"Debian {suite} {arch}, CPython {candidate} from {prefix}",
                    RootSpec(suite, arch),
                    str(PurePosixPath(prefix) / "bin" / f"python{candidate}"),
                    binds=(Bind(prefix),),
                    pip_wheel_dirs=(bundled / "_bundled", DEBIAN_PIP_WHEELS),
                )
        return None

    def _built(self, recipe: PythonRecipe, reasons: list[str]) -> BuiltPython | None:
        if needs_emulation(recipe.arch, self.store.native_arch):
            reasons.append(f"{recipe.name} would be built under qemu; not attempted")
            return None
        if not overlay_path(self.store.cache, recipe).is_file() and not self.build_interpreters:
            reasons.append(f"{recipe.name} is not built (building interpreters is off)")
            return None
        try:
            return built_python(self.store, recipe, jobs=self.jobs)
        except ManywheelError as e:
            reasons.append(f"{recipe.name}: {e}")
            return None

    def _musl(self, target: WheelTarget, arch: str) -> CleanSystem:
        reasons: list[str] = []
        for suite in (s for s in SUITES.values() if s.glibc is not None):
            for version in self._versions(suite.name, target):
                recipe = PythonRecipe(suite.name, version, target.free_threaded, "musl", arch)
                built = self._built(recipe, reasons)
                if built is not None:
                    return _built_system(built, f"musl on Debian {suite.name} {arch}")
        detail = f" ({'; '.join(reasons)})" if reasons else ""
        raise NoCleanSystemError(
            f"no musl CPython {target.version_text} for {arch} can be had here{detail}"
        )


def _built_system(built: BuiltPython, where: str) -> CleanSystem:
    return CleanSystem(
        f"{where}, CPython {built.recipe.abi_version} built from source ({built.recipe.name})",
        built.runtime,
        str(built.python),
        overlays=(built.overlay,),
        pip_wheel_dirs=(built.pip_wheels, DEBIAN_PIP_WHEELS),
    )
