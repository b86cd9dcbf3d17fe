"""The dynamic loader, emulated: breadth-first over DT_NEEDED, one search per name with the rules
of glibc's ``_dl_map_object`` (or musl's ``load_library``), then the version check.

Nothing here runs the files it inspects: every fact comes from :class:`FileSystem`.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from manywheel.elf import DynamicFlag1, ElfType
from manywheel.errors import InputError, InvalidElfError
from manywheel.lazy import lazy_logger
from manywheel.linker.bionic import (
    bionic_default_dirs,
    bionic_lib,
    expand_bionic_entry,
    is_bionic,
    is_platform_library,
)
from manywheel.linker.filesystem import FileSystem, RootFileSystem
from manywheel.linker.model import (
    DependencyTree,
    Flavor,
    LoadedObject,
    Rejection,
    Resolution,
    Rule,
)
from manywheel.linker.platforms import LoaderPlatform, loader_platform
from manywheel.linker.search import Phase, ResolverCache, SearchSettings, Target
from manywheel.linker.tokens import expand_tokens
from manywheel.linker.version_check import check_versions

if TYPE_CHECKING:
    from manywheel.elf import ElfFile

__all__ = ["Resolver", "detect_flavor"]

log = lazy_logger(__name__)

#: Names musl answers with itself (``ldso/dynlink.c``: libc and the libraries merged into it).
_MUSL_RESERVED = re.compile(r"lib(c|pthread|rt|m|dl|util|xnet|resolv|crypt)\.so(\..*)?\Z")


def detect_flavor(elf: ElfFile) -> Flavor:
    """Bionic when the file is Android's (see :func:`~manywheel.linker.bionic.is_bionic`), musl
    when the interpreter or a NEEDED is musl's, glibc otherwise."""
    if is_bionic(elf):
        return Flavor.BIONIC
    interp = posixpath.basename(elf.interpreter or "")
    if interp.startswith("ld-musl-") or any(
        n == "libc.so" or n.startswith("libc.musl-") for n in elf.needed
    ):
        return Flavor.MUSL
    return Flavor.GLIBC


@dataclass(eq=False, slots=True)
class _Map:
    """An object in the emulated loader's list while the tree is being built."""

    path: str
    realpath: str
    elf: ElfFile
    origin: str
    names: set[str]
    loader: _Map | None = None
    found_by: Resolution | None = None
    needed: list[Resolution] = field(default_factory=list)
    #: The search for this object's NEEDED entries (the same for each of them), once known.
    phases: tuple[tuple[Phase, ...], tuple[str | None, ...]] | None = None

    def chain(self) -> list[_Map]:
        out: list[_Map] = []
        node: _Map | None = self
        while node is not None:
            out.append(node)
            node = node.loader
        return out


class Resolver:
    """Answers, for an ELF file, what the loader would load and why.

    ``fs`` is where files are looked up (default: the host); ``cache`` may be shared between
    resolvers over the same file system so that each library is parsed and searched once."""

    def __init__(
        self,
        fs: FileSystem | None = None,
        settings: SearchSettings | None = None,
        cache: ResolverCache | None = None,
    ) -> None:
        if cache is not None and fs is not None and cache.fs is not fs:
            raise ValueError("the cache belongs to another file system")
        self.fs: FileSystem = fs if fs is not None else (cache.fs if cache else RootFileSystem())
        self.settings = settings if settings is not None else SearchSettings()
        self.cache = cache if cache is not None else ResolverCache(self.fs)

    def resolve(self, path: str, *, loaded_by: str | None = None) -> DependencyTree:
        """The dependency tree of the ELF file at the virtual absolute ``path``.

        With ``loaded_by`` (a program, e.g. ``/usr/bin/python3``), ``path`` is resolved as that
        program would ``dlopen()`` it: the program's own objects are loaded first and answer
        names, and the program's DT_RPATH ends the RPATH chain of ``path``'s objects. The tree
        then holds the program's objects too (:attr:`DependencyTree.host`)."""
        if loaded_by is None:
            return _Run(self, path).tree()
        return _Run(self, loaded_by).dlopen(path)


