"""Libraries a wheel loads with ``dlopen`` (invisible to DT_NEEDED) that the user names with
``--include``: found the way the loader would find the name, resolved with their own
dependencies, and judged (and grafted by a repair) like libraries the wheel links."""

from __future__ import annotations

import posixpath
from pathlib import Path

from manywheel.errors import InputError, InvalidElfError
from manywheel.linker import DependencyTree, FileSystem, Resolver, loader_platform, parse_ld_cache
from manywheel.values import value_class

__all__ = ["INCLUDE_REQUESTER", "Included", "locate_library", "resolve_includes"]

#: What "needed by" says of an included library.
INCLUDE_REQUESTER = "--include"


@value_class
class Included:
    #: As the user wrote it (a soname or a path).
    name: str
    #: The soname it is known by (its DT_SONAME, else its file name).
    soname: str
    #: Its virtual path in the audited system.
    path: str
    tree: DependencyTree


def _fits(fs: FileSystem, path: str, arch: str) -> bool:
    resolved = fs.resolve(path)
    if resolved is None:
        return False
    try:
        return fs.load_elf(resolved).arch == arch
    except InvalidElfError:
        return False


def _search_dirs(
    fs: FileSystem,
    name: str,
    arch: str,
    options_dirs: tuple[str, ...],
    system: tuple[str, ...] | None,
) -> list[str]:
    dirs = list(options_dirs)
    if system is not None:
        return dirs + list(system)
    platform = loader_platform(arch)
    data = fs.read_bytes("/etc/ld.so.cache")
    if data is not None:
        try:
            entry = parse_ld_cache(data, where="/etc/ld.so.cache").lookup(
                name, platform.cache_flags
            )
        except InputError:
            entry = None
        if entry is not None:
            dirs.append(posixpath.dirname(entry.path))
    return dirs + list(platform.default_dirs)


def locate_library(
    name: str,
    *,
    arch: str,
    fs: FileSystem,
    root: str,
    search: tuple[str, ...],
    system: tuple[str, ...] | None,
) -> str:
    """The virtual path of ``name``: a path as given (relative to the current directory when
    auditing this machine), or a soname searched in ``search`` (LD_LIBRARY_PATH and extra
    directories), then ``system`` or the system's ld.so.cache and default directories."""
    if "/" in name:
        path = str(Path(name).absolute()) if root == "/" else name
        if not _fits(fs, path, arch):
            raise InputError(f"no {arch} shared library at this path to include", path=name)
        return path
    for directory in _search_dirs(fs, name, arch, search, system):
        candidate = posixpath.join(directory, name)
        if _fits(fs, candidate, arch):
            return candidate
    raise InputError(f"cannot find a {arch} library called {name} to include", path=name)


def resolve_includes(
    names: tuple[str, ...],
    *,
    arch: str,
    resolver: Resolver,
    root: str,
    search: tuple[str, ...],
    system: tuple[str, ...] | None,
) -> tuple[Included, ...]:
    out = []
    for name in names:
        path = locate_library(
            name, arch=arch, fs=resolver.fs, root=root, search=search, system=system
        )
        tree = resolver.resolve(path)
        soname = tree.root.elf.soname or posixpath.basename(path)
        out.append(Included(name, soname, path, tree))
    return tuple(out)
