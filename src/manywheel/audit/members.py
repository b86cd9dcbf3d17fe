"""From dependency trees to per-member facts: how each NEEDED resolves, the versions and symbols
a member needs from each library, RPATH hygiene and page alignment."""

from __future__ import annotations

import posixpath
from collections import defaultdict
from collections.abc import Iterable, Mapping

from manywheel.audit.layout import WHEEL_ROOT, is_inside_wheel
from manywheel.audit.report import ElfMember, ElfRole, NeededLibrary, Where
from manywheel.elf import ElfFile, ElfType
from manywheel.linker import DependencyTree, Flavor, LoadedObject, Resolution, Resolver, Rule
from manywheel.policy import is_libpython

__all__ = [
    "LARGE_PAGE_ARCHS",
    "build_member",
    "member_trees",
    "merged_resolutions",
    "versions_needed",
]

#: Architectures whose kernels may use 64 KiB pages: a LOAD alignment below it fails to load.
LARGE_PAGE_ARCHS = frozenset({"aarch64", "ppc64le", "ppc64", "loongarch64"})
LARGE_PAGE = 0x10000
#: Android's largest page size (16 KiB, Android 15 and later on arm64 and x86_64). Bionic
#: wheels link libpython on purpose: the app has loaded it.
ANDROID_PAGE = 0x4000
ANDROID_LARGE_PAGE_ARCHS = frozenset({"aarch64", "x86_64"})
_LOADER_RULES = frozenset({Rule.INTERPRETER, Rule.VDSO})


def merged_resolutions(
    trees: Mapping[str, DependencyTree], roots: Iterable[str]
) -> dict[str, dict[str, Resolution]]:
    """For every object (by real virtual path): its resolution of each NEEDED.

    An object is loaded in the context of a root (an extension Python imports, an executable, a
    library nothing in the wheel loads), and resolves differently in each: RPATH is inherited
    from whoever loaded it, and a soname an earlier object loaded is reused. Since any root may
    be loaded first, or alone, an answer counts only if it holds in every root's tree that
    reaches the object: the worst wins — not found, then outside the wheel, then inside. An
    object no root reaches (a cycle of libraries) answers in its own tree."""
    merged: dict[str, dict[str, Resolution]] = defaultdict(dict)
    contexts = [trees[r] for r in roots]
    covered = {obj.realpath for tree in contexts for obj in tree.objects}
    contexts += [tree for path, tree in trees.items() if path not in covered]
    for tree in contexts:
        for obj in tree.objects:
            mine = merged[obj.realpath]
            for res in obj.needed:
                if res.name not in mine or _rank(res) < _rank(mine[res.name]):
                    mine[res.name] = res
    return merged


def _rank(res: Resolution) -> int:
    """How well a NEEDED is served: 0 not found, 1 outside the wheel, 2 inside it."""
    if not res.found:
        return 0
    return 2 if res.path is not None and is_inside_wheel(res.path) else 1


def member_trees(
    resolver: Resolver, members: Mapping[str, tuple[str, ElfFile]]
) -> dict[str, DependencyTree]:
    """The dependency trees a wheel's ELF members (virtual path -> member name and facts) are
    judged in: one per extension and executable (loaded on their own), and one per library
    that no tree resolved before loads — libraries that no member names in DT_NEEDED first, so
    a chain of libraries is one tree, not one per link (which made the cost grow with the
    square of the chain). Every member is in at least one tree."""
    needed = {name for _, elf in members.values() for name in elf.needed}

    def named(path: str) -> bool:
        return members[path][1].soname in needed or posixpath.basename(path) in needed

    library = {v: role_of(elf, m) is ElfRole.LIBRARY for v, (m, elf) in members.items()}
    ordered = [v for v in members if not library[v]]
    ordered += sorted((v for v in members if library[v]), key=named)
    trees: dict[str, DependencyTree] = {}
    reached: set[str] = set()
    for path in ordered:
        if library[path] and path in reached:
            continue
        trees[path] = resolver.resolve(path)
        reached.update(obj.realpath for obj in trees[path].objects)
    return trees


def root_members(trees: Mapping[str, DependencyTree], extensions: Iterable[str]) -> list[str]:
    """The members loaded on their own: extensions and executables (``extensions``: every
    member Python or a user runs directly), and libraries no other member's tree loads."""
    direct = set(extensions)
    reached = {
        obj.realpath
        for path, tree in trees.items()
        for obj in tree.objects
        if obj.realpath != tree.root.realpath
    }
    return [path for path in trees if path in direct or path not in reached]


def where_of(res: Resolution, realpaths: Mapping[str, str]) -> Where:
    if not res.found:
        return Where.NOT_FOUND
    if res.rule in _LOADER_RULES:
        return Where.LOADER
    if res.rule is Rule.PLATFORM:
        return Where.PLATFORM
    assert res.path is not None or res.rule is Rule.VDSO
    real = realpaths.get(res.path or "", res.path or "")
    return Where.WHEEL if is_inside_wheel(real) else Where.SYSTEM


