"""The Python-tag verdict of an audited wheel: what each member imports from the interpreter,
taken from the import groups the ELF reader built in its one walk of the symbol table (no second
parse, no second walk), judged by :func:`manywheel.policy.judge_python_abi`."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

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


def module_facts(members: Iterable[ElfMember]) -> tuple[ModuleFacts, ...]:
    """Extension modules and the libraries that import Python symbols (executables embed their
    own interpreter, if any, and are left out)."""
    members = tuple(members)
    by_name = {m.member: m.elf for m in members}
    defined: dict[str, frozenset[str]] = {}
    out = []
    for member in members:
        if member.role is ElfRole.EXECUTABLE:
            continue
        # Python's symbols are never versioned: only the unversioned groups can hold them.
        imports = python_imports(g.names for g in member.elf.imports if g.version is None)
        if imports:
            imports = _not_from_wheel(member, imports, by_name, defined)
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


def _not_from_wheel(
    member: ElfMember,
    imports: tuple[str, ...],
    elves: Mapping[str, ElfFile],
    defined: dict[str, frozenset[str]],
) -> tuple[str, ...]:
    """``imports`` less those a library of the wheel that ``member`` links defines (PySide's
    ``PySideProperty_TypeF``: a ``Py`` name, not the interpreter's). The libraries' symbol
    tables are decoded only when a member links one, once each."""
    own = [n.path for n in member.needed if n.where is Where.WHEEL and n.path is not None]
    own = [path for path in own if path in elves]
    if not own:
        return imports
    names: set[str] = set()
    for path in own:
        if path not in defined:
            defined[path] = _defined_names(elves[path])
        names |= defined[path]
    return tuple(n for n in imports if n not in names)


def _defined_names(elf: ElfFile) -> frozenset[str]:
    return frozenset(s.name for s in elf.symbols if s.defined and s.name.startswith(("Py", "_Py")))


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
    return judge_python_abi(
        filename, module_facts(members), arch=arch, musl=libc is Libc.MUSL, data=data
    )
