"""``manywheel lddtree``: what the dynamic loader would load for an ELF file, and why.

``FILE`` is an ELF file, a wheel (every ELF member, as ``elf`` reads it) or ``WHEEL:MEMBER``.
A wheel's members are resolved where they would be installed, beside each other (as ``show``
resolves them), without extracting anything; a path inside the wheel is shown as the member's
name (``pkg.libs/libfoo.so.1``: relative, where a path on the system is absolute), a tree's
first line as ``WHEEL:MEMBER``.

Search inputs, decided the way ``ldd`` and auditwheel users expect:

* ``LD_LIBRARY_PATH`` is honoured as the loader would (after RPATH, before RUNPATH), except with
  ``--root``: the host's environment says nothing about another system.
* ``AUDITWHEEL_LD_LIBRARY_PATH`` adds directories (searched after RUNPATH, before the system).
* ``--ldpaths`` replaces the system's directories (ld.so.cache, ld.so.conf, trusted defaults), as in
  auditwheel.
* Without ``--root``, this machine's loader decides ``$PLATFORM`` and the hwcaps subdirectories
  (:mod:`manywheel.cli.host`).

The text lists the objects in the order the loader loads them (breadth first): the file's
DT_NEEDED, then each loaded object's, each library once; a name an earlier object answers is
``[already-loaded]``, as ``show`` spells it. Nothing recurses as deep as the input.

Exit code 0 when everything is found and every version is defined, 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from manywheel.cli.audit_arguments import checked_root, search_paths
from manywheel.cli.context import Context, Subparsers
from manywheel.cli.exit_codes import ExitCode
from manywheel.values import value_class

if TYPE_CHECKING:
    from manywheel.elf import ElfFile
    from manywheel.linker import (
        DependencyTree,
        FileSystem,
        LoadedObject,
        Resolution,
        SearchSettings,
    )

__all__ = ["SCHEMA_VERSION", "register"]

SCHEMA_VERSION = 1
_RED = "1;31"
_YELLOW = "33"
_DIM = "2"
_INDENT = "    "


def register(subparsers: Subparsers, parent: argparse.ArgumentParser) -> None:
    parser = subparsers.add_parser(
        "lddtree",
        parents=[parent],
        help="show which library the dynamic loader would load for each DT_NEEDED, and why",
        description="Emulate the glibc, musl or Android loader for FILE without running it: an "
        "ELF file, every ELF member of a wheel (FILE.whl), or one member "
        "(FILE.whl:path/in/wheel.so), resolved where the wheel would install it.",
    )
    parser.add_argument("file", metavar="FILE", help="an ELF file, a wheel, or WHEEL:MEMBER")
    parser.add_argument(
        "--root",
        metavar="DIR",
        help="resolve as if DIR were the system (a Debian root, a sysroot); LD_LIBRARY_PATH "
        "is then ignored (default: this machine, /)",
    )
    parser.add_argument(
        "--ldpaths",
        metavar="PATHS",
        help="colon-separated directories that replace the system's (ld.so.cache, ld.so.conf, "
        "default directories); to add to them instead, set AUDITWHEEL_LD_LIBRARY_PATH "
        "(default: the system's)",
    )
    parser.add_argument(
        "--loaded-by",
        metavar="PROGRAM",
        help="resolve FILE as PROGRAM (e.g. /usr/bin/python3; inside --root if given) would "
        "dlopen() it: PROGRAM's libraries are already loaded and its RPATH is searched "
        "(default: FILE is loaded on its own)",
    )
    parser.add_argument(
        "--json", action="store_true", help="JSON on stdout, schema_version 1 (default: text)"
    )
    parser.set_defaults(handler=_handle)


@value_class
class _Target:
    """One tree to resolve: ``path`` (virtual) in ``fs``, under ``settings``; ``names`` turns
    virtual paths inside a wheel back into ``WHEEL:MEMBER``."""

    fs: FileSystem
    paths: tuple[str, ...]
    settings: SearchSettings
    names: dict[str, str]
    #: The wheel the members come from (``None``: a file).
    wheel: str | None = None
    #: For a whole wheel: resolve only the members loaded on their own (the others are in
    #: their trees), as ``show`` does.
    whole_wheel: bool = False


def _handle(args: argparse.Namespace, ctx: Context) -> int:
    from manywheel.linker import Resolver

    root = args.root if args.root is None else checked_root(args.root)
    settings = _settings(args, ctx, root)
    target = _target(args.file, root, settings)
    resolver = Resolver(target.fs, target.settings)
    if target.whole_wheel:
        from manywheel.audit import member_trees

        elves = {p: (target.names[p], target.fs.load_elf(p)) for p in target.paths}
        trees = list(member_trees(resolver, elves).values())
    else:
        trees = [resolver.resolve(p, loaded_by=args.loaded_by) for p in target.paths]
    show = _Namer(target.names)
    if args.json:
        documents = [_document(t, root or "/", target.settings, show, target) for t in trees]
        document = documents[0] if not target.whole_wheel else _wheel_document(args, documents)
        json.dump(document, ctx.stdout, indent=2)
        ctx.stdout.write("\n")
    else:
        for index, tree in enumerate(trees):
            if index:
                print(file=ctx.stdout)
            _render(tree, ctx, show, target)
    return int(ExitCode.OK if all(t.ok for t in trees) else ExitCode.FINDINGS)


def _settings(args: argparse.Namespace, ctx: Context, root: str | None) -> SearchSettings:
    from manywheel.linker import SearchSettings

    paths = search_paths(ctx.environ, root=root or "/", ldpaths=args.ldpaths)
    return SearchSettings(
        ld_library_path=paths.ld_library_path,
        extra_ldpaths=paths.extra_ldpaths,
        system_ldpaths=paths.system_ldpaths,
        cwd=paths.cwd,
    )


def _with_host(settings: SearchSettings, elf: ElfFile, root: str | None) -> SearchSettings:
    """On this machine (no ``--root``), what its own glibc loader takes from the CPU:
    ``$PLATFORM`` and the hwcaps subdirectories."""
    from manywheel.cli.host import host_loader
    from manywheel.linker import loader_platform

    if root is not None or elf.arch is None:
        return settings
    try:
        interpreter = loader_platform(elf.arch).interpreter
    except KeyError:
        return settings
    if elf.interpreter not in (None, interpreter):  # musl's or another loader's program
        return settings
    host = host_loader(elf.arch, interpreter)
    return replace(
        settings, platform=host.platform, hwcaps=host.hwcaps, legacy_subdirs=host.legacy_subdirs
    )


def _target(file: str, root: str | None, settings: SearchSettings) -> _Target:
    if ".whl:" in file and not Path(file).exists():
        wheel, _, member = file.partition(".whl:")
        return _wheel_target(wheel + ".whl", member, root, settings)
    if file.endswith(".whl"):
        return _wheel_target(file, None, root, settings)
    return _file_target(file, root, settings)


def _file_target(file: str, root: str | None, settings: SearchSettings) -> _Target:
    """FILE in the file system to search. A FILE outside ``--root`` is laid over the root at
    its own absolute path (its neighbours are not)."""
    from manywheel.elf import read_elf
    from manywheel.linker import OverlayFileSystem, RootFileSystem

    host = os.path.abspath(file)  # noqa: PTH100 (keep symlinks: the loader does)
    elf = read_elf(file)  # missing, a directory, a FIFO, not ELF...: said as such
    fs = RootFileSystem(root or "/")
    virtual = fs.virtual_path(host)
    settings = _with_host(settings, elf, root)
    if virtual is not None:
        return _Target(fs, (virtual,), settings, {})
    return _Target(OverlayFileSystem(fs, {host: elf}), (host,), settings, {})


def _wheel_target(
    wheel: str, member: str | None, root: str | None, settings: SearchSettings
) -> _Target:
    """The wheel's ELF members laid over the root where they would be installed (the members of
    another architecture than the one asked for, or the wheel's, left out)."""
    from manywheel.audit import flavor_of, installed_path, libc_of, scan_wheel
    from manywheel.errors import InvalidWheelError
    from manywheel.linker import OverlayFileSystem, RootFileSystem
    from manywheel.wheel import WheelArchive

    with WheelArchive.open(wheel) as archive:
        if member is not None and member not in archive:
            raise InvalidWheelError(f"no member {member!r}", path=wheel)
        scanned = scan_wheel(archive)
        filename = archive.filename
    if member is not None:
        chosen = next((s for s in scanned if s.member == member), None)
        if chosen is None:
            raise InvalidWheelError(f"{member} is not an ELF file", path=wheel)
        arch = chosen.elf.arch
    else:
        if not scanned:
            raise InvalidWheelError("no ELF members", path=wheel)
        arch = _wheel_arch(scanned)
    kept = [s for s in scanned if s.elf.arch == arch]
    files = {installed_path(s.member): s.elf for s in kept}
    names = {installed_path(s.member): s.member for s in kept}
    fs = OverlayFileSystem(RootFileSystem(root or "/"), files)
    flavor = flavor_of(libc_of(filename, files.values()))
    settings = replace(settings, flavor=flavor)
    if root is None and flavor.value == "glibc":
        settings = _with_host(settings, kept[0].elf, root)
    if member is not None:
        return _Target(fs, (installed_path(member),), settings, names, wheel)
    return _Target(fs, tuple(files), settings, names, wheel, whole_wheel=True)