class _Run:
    """One resolution: the loaded list grows breadth-first from the root."""

    def __init__(self, resolver: Resolver, path: str) -> None:
        self.cache = resolver.cache
        self.settings = resolver.settings
        resolved = self.cache.resolve(path)
        if resolved is None:
            raise InputError("no such file", path=path)
        elf = self._load(resolved, path)
        if elf.arch is None:
            raise InputError("unknown architecture", path=path)
        try:
            self.platform: LoaderPlatform = loader_platform(elf.arch)
        except KeyError:
            raise InputError(f"no loader rules for architecture {elf.arch}", path=path) from None
        if self.settings.platform is not None:
            self.platform = self.platform.with_platform(self.settings.platform)
        self.flavor = self.settings.flavor or detect_flavor(elf)
        self.target = Target.of(elf.header, self.flavor)
        origin = posixpath.dirname(resolved)
        self.root = _Map(path, resolved, elf, origin, {path, *self._soname(elf)})
        self.loaded: list[_Map] = [self.root]
        self.interp = self._interpreter(elf)

    def _load(self, resolved: str, shown: str) -> ElfFile:
        elf = self.cache.elf(resolved)
        if isinstance(elf, InvalidElfError):
            raise InvalidElfError(elf.message, path=shown, offset=elf.offset) from elf
        return elf

    def _soname(self, elf: ElfFile) -> tuple[str, ...]:
        """glibc and Bionic also answer a name with a loaded object's DT_SONAME; musl never
        does."""
        return (elf.soname,) if elf.soname and self.flavor is not Flavor.MUSL else ()

    def _interpreter(self, elf: ElfFile) -> _Map | None:
        if elf.interpreter is None and (not elf.needed or elf.header.e_type != ElfType.DYN):
            return None  # a static program, or a library that needs nothing: no loader in play
        if elf.interpreter is None and self.flavor is Flavor.BIONIC:
            return None  # Bionic's linker answers no NEEDED: a library names none
        musl = self.flavor is Flavor.MUSL
        default = self.platform.musl_interpreter if musl else self.platform.interpreter
        path = elf.interpreter or default
        resolved = self.cache.check(path, self.target, [])
        if resolved is None:
            log.info("interpreter %s not found", path)
            return None
        interp_elf = self.cache.elf(resolved)
        assert not isinstance(interp_elf, InvalidElfError)  # check() accepted it
        names = {path, *self._soname(interp_elf)}
        return _Map(path, resolved, interp_elf, posixpath.dirname(path), names)

    def _breadth_first(self, start: _Map) -> None:
        queue = [start]
        while queue:
            current = queue.pop(0)
            for name in current.elf.needed:
                resolution, new = self._map_object(current, name)
                current.needed.append(resolution)
                if new is not None:
                    queue.append(new)

    def tree(self) -> DependencyTree:
        self._breadth_first(self.root)
        return self._result(self.root, None)

    def dlopen(self, path: str) -> DependencyTree:
        """``path`` opened by the root program (a name with a slash: no search)."""
        self._breadth_first(self.root)
        first_new = len(self.loaded)
        resolved = self.cache.check(path, self.target, [])
        if resolved is None:
            raise InputError(f"cannot be loaded by {self.root.path}", path=path)
        found = Resolution(path, self.root.path, path, Rule.PATH, loader_chain=_paths(self.root))
        _, new = self._admit(self.root, path, path, resolved, found)
        if new is not None:
            self._breadth_first(new)
        target = new or next(m for m in self._all() if m.realpath == resolved)
        return self._result(target, first_new)

    def _result(self, root: _Map, first_new: int | None) -> DependencyTree:
        maps = self._all()
        checked = self.loaded[first_new or 0 :] + (
            [] if first_new or not self.interp else [self.interp]
        )
        failures = () if self.flavor is Flavor.MUSL else check_versions(checked, self._by_name)
        objects = tuple(
            LoadedObject(m.path, m.realpath, m.elf, m.found_by, tuple(m.needed)) for m in maps
        )
        interp = objects[-1] if self.interp else None
        host = objects[0] if first_new is not None else None
        root_object = objects[maps.index(root)]
        return DependencyTree(self.flavor, root_object, objects, interp, failures, host)

    def _by_name(self, name: str) -> _Map | None:
        return next((m for m in self._all() if name in m.names), None)

    def _all(self) -> list[_Map]:
        return [*self.loaded, *([self.interp] if self.interp else [])]

    def _map_object(self, requester: _Map, name: str) -> tuple[Resolution, _Map | None]:
        base = Resolution(name, requester.path, None, None, loader_chain=_paths(requester))
        known = self._already(name)
        if known is not None:
            rule, path = known
            return Resolution(
                name, requester.path, path, rule, loader_chain=base.loader_chain
            ), None
        if "/" in name:
            rejected: list[Rejection] = []
            path = self._expand(name, requester.origin)
            resolved = None if path is None else self.cache.check(path, self.target, rejected)
            found = replace(base, path=path, rule=Rule.PATH, rejected=tuple(rejected))
            if resolved is None or path is None:
                return _not_found(base, tuple(rejected)), None
            return self._admit(requester, name, path, resolved, found)
        if requester.phases is None:
            requester.phases = self._phases(requester)
        phases, owners = requester.phases
        outcome = self.cache.search(name, self.target, phases, self._subdirs())
        if outcome.path is None or outcome.resolved is None or outcome.phase is None:
            if self.flavor is Flavor.BIONIC and is_platform_library(name) and not outcome.stopped:
                return replace(base, rule=Rule.PLATFORM, rejected=outcome.rejected), None
            return _not_found(base, outcome.rejected), None
        found = Resolution(
            name,
            requester.path,
            outcome.path,
            outcome.rule,
            outcome.entry,
            outcome.directory,
            base.loader_chain,
            outcome.rejected,
            owners[outcome.phase],
        )
        return self._admit(requester, name, outcome.path, outcome.resolved, found)

    def _already(self, name: str) -> tuple[Rule, str | None] | None:
        """A loaded object the name matches (glibc's ``_dl_name_match_p`` plus DT_SONAME)."""
        if self.interp is not None and (
            name in self.interp.names or (self.flavor is Flavor.MUSL and _MUSL_RESERVED.match(name))
        ):
            return Rule.INTERPRETER, self.interp.path
        if self.flavor is Flavor.GLIBC and name == self.platform.vdso:
            return Rule.VDSO, None
        for m in self.loaded:
            if name in m.names:
                return Rule.ALREADY_LOADED, m.path
        return None

    def _admit(
        self, requester: _Map, name: str, path: str, resolved: str, found: Resolution
    ) -> tuple[Resolution, _Map | None]:
        for m in self._all():  # the same file under another name: glibc compares inodes
            if m.realpath == resolved:
                m.names.add(name)
                rule = Rule.INTERPRETER if m is self.interp else Rule.ALREADY_LOADED
                chain = found.loader_chain
                return Resolution(name, requester.path, m.path, rule, loader_chain=chain), None
        elf = self._load(resolved, path)
        names = {name, path, *self._soname(elf)}
        new = _Map(path, resolved, elf, posixpath.dirname(path), names)
        new.loader = requester
        new.found_by = found
        self.loaded.append(new)
        return found, new

    def _subdirs(self) -> tuple[str, ...]:
        return self.settings.subdirs if self.flavor is Flavor.GLIBC else ()

    def _expand(self, entry: str, origin: str) -> str | None:
        if self.flavor is Flavor.MUSL:
            value = expand_tokens(entry, origin=origin, lib="$LIB", platform="$PLATFORM")
        else:
            value = expand_tokens(
                entry, origin=origin, lib=self.platform.lib, platform=self.platform.platform
            )
        if value is None or value.startswith("/"):
            return value
        cwd = self.settings.cwd
        if cwd is None:
            return None
        return posixpath.join(cwd, value) if value else cwd

    def _dirs(self, entries: tuple[str, ...], origin: str) -> tuple[tuple[str, str | None], ...]:
        return tuple((e, self._expand(e, origin)) for e in entries)

    def _phases(self, requester: _Map) -> tuple[tuple[Phase, ...], tuple[str | None, ...]]:
        """The search, in order, for a NEEDED of ``requester``; and whose entries each phase
        holds (the object for RPATH and RUNPATH)."""
        if self.flavor is Flavor.MUSL:
            return self._musl_phases(requester)
        if self.flavor is Flavor.BIONIC:
            return self._bionic_phases(requester)
        phases: list[tuple[Phase, str | None]] = []
        elf = requester.elf
        if not elf.runpath:
            phases.extend(
                (Phase(Rule.RPATH, self._dirs(m.elf.rpath, m.origin)), m.path)
                for m in requester.chain()
                if m.elf.rpath and not m.elf.runpath
            )
        phases.extend(self._environment_phases())
        if elf.runpath:
            runpath = Phase(Rule.RUNPATH, self._dirs(elf.runpath, requester.origin))
            phases.append((runpath, requester.path))
        phases.extend(
            (p, None) for p in self._system_phases(bool(elf.flags_1 & DynamicFlag1.NODEFLIB))
        )
        return tuple(p for p, _ in phases), tuple(o for _, o in phases)

    def _environment_phases(self) -> list[tuple[Phase, str | None]]:
        llp = self.settings.ld_library_path
        if not llp:
            return []
        return [(Phase(Rule.LD_LIBRARY_PATH, self._dirs(llp, self.root.origin)), None)]

    def _extra_phases(self) -> list[Phase]:
        """``AUDITWHEEL_LD_LIBRARY_PATH``: entries read as ``LD_LIBRARY_PATH``'s are (an empty
        or relative one is in the current directory, ``$ORIGIN`` the program's directory)."""
        extra = self.settings.extra_ldpaths
        return [Phase(Rule.EXTRA_LDPATHS, self._dirs(extra, self.root.origin))] if extra else []

    def _given_system_phase(self, dirs: tuple[str, ...]) -> Phase:
        """``--ldpaths``, in place of the system's directories, read as the variables are."""
        return Phase(Rule.EXTRA_LDPATHS, self._dirs(dirs, self.root.origin))

    def _system_phases(self, nodeflib: bool) -> list[Phase]:
        phases = self._extra_phases()
        if self.settings.system_ldpaths is not None:
            return [*phases, self._given_system_phase(self.settings.system_ldpaths)]
        defaults = self.platform.default_dirs
        cache_path = self.settings.ld_so_cache
        if self.cache.ld_cache(cache_path) is not None:
            phases.append(
                Phase(
                    Rule.LD_SO_CACHE,
                    ((cache_path, cache_path),),
                    self.platform.cache_flags,
                    self.settings.hwcaps,
                    defaults if nodeflib else (),
                )
            )
        else:
            conf = tuple(d for d in self.cache.ld_so_conf() if not (nodeflib and d in defaults))
            if conf:
                phases.append(Phase(Rule.LD_SO_CONF, tuple((d, d) for d in conf)))
        if not nodeflib:
            phases.append(Phase(Rule.DEFAULT_DIRS, tuple((d, d) for d in defaults)))
        return phases

    def _musl_phases(self, requester: _Map) -> tuple[tuple[Phase, ...], tuple[str | None, ...]]:
        phases: list[tuple[Phase, str | None]] = list(self._environment_phases())
        for m in requester.chain():  # musl: RUNPATH or RPATH alike, inherited through needed_by
            rule = Rule.RUNPATH if m.elf.runpath else Rule.RPATH
            entries = m.elf.runpath or m.elf.rpath
            if entries:
                phases.append((Phase(rule, self._dirs(entries, m.origin)), m.path))
        phases.extend((p, None) for p in self._extra_phases())
        if self.settings.system_ldpaths is not None:
            phases.append((self._given_system_phase(self.settings.system_ldpaths), None))
        else:
            listed = self.cache.musl_path(self.platform.musl_arch)
            dirs = listed if listed is not None else self.platform.musl_default_dirs
            phases.append((Phase(Rule.MUSL_PATH, tuple((d, d) for d in dirs)), None))
        return tuple(p for p, _ in phases), tuple(o for _, o in phases)

    def _bionic_phases(self, requester: _Map) -> tuple[tuple[Phase, ...], tuple[str | None, ...]]:
        """``LD_LIBRARY_PATH``, the requester's own DT_RUNPATH (DT_RPATH is ignored), the extra
        directories, then the namespace's defaults (or ``--ldpaths``)."""
        phases: list[tuple[Phase, str | None]] = []
        llp = tuple((e, e if e.startswith("/") else None) for e in self.settings.ld_library_path)
        if llp:
            phases.append((Phase(Rule.LD_LIBRARY_PATH, llp), None))
        elf = requester.elf
        if elf.runpath:
            origin, lib = posixpath.dirname(requester.realpath), bionic_lib(self.root.elf)
            entries = tuple(
                (e, expand_bionic_entry(e, origin=origin, lib=lib)) for e in elf.runpath
            )
            phases.append((Phase(Rule.RUNPATH, entries), requester.path))
        phases.extend((p, None) for p in self._extra_phases())
        system = self.settings.system_ldpaths
        if system is not None:
            phases.append((self._given_system_phase(system), None))
        elif dirs := bionic_default_dirs(self.root.elf):
            phases.append((Phase(Rule.DEFAULT_DIRS, tuple((d, d) for d in dirs)), None))
        return tuple(p for p, _ in phases), tuple(o for _, o in phases)


def _paths(node: _Map) -> tuple[str, ...]:
    """The loader chain whose DT_RPATHs a search for ``node``'s NEEDED consults: none when
    ``node`` has DT_RUNPATH (glibc then ignores every DT_RPATH), so a chain of RUNPATH
    libraries costs no chain per name."""
    if node.elf.runpath:
        return ()
    return tuple(m.path for m in node.chain())


def _not_found(base: Resolution, rejected: tuple[Rejection, ...]) -> Resolution:
    return Resolution(
        base.name, base.requester, None, None, loader_chain=base.loader_chain, rejected=rejected
    )
