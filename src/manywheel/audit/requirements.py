"""From ELF facts and resolutions to the policy judgment's input (:class:`WheelRequirements`)."""

from __future__ import annotations

from collections.abc import Mapping

from manywheel.audit.members import embeds_python, versions_needed, where_of
from manywheel.audit.report import Where
from manywheel.elf import ElfFile
from manywheel.linker import Resolution, Rule
from manywheel.policy import ElfRequirements, LibraryUse, Location

__all__ = ["elf_requirements"]

_LOCATION = {
    Where.WHEEL: Location.WHEEL,
    Where.SYSTEM: Location.SYSTEM,
    Where.LOADER: Location.SYSTEM,
    # Not a file a repair could graft: allowed only where the policy whitelists it.
    Where.PLATFORM: Location.NOT_FOUND,
    Where.NOT_FOUND: Location.NOT_FOUND,
}


def _uses(
    elf: ElfFile, resolutions: Mapping[str, Resolution], realpaths: Mapping[str, str]
) -> tuple[LibraryUse, ...]:
    versions = versions_needed(elf)
    # Unversioned imports may bind from any library: checked against each one's blacklist
    # (as auditwheel does); versioned ones only against the library they name.
    unversioned = frozenset(name for g in elf.imports if g.library is None for name in g.names)
    # A weak reference is optional (the loader leaves it null when missing), so a blacklisted
    # symbol referenced weakly is not a reason (auditwheel skips STB_WEAK too).
    weak = frozenset(name for g in elf.imports for name in g.weak_names)
    uses = []
    for name in dict.fromkeys((*elf.needed, *versions)):
        res = resolutions.get(name)
        location = Location.NOT_FOUND if res is None else _LOCATION[where_of(res, realpaths)]
        if res is None and name not in elf.needed:
            location = Location.SYSTEM  # a version need without DT_NEEDED: bound from a dependency
        lib_versions = versions.get(name, {})
        symbols = (
            frozenset(s for names in lib_versions.values() for s in names) | unversioned
        ) - weak
        uses.append(LibraryUse(name, location, lib_versions, symbols))
    return tuple(uses)


def elf_requirements(
    path: str, elf: ElfFile, resolutions: Mapping[str, Resolution], realpaths: Mapping[str, str]
) -> ElfRequirements:  # path: a member's name, or a library's path on the system
    """What the ELF file ``elf`` (called ``path`` in reasons) needs from the system."""
    level = elf.x86_isa_level
    in_wheel = (where_of(r, realpaths) is Where.WHEEL for r in resolutions.values())
    runpath_in_wheel = bool(elf.runpath) and any(
        r.rule is Rule.RUNPATH and inside
        for r, inside in zip(resolutions.values(), in_wheel, strict=True)
    )
    return ElfRequirements(
        path=path,
        needed=_uses(elf, resolutions, realpaths),
        isa_level=None if level is None else int(level),
        executable_stack=elf.executable_stack,
        uses_pyfpe_jbuf=bool(elf.symbols.pyfpe_names),
        uses_ucs2=bool(elf.symbols.ucs2_names),
        embeds_python=embeds_python(elf, path),
        android_api_level=None if elf.android is None else elf.android.api_level,
        runpath_in_wheel=runpath_in_wheel,
    )