def _wheel_arch(scanned: Any) -> str | None:
    """The architecture of the wheel's extensions, else of most of its ELF members."""
    from collections import Counter

    extensions = [s.elf.arch for s in scanned if s.elf.python_extension(s.member) is not None]
    if extensions:
        return str(extensions[0]) if extensions[0] is not None else None
    arch = Counter(s.elf.arch for s in scanned).most_common(1)[0][0]
    return None if arch is None else str(arch)


class _Namer:
    """Virtual paths inside a wheel as ``WHEEL:MEMBER``; others as they are."""

    def __init__(self, names: dict[str, str]) -> None:
        self._names = names

    def __call__(self, path: str | None) -> str | None:
        if path is None:
            return None
        return self._names.get(os.path.normpath(path), path)


# -- text ----------------------------------------------------------------------------------------


def _render(tree: DependencyTree, ctx: Context, show: _Namer, target: _Target) -> None:
    root = tree.root
    interp = tree.interpreter.path if tree.interpreter else "not found"
    if tree.interpreter is None and root.elf.interpreter is None and tree.flavor.value == "bionic":
        interp = "none (a library: Android's linker is in the process already)"
    arch = root.elf.arch or "?"
    name = show(root.path)
    if target.wheel is not None:
        name = f"{Path(target.wheel).name}:{name}"
    print(f"{name}  [{tree.flavor.value} {arch}, interpreter {interp}]", file=ctx.stdout)
    start = tree.objects.index(root)
    if start:
        host = show(tree.objects[0].path)
        print(f"  ({start} objects of {host} already loaded)", file=ctx.stdout)
    for obj in tree.objects[start:]:
        if not obj.needed:
            continue
        if obj is not root:
            print(f"  {_label(obj, show)} needs", file=ctx.stdout)
        for resolution in obj.needed:
            print(_INDENT + _line(resolution, ctx, show), file=ctx.stdout)
            if ctx.verbosity >= 1:
                for rejected in (r for r in resolution.rejected if not r.fatal):
                    detail = f"skipped {show(rejected.path)}: {rejected.detail}"
                    print(_INDENT * 2 + ctx.paint(detail, _DIM), file=ctx.stdout)
    if tree.version_failures:
        print(ctx.paint("version failures:", _RED), file=ctx.stdout)
        for failure in tree.version_failures:
            line = f"{_INDENT}{failure.message}"
            print(ctx.paint(line, _YELLOW if failure.weak else _RED), file=ctx.stdout)


