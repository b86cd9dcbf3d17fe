"""``manywheel lddtree``: what the dynamic loader would load for an ELF file, and why.

Search inputs, decided the way ``ldd`` and auditwheel users expect:

* ``LD_LIBRARY_PATH`` is honoured as the loader would (after RPATH, before RUNPATH), except with
  ``--root``: the host's environment says nothing about another system.
* ``AUDITWHEEL_LD_LIBRARY_PATH`` adds directories (searched after RUNPATH, before the system).
* ``--ldpaths`` replaces the system's directories (ld.so.cache, ld.so.conf, trusted defaults), as in
  auditwheel.

Exit code 0 when everything is found and every version is defined, 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
from typing import TYPE_CHECKING, Any

from manywheel.cli.audit_arguments import checked_root
from manywheel.cli.context import Context, Subparsers
from manywheel.cli.exit_codes import ExitCode

if TYPE_CHECKING:
    from manywheel.linker import DependencyTree, LoadedObject, Resolution

__all__ = ["SCHEMA_VERSION", "register"]

SCHEMA_VERSION = 1
_RED = "1;31"
_YELLOW = "33"
_DIM = "2"


def register(subparsers: Subparsers, parent: argparse.ArgumentParser) -> None:
    parser = subparsers.add_parser(
        "lddtree",
        parents=[parent],
        help="show which library the dynamic loader would load for each DT_NEEDED, and why",
        description="Emulate the glibc or musl dynamic loader for FILE without running it.",
    )
    parser.add_argument("file", metavar="FILE", help="an ELF program or shared library")
    parser.add_argument(
        "--root",
        metavar="DIR",
        help="resolve as if DIR were the system (a Debian root, a sysroot); LD_LIBRARY_PATH "
        "is then ignored",
    )
    parser.add_argument(
        "--ldpaths",
        metavar="P",
        help="colon-separated directories that replace the system's (ld.so.cache, ld.so.conf, "
        "default directories); to add to them instead, set AUDITWHEEL_LD_LIBRARY_PATH",
    )
    parser.add_argument(
        "--loaded-by",
        metavar="PROGRAM",
        help="resolve FILE as PROGRAM (e.g. /usr/bin/python3; inside --root if given) would "
        "dlopen() it: PROGRAM's libraries are already loaded and its RPATH is searched",
    )
    parser.add_argument("--json", action="store_true", help="JSON on stdout (schema_version 1)")
    parser.set_defaults(handler=_handle)


def _handle(args: argparse.Namespace, ctx: Context) -> int:
    from manywheel.linker import Resolver, SearchSettings, split_search_path

    root = args.root if args.root is None else checked_root(args.root)
    llp = "" if root else ctx.environ.get("LD_LIBRARY_PATH", "")
    extra = ctx.environ.get("AUDITWHEEL_LD_LIBRARY_PATH", "")
    settings = SearchSettings(
        ld_library_path=split_search_path(llp),
        extra_ldpaths=tuple(p for p in extra.split(":") if p),
        system_ldpaths=None
        if args.ldpaths is None
        else tuple(p for p in args.ldpaths.split(":") if p),
    )
    fs, path = _file_system(args.file, root)
    tree = Resolver(fs, settings).resolve(path, loaded_by=args.loaded_by)
    if args.json:
        document = _document(tree, root or "/", settings)
        json.dump(document, ctx.stdout, indent=2)
        ctx.stdout.write("\n")
    else:
        _render(tree, ctx)
    return int(ExitCode.OK if tree.ok else ExitCode.FINDINGS)


def _file_system(file: str, root: str | None) -> tuple[Any, str]:
    """The file system to search and FILE's path in it. A FILE outside ``--root`` is laid over
    the root at its own absolute path (its neighbours are not)."""
    from manywheel.elf import read_elf
    from manywheel.errors import open_regular
    from manywheel.linker import OverlayFileSystem, RootFileSystem

    host = os.path.abspath(file)  # noqa: PTH100 (keep symlinks: the loader does)
    os.close(open_regular(file))  # missing, a directory, a FIFO...: said as such
    fs = RootFileSystem(root or "/")
    virtual = fs.virtual_path(host)
    if virtual is not None:
        return fs, virtual
    return OverlayFileSystem(fs, {host: read_elf(host)}), host


# -- text ----------------------------------------------------------------------------------------


def _render(tree: DependencyTree, ctx: Context) -> None:
    root = tree.root
    interp = tree.interpreter.path if tree.interpreter else "not found"
    if tree.interpreter is None and root.elf.interpreter is None and tree.flavor.value == "bionic":
        interp = "none (a library: Android's linker is in the process already)"
    arch = root.elf.arch or "?"
    print(f"{root.path}  [{tree.flavor.value} {arch}, interpreter {interp}]", file=ctx.stdout)
    expanded: set[str] = {root.path}
    _render_children(tree, root, 1, expanded, ctx)
    if tree.version_failures:
        print(ctx.paint("version failures:", _RED), file=ctx.stdout)
        for failure in tree.version_failures:
            line = f"    {failure.message}"
            print(ctx.paint(line, _YELLOW if failure.weak else _RED), file=ctx.stdout)


def _render_children(
    tree: DependencyTree, obj: LoadedObject, depth: int, expanded: set[str], ctx: Context
) -> None:
    indent = "    " * depth
    for resolution in obj.needed:
        print(indent + _line(resolution, ctx), file=ctx.stdout)
        if ctx.verbosity >= 1:
            for rejected in (r for r in resolution.rejected if not r.fatal):
                detail = f"skipped {rejected.path}: {rejected.detail}"
                print(indent + "    " + ctx.paint(detail, _DIM), file=ctx.stdout)
        child = tree.get(resolution.path) if resolution.path else None
        if child is not None and child.path not in expanded and child.found_by == resolution:
            expanded.add(child.path)
            _render_children(tree, child, depth + 1, expanded, ctx)


def _line(resolution: Resolution, ctx: Context) -> str:
    from manywheel.linker import Rule

    if resolution.error is not None:
        return ctx.paint(f"{resolution.name} => error: {resolution.error}", _RED)
    if not resolution.found:
        return ctx.paint(f"{resolution.name} => not found", _RED)
    if resolution.rule is Rule.VDSO:
        return f"{resolution.name}  [vdso]"
    target = resolution.path if resolution.path != resolution.name else ""
    arrow = f"{resolution.name} => {target}" if target else resolution.name
    return f"{arrow}  {ctx.paint(_why(resolution), _DIM)}"


def _why(resolution: Resolution) -> str:
    from manywheel.linker import Rule

    rule = resolution.rule
    assert rule is not None
    if rule is Rule.ALREADY_LOADED:
        return "[already loaded]"
    parts = [rule.value]
    if resolution.entry is not None and rule is not Rule.LD_SO_CACHE:
        parts.append(resolution.entry)
    owner = resolution.entry_owner
    if owner is not None and owner != resolution.requester:
        parts.append(f"of {owner}")
    return "[" + " ".join(parts) + "]"


# -- JSON ----------------------------------------------------------------------------------------


def _document(tree: DependencyTree, root: str, settings: Any) -> dict[str, Any]:
    return {
        "schema_version": SCHEMA_VERSION,
        "file": tree.root.path,
        "loaded_by": tree.host.path if tree.host else None,
        "root": root,
        "flavor": tree.flavor.value,
        "arch": tree.root.elf.arch,
        "interpreter": tree.interpreter.path if tree.interpreter else None,
        "search": {
            "ld_library_path": list(settings.ld_library_path),
            "extra_ldpaths": list(settings.extra_ldpaths),
            "ldpaths": None if settings.system_ldpaths is None else list(settings.system_ldpaths),
        },
        "objects": [_object(obj) for obj in tree.objects],
        "not_found": [{"requester": r.requester, "name": r.name} for r in tree.not_found],
        "version_failures": [
            {
                "requester": f.requester,
                "library": f.library,
                "version": f.version,
                "weak": f.weak,
                "message": f.message,
            }
            for f in tree.version_failures
        ],
        "ok": tree.ok,
    }


def _object(obj: LoadedObject) -> dict[str, Any]:
    return {
        "path": obj.path,
        "realpath": obj.realpath,
        "soname": obj.soname,
        "rpath": list(obj.elf.rpath),
        "runpath": list(obj.elf.runpath),
        "needed": [_resolution(r) for r in obj.needed],
    }


def _resolution(resolution: Resolution) -> dict[str, Any]:
    return {
        "name": resolution.name,
        "path": resolution.path,
        "rule": resolution.rule.value if resolution.rule else None,
        "entry": resolution.entry,
        "directory": resolution.directory,
        "entry_owner": resolution.entry_owner,
        "loader_chain": list(resolution.loader_chain),
        "error": resolution.error,
        "rejected": [
            {"path": r.path, "reason": r.reason.value, "detail": r.detail, "fatal": r.fatal}
            for r in resolution.rejected
        ],
    }
