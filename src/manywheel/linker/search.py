"""Searching directories for one library as the loader does: candidate paths, the ELF fitness
check (glibc's ``open_verify``), and the explicit cache that makes each search happen once."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from manywheel.elf import DynamicFlag1, ElfClass, ElfData, ElfType, OsAbi
from manywheel.errors import InputError, InvalidElfError
from manywheel.linker.config import read_ld_so_conf, read_musl_path
from manywheel.linker.filesystem import FileSystem
from manywheel.linker.ldcache import LdCache, parse_ld_cache
from manywheel.linker.model import Flavor, Rejection, RejectionReason, Rule
from manywheel.values import value_class

if TYPE_CHECKING:
    from manywheel.elf import ElfFile, ElfHeader
    from manywheel.linker.host_facts import HostFacts

__all__ = ["Phase", "ResolverCache", "SearchOutcome", "SearchSettings"]

#: What glibc's open_verify skips quietly; any other misfit is an error.
_SKIPPED = (RejectionReason.WRONG_CLASS, RejectionReason.WRONG_MACHINE)
#: The OS ABIs glibc loads on Linux.
_OSABI_OK = (OsAbi.SYSV, OsAbi.GNU)


@value_class
class SearchSettings:
    """Everything besides the files that decides a search. Environment variables are inputs
    here, never read by the library."""

    #: ``LD_LIBRARY_PATH``, already split (see :func:`~manywheel.linker.parse_search_path`,
    #: which splits the three variables alike).
    ld_library_path: tuple[str, ...] = ()
    #: Directories searched after RUNPATH and before the system (``AUDITWHEEL_LD_LIBRARY_PATH``).
    extra_ldpaths: tuple[str, ...] = ()
    #: When set, replaces the system's directories (ld.so.cache, ld.so.conf and the trusted
    #: defaults): auditwheel's ``--ldpaths``.
    system_ldpaths: tuple[str, ...] | None = None
    #: Active glibc-hwcaps subdirectory names, best first (``x86-64-v3``, ``x86-64-v2``); they
    #: are searched in every directory and preferred in ld.so.cache. Empty: the baseline.
    hwcaps: tuple[str, ...] = ()
    #: Legacy hwcaps subdirectories (``tls``, ``x86_64``) that glibc < 2.37 also tries.
    legacy_subdirs: tuple[str, ...] = ()
    #: ``$PLATFORM``; ``None``: the architecture's usual value.
    platform: str | None = None
    #: The current directory, for relative search-path entries and NEEDED names; ``None``
    #: skips them.
    cwd: str | None = None
    #: Force glibc or musl rules; ``None``: decide from the root's interpreter.
    flavor: Flavor | None = None
    #: The ld.so.cache to read (virtual path).
    ld_so_cache: str = "/etc/ld.so.cache"

    @property
    def subdirs(self) -> tuple[str, ...]:
        return tuple(f"glibc-hwcaps/{h}" for h in self.hwcaps) + self.legacy_subdirs


@value_class
class Phase:
    """One step of a search: a rule and the directories it contributes, each as written and as
    expanded (``None``: dropped, e.g. an unknown token)."""

    rule: Rule
    dirs: tuple[tuple[str, str | None], ...]
    #: For :attr:`Rule.LD_SO_CACHE`: the entry flags the loader accepts, the active hwcaps
    #: (best first), and directories whose entries are ignored (DF_1_NODEFLIB).
    cache_flags: int = 0
    hwcaps: tuple[str, ...] = ()
    excluded_dirs: tuple[str, ...] = ()


@value_class
class SearchOutcome:
    path: str | None
    resolved: str | None
    rule: Rule | None
    entry: str | None
    directory: str | None
    rejected: tuple[Rejection, ...]
    #: Which of the phases found it.
    phase: int | None = None
    #: The search ended on a file the loader cannot use and does not skip (see
    #: :attr:`Rejection.fatal`).
    stopped: bool = False


def _fatal(rejected: list[Rejection], path: str) -> bool:
    return bool(rejected) and rejected[-1].path == path and rejected[-1].fatal


def _stopped(rejected: list[Rejection]) -> SearchOutcome:
    return SearchOutcome(None, None, None, None, None, tuple(rejected), stopped=True)


@value_class
class Target:
    """The header fields a candidate must match (those of the root object), and whether a
    misfit ends the search (musl: always; glibc: unless it is the class or machine)."""

    elf_class: int
    data: int
    machine: int
    #: Every misfit ends the search (musl and Bionic take the first file they find).
    musl: bool = False
    #: Bionic: the OS ABI byte is not checked.
    any_osabi: bool = False

    @classmethod
    def of(cls, header: ElfHeader, flavor: Flavor) -> Target:
        strict = flavor is not Flavor.GLIBC
        bionic = flavor is Flavor.BIONIC
        return cls(int(header.elf_class), int(header.data), header.e_machine, strict, bionic)


@dataclass(slots=True)
class ResolverCache:
    """What resolving many objects against one :class:`FileSystem` shares: parsed ELF files, path
    lookups, search outcomes per (name, search context), and the system configuration. Not
    thread-safe; use one per thread."""

    fs: FileSystem
    #: Parsed ld.so.caches shared with other audits (see :class:`HostFacts`).
    facts: HostFacts | None = None
    _paths: dict[str, str | None] = field(default_factory=dict)
    _elves: dict[str, ElfFile | InvalidElfError] = field(default_factory=dict)
    _searches: dict[tuple[object, ...], SearchOutcome] = field(default_factory=dict)
    _ld_caches: dict[str, LdCache | None] = field(default_factory=dict)
    _confs: dict[str, tuple[str, ...]] = field(default_factory=dict)
    _musl_paths: dict[str, tuple[str, ...] | None] = field(default_factory=dict)
    #: How many searches were answered from the cache (for tests and benchmarks).
    hits: int = 0

    def resolve(self, path: str) -> str | None:
        if path not in self._paths:
            self._paths[path] = self.fs.resolve(path)
        return self._paths[path]

    def elf(self, resolved: str) -> ElfFile | InvalidElfError:
        if resolved not in self._elves:
            try:
                self._elves[resolved] = self.fs.load_elf(resolved)
            except InvalidElfError as exc:
                self._elves[resolved] = exc
        return self._elves[resolved]

    def ld_cache(self, path: str) -> LdCache | None:
        if path not in self._ld_caches:
            data = self.fs.read_bytes(path)

            def parse(data: bytes) -> LdCache | None:
                try:
                    return parse_ld_cache(data, where=path)
                except InputError:  # the loader ignores a cache it cannot read
                    return None

            if data is None:
                self._ld_caches[path] = None
            elif self.facts is None:
                self._ld_caches[path] = parse(data)
            else:
                self._ld_caches[path] = self.facts.ld_cache(data, parse)
        return self._ld_caches[path]

    def ld_so_conf(self) -> tuple[str, ...]:
        if "conf" not in self._confs:
            self._confs["conf"] = read_ld_so_conf(self.fs)
        return self._confs["conf"]

    def musl_path(self, musl_arch: str) -> tuple[str, ...] | None:
        if musl_arch not in self._musl_paths:
            self._musl_paths[musl_arch] = read_musl_path(self.fs, musl_arch)
        return self._musl_paths[musl_arch]

    def search(
        self, name: str, target: Target, phases: tuple[Phase, ...], subdirs: tuple[str, ...]
    ) -> SearchOutcome:
        """Try ``name`` in each phase's directories in order; the first file that fits wins.
        Each phase's answer is cached on its own, so the system's part of a search is shared
        by every object whatever its RPATH or RUNPATH."""
        rejected: list[Rejection] = []
        for index, phase in enumerate(phases):
            outcome = self._phase(name, target, phase, subdirs)
            rejected.extend(outcome.rejected)
            if outcome.path is not None or outcome.stopped:
                return replace(outcome, rejected=tuple(rejected), phase=index)
        return SearchOutcome(None, None, None, None, None, tuple(rejected))

    def _phase(
        self, name: str, target: Target, phase: Phase, subdirs: tuple[str, ...]
    ) -> SearchOutcome:
        key = (name, target, phase, subdirs)
        known = self._searches.get(key)
        if known is not None:
            self.hits += 1
            return known
        rejected: list[Rejection] = []
        if phase.rule is Rule.LD_SO_CACHE:
            outcome = self._from_ld_cache(name, target, phase, rejected)
        else:
            outcome = self._from_dirs(name, target, phase, subdirs, rejected)
        outcome = outcome or SearchOutcome(None, None, None, None, None, tuple(rejected))
        self._searches[key] = outcome
        return outcome

    def _from_dirs(
        self,
        name: str,
        target: Target,
        phase: Phase,
        subdirs: tuple[str, ...],
        rejected: list[Rejection],
    ) -> SearchOutcome | None:
        for entry, directory in phase.dirs:
            if directory is None:
                continue
            for place in (*(f"{directory}/{s}" for s in subdirs), directory):
                path = f"{place.rstrip('/')}/{name}"
                resolved = self.check(path, target, rejected)
                if resolved is not None:
                    return SearchOutcome(path, resolved, phase.rule, entry, place, tuple(rejected))
                if _fatal(rejected, path):
                    return _stopped(rejected)
        return None

    def _from_ld_cache(
        self, name: str, target: Target, phase: Phase, rejected: list[Rejection]
    ) -> SearchOutcome | None:
        for entry, cache_path in phase.dirs:
            ld_cache = self.ld_cache(cache_path or entry)
            hit = (
                None if ld_cache is None else ld_cache.lookup(name, phase.cache_flags, phase.hwcaps)
            )
            if hit is None:
                continue
            directory = hit.path.rpartition("/")[0] or "/"
            if any(hit.path.startswith(d.rstrip("/") + "/") for d in phase.excluded_dirs):
                continue
            resolved = self.check(hit.path, target, rejected)
            if _fatal(rejected, hit.path):
                return _stopped(rejected)
            if resolved is not None:
                return SearchOutcome(
                    hit.path, resolved, phase.rule, entry, directory, tuple(rejected)
                )
        return None

    def check(self, path: str, target: Target, rejected: list[Rejection]) -> str | None:
        """The resolved path of the file at ``path`` if it exists and fits ``target``; a file that
        exists but does not fit is added to ``rejected`` (when that rejection is
        :attr:`~Rejection.fatal`, the loader gives up on the name there)."""
        resolved = self.resolve(path)
        if resolved is None:
            return None
        elf = self.elf(resolved)
        problem = (
            (RejectionReason.NOT_ELF, f"invalid ELF header ({elf.message})")
            if isinstance(elf, InvalidElfError)
            else misfit(elf, target)
        )
        if problem is None:
            return resolved
        fatal = target.musl or problem[0] not in _SKIPPED
        rejected.append(Rejection(path, problem[0], problem[1], fatal))
        return None


def misfit(elf: ElfFile, target: Target) -> tuple[RejectionReason, str] | None:
    """Why ``elf`` cannot be loaded next to ``target`` (``None``: it can), in glibc's words
    (``open_verify`` and ``_dl_map_object_from_fd``)."""
    header = elf.header
    if int(header.elf_class) != target.elf_class:
        bits = 64 if header.elf_class == ElfClass.ELF64 else 32
        return RejectionReason.WRONG_CLASS, f"wrong ELF class: ELFCLASS{bits}"
    if int(header.data) != target.data:
        order = "little" if target.data == ElfData.LSB else "big"
        return RejectionReason.WRONG_DATA, f"ELF file data encoding not {order}-endian"
    if header.osabi not in _OSABI_OK and not target.any_osabi:
        return RejectionReason.WRONG_OSABI, "ELF file OS ABI invalid"
    if header.e_machine != target.machine:
        return RejectionReason.WRONG_MACHINE, f"wrong machine: {header.e_machine}"
    if header.e_type == ElfType.EXEC:
        return RejectionReason.NOT_SHARED, "cannot dynamically load executable"
    if header.e_type != ElfType.DYN:
        return RejectionReason.NOT_SHARED, "only ET_DYN and ET_EXEC can be loaded"
    if elf.flags_1 & DynamicFlag1.PIE:
        return RejectionReason.NOT_SHARED, "cannot dynamically load position-independent executable"
    return None