def needed_libraries(
    elf: ElfFile,
    resolutions: Mapping[str, Resolution],
    realpaths: Mapping[str, str],
    members: Mapping[str, str],
) -> tuple[NeededLibrary, ...]:
    out = []
    for name in elf.needed:
        res = resolutions.get(name)
        if res is None:  # not reached by any tree (cannot happen for a root): say so
            out.append(NeededLibrary(name, Where.NOT_FOUND, None, None, None))
            continue
        where = where_of(res, realpaths)
        path = res.path
        if where is Where.WHEEL and path is not None:
            path = members.get(realpaths.get(path, path), path)
        elif where is Where.SYSTEM and path is not None:
            path = realpaths.get(path, path)
        rule = None if res.rule is None else res.rule.value
        out.append(NeededLibrary(name, where, path, rule, res.entry))
    return tuple(out)


def versions_needed(elf: ElfFile) -> dict[str, dict[str, tuple[str, ...]]]:
    """Library -> version -> the symbols that need it (versions needed by no symbol included)."""
    out: dict[str, dict[str, tuple[str, ...]]] = defaultdict(dict)
    for need in elf.version_needs:
        for entry in need.entries:
            out[need.file].setdefault(entry.name, ())
    for group in elf.imports:
        if group.library is not None and group.version is not None:
            out[group.library][group.version] = group.names
    return {lib: dict(sorted(v.items())) for lib, v in sorted(out.items())}


def foreign_rpaths(elf: ElfFile, virtual: str) -> tuple[str, ...]:
    """RPATH/RUNPATH entries that do not lead inside the wheel once installed."""
    origin = posixpath.dirname(virtual)
    out = []
    for entry in (*elf.rpath, *elf.runpath):
        expanded = entry.replace("${ORIGIN}", origin).replace("$ORIGIN", origin)
        if not expanded.startswith("/") or not is_inside_wheel(expanded) or "$" in expanded:
            out.append(entry)
    return tuple(dict.fromkeys(out))


#: Symbols an executable calls when it really embeds Python (its libpython is legitimate).
_EMBEDDING = frozenset(
    {"Py_Initialize", "Py_InitializeEx", "Py_InitializeFromConfig", "Py_Main", "Py_BytesMain"}
)


def embeds_python(elf: ElfFile, member: str) -> bool:
    """An executable that starts an interpreter of its own: its libpython stays."""
    if role_of(elf, member) is not ElfRole.EXECUTABLE:
        return False
    return any(name in _EMBEDDING for group in elf.imports for name in group.names)


def role_of(elf: ElfFile, member: str) -> ElfRole:
    if elf.python_extension(posixpath.basename(member)) is not None:
        return ElfRole.EXTENSION
    if elf.header.e_type == ElfType.EXEC or (elf.interpreter is not None and elf.soname is None):
        return ElfRole.EXECUTABLE
    return ElfRole.LIBRARY


def build_member(
    member: str,
    virtual: str,
    elf: ElfFile,
    tree: DependencyTree,
    *,
    resolutions: Mapping[str, Resolution],
    realpaths: Mapping[str, str],
    members: Mapping[str, str],
) -> ElfMember:
    """The member ``member`` (``elf``, at ``virtual``) as resolved in ``tree``: its own tree
    or that of a member that loads it."""
    arch = elf.arch or ""
    align = elf.load_alignment
    android = tree.flavor is Flavor.BIONIC
    archs, page = (
        (ANDROID_LARGE_PAGE_ARCHS, ANDROID_PAGE) if android else (LARGE_PAGE_ARCHS, LARGE_PAGE)
    )
    return ElfMember(
        member=member,
        role=role_of(elf, member),
        elf=elf,
        extension=elf.python_extension(posixpath.basename(member)),
        needed=needed_libraries(elf, resolutions, realpaths, members),
        versions=versions_needed(elf),
        foreign_rpaths=foreign_rpaths(elf, virtual),
        low_alignment=arch in archs and align is not None and align < page,
        libpython=None if android else next((n for n in elf.needed if is_libpython(n)), None),
        embeds_python=embeds_python(elf, member),
        version_failures=tuple(
            f for f in tree.version_failures if realpaths.get(f.requester, f.requester) == virtual
        ),
        tree=tree,
    )


def realpaths_of(trees: Iterable[DependencyTree]) -> dict[str, str]:
    """Loader path -> real path, for every object of every tree."""
    out: dict[str, str] = {}
    for tree in trees:
        for obj in tree.objects:
            out.setdefault(obj.path, obj.realpath)
    return out


def system_objects(trees: Iterable[DependencyTree]) -> dict[str, LoadedObject]:
    """The objects loaded from outside the wheel, by real path (first seen)."""
    out: dict[str, LoadedObject] = {}
    for tree in trees:
        for obj in tree.objects:
            if not obj.realpath.startswith(WHEEL_ROOT + "/"):
                out.setdefault(obj.realpath, obj)
    return out
