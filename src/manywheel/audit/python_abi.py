"""The Python-tag verdict of an audited wheel: what each member imports from the interpreter,
taken from the import groups the ELF reader built in its one walk of the symbol table (no second
parse, no second walk), judged by :func:`manywheel.policy.judge_python_abi`."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence

from manywheel.audit.report import ElfMember, ElfRole, Where
from manywheel.elf import ElfFile
from manywheel.policy import (
    Libc,
    ModuleFacts,
    PythonAbiVerdict,
    StableAbi,
    is_libpython,
    judge_python_abi,
    python_imports,
)
from manywheel.wheel import AbiKind, WheelFilename, interpreter_claims

__all__ = ["module_facts", "python_abi_verdict"]


def module_facts(
    members: Iterable[ElfMember], *, known: Collection[str] | None = None
) -> tuple[ModuleFacts, ...]:
    """Extension modules and the libraries that import Python symbols (executables embed their
    own interpreter, if any, and are left out). With ``known`` (the Stable ABI's names), an
    import outside it is dropped when a library of the wheel the member links defines it;
    without, nothing is looked up (no Stable ABI claim to judge it against)."""
    members = tuple(members)
    by_name = {m.member: m.elf for m in members}
    defined: dict[str, frozenset[str]] = {}
    out = []
    for member in members:
        if member.role is ElfRole.EXECUTABLE:
            continue
        # Python's symbols are never versioned: only the unversioned groups can hold them.
        imports = python_imports(g.names for g in member.elf.imports if g.version is None)
        strangers = [n for n in imports if n not in known] if known is not None else []
        if strangers:
            theirs = _from_wheel(member, strangers, by_name, defined)
            imports = tuple(n for n in imports if n not in theirs)
        extension = member.extension
        module = extension.module if extension and extension.python_major == 3 else None
        if not imports and module is None:
            continue
        hooks = member.elf.symbols.python_init_names
        unresolved = tuple(
            n.soname
            for n in member.needed
            if n.where is Where.NOT_FOUND and not is_libpython(n.soname)
        )
        out.append(
            ModuleFacts(
                member.member, module, imports, f"PyModExport_{module}" in hooks, unresolved
            )
        )
    return tuple(out)


def _from_wheel(
    member: ElfMember,
    names: Sequence[str],
    elves: Mapping[str, ElfFile],
    defined: dict[str, frozenset[str]],
) -> set[str]:
    """Those of ``names`` that a library of the wheel ``member`` links defines (PySide's
    ``PySideProperty_TypeF``: a ``Py`` name, not the interpreter's). Only done for imports
    outside the Stable ABI, so rarely; each library's ``Py`` definitions are read once."""
    own = [n.path for n in member.needed if n.where is Where.WHEEL and n.path is not None]
    found: set[str] = set()
    for path in (p for p in own if p in elves):
        if path not in defined:
            defined[path] = _defined_names(elves[path])
        found.update(n for n in names if n in defined[path])
    return found


def _defined_names(elf: ElfFile) -> frozenset[str]:
    """The ``Py*``/``_Py*`` names ``elf`` defines: the names decoded at C speed, a
    :class:`Symbol` made only for those."""
    table = elf.symbols
    indices = [i for i, n in enumerate(table.names) if n.startswith(("Py", "_Py"))]
    return frozenset(table[i].name for i in indices if table[i].defined)


def python_abi_verdict(
    filename: WheelFilename,
    members: Iterable[ElfMember],
    *,
    arch: str | None,
    libc: Libc | None,
    data: StableAbi | None = None,
) -> PythonAbiVerdict | None:
    """The verdict, or ``None`` when no tag names a CPython ABI (``py2``, PyPy, GraalPy)."""
    claims = interpreter_claims(filename)
    if all(c.kind is AbiKind.OTHER for c in claims):
        return None
    data = data or StableAbi.load()
    known = data.symbols.keys() if any(c.stable for c in claims) else None
    facts = module_facts(members, known=known)
    return judge_python_abi(filename, facts, arch=arch, libc=libc or Libc.GLIBC, data=data)