def _label(obj: LoadedObject, show: _Namer) -> str:
    """The name an object was loaded by, and its path when that says more."""
    path = show(obj.path) or obj.path
    name = obj.found_by.name if obj.found_by is not None else path
    return name if name == path else f"{name} ({path})"


def _line(resolution: Resolution, ctx: Context, show: _Namer) -> str:
    from manywheel.linker import Rule

    if resolution.error is not None:
        return ctx.paint(f"{resolution.name} => error: {resolution.error}", _RED)
    if not resolution.found:
        return ctx.paint(f"{resolution.name} => not found", _RED)
    if resolution.rule is Rule.VDSO:
        return f"{resolution.name}  [vdso]"
    path = show(resolution.path)
    target = path if path != resolution.name else ""
    arrow = f"{resolution.name} => {target}" if target else resolution.name
    return f"{arrow}  {ctx.paint(_why(resolution, show), _DIM)}"


def _why(resolution: Resolution, show: _Namer) -> str:
    from manywheel.linker import Rule

    rule = resolution.rule
    assert rule is not None
    parts = [rule.value]
    if resolution.entry is not None and rule is not Rule.LD_SO_CACHE:
        parts.append(resolution.entry)
    owner = resolution.entry_owner
    if owner is not None and owner != resolution.requester:
        parts.append(f"of {show(owner)}")
    return "[" + " ".join(parts) + "]"


# -- JSON ----------------------------------------------------------------------------------------


def _wheel_document(args: argparse.Namespace, documents: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "schema_version": SCHEMA_VERSION,
        "wheel": args.file,
        "trees": documents,
        "ok": all(d["ok"] for d in documents),
    }


def _document(
    tree: DependencyTree, root: str, settings: SearchSettings, show: _Namer, target: _Target
) -> dict[str, Any]:
    return {
        "schema_version": SCHEMA_VERSION,
        "file": show(tree.root.path),
        "wheel": target.wheel,
        "loaded_by": tree.host.path if tree.host else None,
        "root": root,
        "flavor": tree.flavor.value,
        "arch": tree.root.elf.arch,
        "interpreter": tree.interpreter.path if tree.interpreter else None,
        "search": {
            "ld_library_path": list(settings.ld_library_path),
            "extra_ldpaths": list(settings.extra_ldpaths),
            "ldpaths": None if settings.system_ldpaths is None else list(settings.system_ldpaths),
            "platform": settings.platform,
            "hwcaps": list(settings.hwcaps),
        },
        "objects": [_object(obj, show) for obj in tree.objects],
        "not_found": [{"requester": show(r.requester), "name": r.name} for r in tree.not_found],
        "version_failures": [
            {
                "requester": show(f.requester),
                "library": f.library,
                "version": f.version,
                "weak": f.weak,
                "message": f.message,
            }
            for f in tree.version_failures
        ],
        "ok": tree.ok,
    }


def _object(obj: LoadedObject, show: _Namer) -> dict[str, Any]:
    return {
        "path": show(obj.path),
        "realpath": show(obj.realpath),
        "soname": obj.soname,
        "rpath": list(obj.elf.rpath),
        "runpath": list(obj.elf.runpath),
        "needed": [_resolution(r, show) for r in obj.needed],
    }


def _resolution(resolution: Resolution, show: _Namer) -> dict[str, Any]:
    return {
        "name": resolution.name,
        "path": show(resolution.path),
        "rule": resolution.rule.value if resolution.rule else None,
        "entry": resolution.entry,
        "directory": show(resolution.directory),
        "entry_owner": show(resolution.entry_owner),
        "loader_chain": [show(p) for p in resolution.loader_chain],
        "error": resolution.error,
        "rejected": [
            {"path": show(r.path), "reason": r.reason.value, "detail": r.detail, "fatal": r.fatal}
            for r in resolution.rejected
        ],
    }
