"""The Python half of a wheel's promise: does each module really fit the interpreters the
wheel's python and ABI tags name?

The data is CPython's own record of its Stable ABI (``Misc/stable_abi.toml``, regenerated into
``data/stable_abi.json`` by ``scripts/regenerate-stable-abi``): per symbol the version that
added it, its feature macro, whether abi3t has it; and the symbols that only one build
(free-threaded or GIL-enabled) declares. The judgment (:func:`judge_python_abi`) is pure: it
takes what the audit read from each ELF member (:class:`ModuleFacts`) and the wheel's tags.

Problems (each blocks a repair unless ``--no-abi-check``):

- ``not-in-stable-abi``: an abi3/abi3t module uses a symbol outside the Stable ABI (or one
  CPython exports only on Windows, or only in debug builds);
- ``newer-than-tag``: it uses a Stable ABI symbol added after the tag's baseline (``cp38-abi3``
  using ``PyModule_AddType``, 3.10): the verdict names the baseline it could honestly claim;
- ``wrong-suffix``: an extension's file name is one that an interpreter the tag claims does not
  import (``.cpython-311-x86_64-linux-gnu.so`` in an abi3 wheel, ``.abi3.so`` for 3.15t);
- ``free-threaded-build``: a module built for the free-threaded build (it references symbols
  only that build declares) in a wheel that claims GIL-enabled interpreters;
- ``gil-build``: a module built for the GIL-enabled build in a wheel that claims free-threaded
  ones (an ``.abi3.so`` before 3.15, an abi3t module initialised from a static PyModuleDef, or
  a ``cp313t`` module whose ``Py_DECREF`` calls ``_Py_Dealloc`` as only the GIL-enabled build's
  does).
"""

from __future__ import annotations

import json
from bisect import bisect_left
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import field, replace
from enum import Enum
from pathlib import Path
from types import MappingProxyType
from typing import Any

from manywheel.errors import InvalidPolicyError
from manywheel.policy.definitions import Libc
from manywheel.values import value_class
from manywheel.wheel import AbiKind, InterpreterClaim, WheelFilename, interpreter_claims

__all__ = [
    "AbiProblem",
    "AbiProblemKind",
    "ModuleFacts",
    "PythonAbiVerdict",
    "StableAbi",
    "StableAbiSymbol",
    "extension_suffixes",
    "judge_python_abi",
    "python_imports",
]

Version = tuple[int, int]
_DATA = Path(__file__).with_name("data") / "stable_abi.json"
#: Feature macros under which CPython on Linux does not export a symbol.
_WINDOWS_ONLY = frozenset({"MS_WINDOWS", "USE_STACKCHECK"})
_DEBUG_ONLY = frozenset({"Py_REF_DEBUG", "Py_TRACE_REFS"})
#: Functions that take a static ``PyModuleDef``, which abi3t makes opaque (PEP 803): a module
#: calling one was compiled for the GIL-enabled Stable ABI.
MODULE_DEF_FUNCTIONS = frozenset(
    {"PyModuleDef_Init", "PyModule_Create2", "PyModule_FromDefAndSpec2"}
)
#: What the GIL-enabled build's inline ``Py_DECREF`` calls (the free-threaded build's calls
#: ``_Py_MergeZeroLocalRefcount``/``_Py_DecRefShared`` instead, 3.13-3.15 headers): a module
#: importing it and none of those was compiled for the GIL-enabled build. The Stable ABI calls
#: ``_Py_DecRef`` in both builds, so this tells only version-specific modules apart.
GIL_REFCOUNT_FUNCTIONS = frozenset({"_Py_Dealloc"})
#: The first version with abi3t, and with the platform-specific ``.abi3-<triple>.so`` suffixes.
ABI3T_FIRST = (3, 15)
_HOOKS = ("PyInit_", "PyModExport_")

#: CPython's multiarch triple (in its extension suffixes) per wheel architecture, glibc builds.
_TRIPLES = {
    "x86_64": "x86_64-linux-gnu",
    "i686": "i386-linux-gnu",
    "aarch64": "aarch64-linux-gnu",
    "armv7l": "arm-linux-gnueabihf",
    "ppc64le": "powerpc64le-linux-gnu",
    "ppc64": "powerpc64-linux-gnu",
    "s390x": "s390x-linux-gnu",
    "riscv64": "riscv64-linux-gnu",
    "loongarch64": "loongarch64-linux-gnu",
}


class AbiProblemKind(Enum):
    NOT_IN_STABLE_ABI = "not-in-stable-abi"
    NEWER_THAN_TAG = "newer-than-tag"
    WRONG_SUFFIX = "wrong-suffix"
    FREE_THREADED_BUILD = "free-threaded-build"
    GIL_BUILD = "gil-build"
    #: Not a problem: ``cp314-abi3t`` and older are reserved by PEP 803 (no CPython headers
    #: build them; an experimental tool may).
    RESERVED_TAG = "reserved-tag"


@value_class
class AbiProblem:
    kind: AbiProblemKind
    #: The member (``None``: the wheel's tags themselves).
    member: str | None
    message: str
    symbols: tuple[str, ...] = ()
    #: The CPython version a symbol needs (``"3.10"``), ``"never"`` outside the Stable ABI.
    version: str | None = None
    #: The claim it breaks (``cp38-abi3``).
    tag: str | None = None


@value_class
class StableAbiSymbol:
    name: str
    kind: str
    added: Version
    abi_only: bool
    ifdef: str | None
    abi3t: bool


@value_class
class StableAbi:
    """CPython's record of its Stable ABI, with the symbols only one build declares."""

    symbols: Mapping[str, StableAbiSymbol]
    #: Symbol -> first version whose headers declare it only for the free-threaded build.
    free_threaded_only: Mapping[str, Version]
    gil_only: Mapping[str, Version]
    #: Where the record came from (``python/cpython@<commit>``).
    source: str

    @classmethod
    def load(cls, path: Path | None = None) -> StableAbi:
        """The shipped data (or the file at ``path``)."""
        text = path.read_text(encoding="utf-8") if path else _shipped_text()
        try:
            return cls.from_json(json.loads(text))
        except (ValueError, KeyError, TypeError) as e:
            where = str(path or _DATA)
            raise InvalidPolicyError(f"not valid Stable ABI data: {e}", path=where) from e

    @classmethod
    def from_json(cls, document: Mapping[str, Any]) -> StableAbi:
        for name, item in document["symbols"].items():  # the shape, checked once
            if not isinstance(item, dict) or "kind" not in item:
                raise ValueError(f"symbol {name!r}: expected an object with kind and added")
            _version(item["added"])
        return cls(
            _Symbols(document["symbols"]),
            MappingProxyType({k: _version(v) for k, v in document["free_threaded_only"].items()}),
            MappingProxyType({k: _version(v) for k, v in document.get("gil_only", {}).items()}),
            str(document["source"]["from"]),
        )


class _Symbols(Mapping[str, StableAbiSymbol]):
    """The symbols, each made into a :class:`StableAbiSymbol` when first looked up: a wheel's
    modules import a few dozen of the ~970, and ``show`` on a small wheel is start-up bound."""

    __slots__ = ("_made", "_raw")

    def __init__(self, raw: Mapping[str, Mapping[str, Any]]) -> None:
        self._raw = raw
        self._made: dict[str, StableAbiSymbol] = {}

    def __getitem__(self, name: str) -> StableAbiSymbol:
        made = self._made.get(name)
        if made is None:
            item = self._raw[name]
            made = StableAbiSymbol(
                name,
                str(item["kind"]),
                _version(item["added"]),
                bool(item.get("abi_only", False)),
                item.get("ifdef"),
                bool(item.get("abi3t", True)),
            )
            self._made[name] = made
        return made

    def __contains__(self, name: object) -> bool:
        return name in self._raw

    def __iter__(self) -> Iterator[str]:
        return iter(self._raw)

    def __len__(self) -> int:
        return len(self._raw)


def _shipped_text() -> str:
    if _DATA.is_file():
        return _DATA.read_text(encoding="utf-8")
    from importlib import resources  # installed in a zip

    data = resources.files("manywheel.policy").joinpath("data").joinpath("stable_abi.json")
    return data.read_text(encoding="utf-8")


def _version(text: object) -> Version:
    major, minor = str(text).split(".")[:2]
    return int(major), int(minor)


def _dotted(version: Version) -> str:
    return f"{version[0]}.{version[1]}"


def python_imports(sorted_names: Iterable[Sequence[str]]) -> tuple[str, ...]:
    """The names starting ``Py`` or ``_Py`` in each of ``sorted_names`` (sorted sequences:
    an ELF file's unversioned import groups), found by bisection, module hooks left out."""
    out: list[str] = []
    for names in sorted_names:
        for prefix, end in (("Py", "Pz"), ("_Py", "_Pz")):
            start, stop = bisect_left(names, prefix), bisect_left(names, end)
            out.extend(n for n in names[start:stop] if not n.startswith(_HOOKS))
    return tuple(sorted(set(out)))


@value_class
class ModuleFacts:
    """What the judgment needs of one ELF member (an extension module or a library)."""

    member: str
    #: The module name when the member is an extension module (``None`` for a library).
    module: str | None
    #: Imported (undefined) ``Py*``/``_Py*`` symbols, sorted.
    imports: tuple[str, ...]
    #: Defines ``PyModExport_<module>`` (PEP 793).
    mod_export: bool = False
    #: Libraries it needs that were not found: a ``Py`` symbol outside the Stable ABI may be
    #: theirs (PySide's modules import shiboken's ``PyMethod_New`` from another wheel).
    unresolved: tuple[str, ...] = ()


@value_class
class PythonAbiVerdict:
    """The Python-tag verdict of a wheel, apart from its platform-tag verdict."""

    #: The (python, abi) pairs judged, as tags (``cp38-abi3``).
    tags: tuple[str, ...]
    #: The lowest CPython version a Stable ABI claim names (``None``: no abi3/abi3t claim).
    baseline: Version | None
    #: The Stable ABI version the modules' symbols need (``None``: no abi3/abi3t claim).
    needed: Version | None
    problems: tuple[AbiProblem, ...]
    notes: tuple[AbiProblem, ...] = ()
    #: The members judged (those with Python symbols, and every extension module).
    members: tuple[str, ...] = ()
    source: str = ""
    #: Per member, the Stable ABI version its symbols need.
    member_needs: Mapping[str, Version] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def honest_tags(self) -> tuple[str, ...]:
        """The Stable ABI tags the wheel could claim instead when its baseline is too old for
        its symbols (``cp310-abi3``); empty otherwise."""
        if self.baseline is None or self.needed is None or self.needed <= self.baseline:
            return ()
        python = f"cp{self.needed[0]}{self.needed[1]}"
        abis = dict.fromkeys(t.split("-", 1)[1] for t in self.tags if "-abi3" in t)
        return (f"{python}-{'.'.join(abis)}",) if abis else ()


def judge_python_abi(
    filename: WheelFilename,
    modules: Sequence[ModuleFacts],
    *,
    arch: str | None,
    libc: Libc = Libc.GLIBC,
    data: StableAbi | None = None,
) -> PythonAbiVerdict:
    """Judge ``modules`` against what ``filename``'s tags claim (see the module's doc)."""
    data = data or StableAbi.load()
    claims = interpreter_claims(filename)
    problems: dict[tuple[object, ...], AbiProblem] = {}
    notes: list[AbiProblem] = []
    triple = _triple(arch, libc)
    needs = {m.member: _needed(m, data) for m in modules}
    for claim in claims:
        for problem in _claim_problems(claim, modules, data, triple, notes):
            problems.setdefault((problem.kind, problem.member, problem.message), problem)
    stable = [c for c in claims if c.stable and c.version is not None]
    baseline = min((c.version for c in stable if c.version is not None), default=None)
    needed = max(needs.values(), default=(3, 2)) if stable else None
    return PythonAbiVerdict(
        tags=tuple(c.tag for c in claims),
        baseline=baseline,
        needed=needed,
        problems=tuple(problems.values()),
        notes=tuple(dict.fromkeys(notes)),
        members=tuple(m.member for m in modules),
        source=data.source,
        member_needs=MappingProxyType(needs),
    )


def _triple(arch: str | None, libc: Libc) -> str | None:
    """The multiarch triple in the extension suffixes of a CPython for ``arch`` and ``libc``
    (Android's CPython says ``aarch64-linux-android``, as its sysconfig's ``MULTIARCH``)."""
    triple = _TRIPLES.get(arch or "")
    if triple is None or libc is Libc.GLIBC:
        return triple
    if libc is Libc.ANDROID:
        return triple.split("-", 1)[0] + "-linux-android"
    return triple.replace("-gnueabihf", "-musleabihf").replace("-gnu", "-musl")


def _needed(module: ModuleFacts, data: StableAbi) -> Version:
    """The newest Stable ABI version among the module's symbols (3.2 when none is newer)."""
    versions = (data.symbols[n].added for n in module.imports if n in data.symbols)
    return max(versions, default=(3, 2))


def _claim_problems(
    claim: InterpreterClaim,
    modules: Sequence[ModuleFacts],
    data: StableAbi,
    triple: str | None,
    notes: list[AbiProblem],
) -> Iterable[AbiProblem]:
    if claim.kind is AbiKind.OTHER:
        return
    if claim.kind is AbiKind.ABI3T and claim.version is not None and claim.version < ABI3T_FIRST:
        notes.append(
            AbiProblem(
                AbiProblemKind.RESERVED_TAG,
                None,
                f"{claim.tag}: abi3t before {_dotted(ABI3T_FIRST)} is reserved by PEP 803 "
                "(CPython's headers cannot build it)",
                tag=claim.tag,
            )
        )
    for module in modules:
        if module.module is not None:
            yield from _suffix_problems(claim, module, triple)
        if claim.stable:
            for problem in _stable_problems(claim, module, data):
                if module.unresolved and problem.kind is AbiProblemKind.NOT_IN_STABLE_ABI:
                    notes.append(_maybe_theirs(problem, module.unresolved))
                else:
                    yield problem
        if claim.free_threaded:
            yield from _gil_problems(claim, module, data)
        elif claim.kind is not AbiKind.NONE:
            yield from _threaded_problems(claim, module, data)


# --- Stable ABI symbols ---------------------------------------------------------------------


def _maybe_theirs(problem: AbiProblem, unresolved: Sequence[str]) -> AbiProblem:
    """A symbol outside the Stable ABI that a library the audit could not find may define."""
    return replace(
        problem,
        message=f"{problem.message} — unless {_few(unresolved)}, not found here, defines them",
    )


def _stable_problems(
    claim: InterpreterClaim, module: ModuleFacts, data: StableAbi
) -> Iterable[AbiProblem]:
    assert claim.version is not None
    outside: dict[str, list[str]] = {}
    newer: dict[Version, list[str]] = {}
    for name in module.imports:
        symbol = data.symbols.get(name)
        why = _outside_why(name, symbol, claim, data)
        if why is not None:
            outside.setdefault(why, []).append(name)
        elif symbol is not None and symbol.added > claim.version:
            newer.setdefault(symbol.added, []).append(name)
    abi = "abi3t" if claim.kind is AbiKind.ABI3T else "abi3"
    for why, names in outside.items():
        yield AbiProblem(
            AbiProblemKind.NOT_IN_STABLE_ABI,
            module.member,
            f"{module.member} uses {_few(names)}, {why}; the tag {claim.tag} promises "
            f"only the Stable ABI ({abi})",
            tuple(names),
            "never",
            claim.tag,
        )
    for version, names in sorted(newer.items()):
        yield AbiProblem(
            AbiProblemKind.NEWER_THAN_TAG,
            module.member,
            f"{module.member} uses {_few(names)}, in the Stable ABI since "
            f"{_dotted(version)}; the tag {claim.tag} claims {_dotted(claim.version)} and later",
            tuple(names),
            _dotted(version),
            claim.tag,
        )


def _outside_why(
    name: str, symbol: StableAbiSymbol | None, claim: InterpreterClaim, data: StableAbi
) -> str | None:
    """Why ``name`` is not usable under ``claim``'s Stable ABI; ``None`` if it is."""
    if symbol is None:
        if name in data.free_threaded_only and claim.kind is AbiKind.ABI3:
            return None  # reported once, as a module of the free-threaded build
        return "not in the Stable ABI"
    if symbol.ifdef in _WINDOWS_ONLY:
        return "which CPython exports only on Windows"
    if symbol.ifdef in _DEBUG_ONLY:
        return "which only debug builds of CPython export"
    if claim.kind is AbiKind.ABI3T and not symbol.abi3t:
        return "which abi3t does not have"
    return None


def _few(names: Sequence[str], limit: int = 4) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f" (+{len(names) - limit} more)" if len(names) > limit else "")


# --- which build ----------------------------------------------------------------------------


def _threaded_problems(
    claim: InterpreterClaim, module: ModuleFacts, data: StableAbi
) -> Iterable[AbiProblem]:
    """A GIL-enabled claim: the module must not be built for the free-threaded build."""
    names = [n for n in module.imports if n in data.free_threaded_only]
    if names:
        yield AbiProblem(
            AbiProblemKind.FREE_THREADED_BUILD,
            module.member,
            f"{module.member} was built for the free-threaded build (it uses {_few(names)}, "
            f"which only that build has); the tag {claim.tag} claims the GIL-enabled build",
            tuple(names),
            None,
            claim.tag,
        )


def _gil_problems(
    claim: InterpreterClaim, module: ModuleFacts, data: StableAbi
) -> Iterable[AbiProblem]:
    """A free-threaded claim: the module must not be built for the GIL-enabled build."""
    if claim.kind is AbiKind.ABI3T:
        names = [n for n in module.imports if n in MODULE_DEF_FUNCTIONS]
        if names and not module.mod_export:
            yield AbiProblem(
                AbiProblemKind.GIL_BUILD,
                module.member,
                f"{module.member} initialises from a static PyModuleDef ({_few(names)}), which "
                f"abi3t makes opaque: it was built for the GIL-enabled Stable ABI, and a "
                f"free-threaded CPython refuses it; the tag {claim.tag} claims free-threaded "
                f"builds",
                tuple(names),
                None,
                claim.tag,
            )
    elif (
        module.module is not None
        and claim.version is not None
        and claim.version < ABI3T_FIRST
        and _suffix(module).startswith(".abi3.")
    ):
        yield AbiProblem(
            AbiProblemKind.GIL_BUILD,
            module.member,
            f"{module.member} is a Stable ABI (abi3) module, which before "
            f"{_dotted(ABI3T_FIRST)} exists only for the GIL-enabled build; the tag "
            f"{claim.tag} claims the free-threaded build",
            (),
            None,
            claim.tag,
        )
    elif not claim.stable:
        yield from _gil_refcount_problems(claim, module, data)


def _gil_refcount_problems(
    claim: InterpreterClaim, module: ModuleFacts, data: StableAbi
) -> Iterable[AbiProblem]:
    """A version-specific free-threaded claim, and a member whose ``Py_DECREF`` is the
    GIL-enabled build's: a free-threaded CPython reads its static objects with another
    ``PyObject`` layout (3.13t: "init function ... returned uninitialized object")."""
    names = [n for n in module.imports if n in GIL_REFCOUNT_FUNCTIONS]
    if names and not any(n in data.free_threaded_only for n in module.imports):
        yield AbiProblem(
            AbiProblemKind.GIL_BUILD,
            module.member,
            f"{module.member} was built for the GIL-enabled build (its Py_DECREF calls "
            f"{_few(names)}, and it uses none of the free-threaded build's reference-count "
            f"functions); the tag {claim.tag} claims the free-threaded build",
            tuple(names),
            None,
            claim.tag,
        )


# --- file names -----------------------------------------------------------------------------


def _suffix(module: ModuleFacts) -> str:
    base = module.member.rsplit("/", 1)[-1]
    return base[len(base.split(".", 1)[0]) :]


def extension_suffixes(version: Version, free_threaded: bool, triple: str) -> tuple[str, ...]:
    """``importlib.machinery.EXTENSION_SUFFIXES`` of CPython ``version`` on Linux, in its
    order (read from each release's ``_imp.extension_suffixes()``)."""
    major, minor = version
    flags = ("t" if free_threaded else "") + ("m" if not free_threaded and version < (3, 8) else "")
    out = [f".cpython-{major}{minor}{flags}-{triple}.so"]
    if version >= ABI3T_FIRST:
        out += [] if free_threaded else [f".abi3-{triple}.so", ".abi3.so"]
        out += [f".abi3t-{triple}.so", ".abi3t.so"]
    else:
        out.append(".abi3.so")
    out.append(".so")
    return tuple(out)


def _interpreters(claim: InterpreterClaim) -> list[Version]:
    """The versions whose suffixes stand for every interpreter ``claim`` covers: its own,
    and for an open-ended (Stable ABI) claim from before 3.15 also 3.15, whose rules every
    later version keeps."""
    assert claim.version is not None
    if claim.stable and claim.version < ABI3T_FIRST:
        return [claim.version, ABI3T_FIRST]
    return [claim.version]


def _suffix_problems(
    claim: InterpreterClaim, module: ModuleFacts, triple: str | None
) -> Iterable[AbiProblem]:
    suffix = _suffix(module)
    if claim.version is None or claim.version[0] != 3:
        if claim.kind is AbiKind.NONE and suffix.startswith(".cpython-"):
            yield _suffix_problem(module, claim, "any Python 3", suffix)
        return
    if claim.kind is AbiKind.NONE:
        return
    for version in _interpreters(claim):
        accepted = extension_suffixes(version, claim.free_threaded, triple or "*")
        if not _accepted(suffix, accepted):
            build = "free-threaded " if claim.free_threaded else ""
            yield _suffix_problem(
                module, claim, f"{build}CPython {_dotted(version)}", suffix, accepted
            )
            return


def _accepted(suffix: str, accepted: Sequence[str]) -> bool:
    if suffix in accepted:
        return True
    # an unknown architecture: any triple in the same position
    return any(
        "*" in a and suffix.startswith(a.split("*")[0]) and suffix.endswith(a.split("*")[1])
        for a in accepted
    )


def _suffix_problem(
    module: ModuleFacts,
    claim: InterpreterClaim,
    who: str,
    suffix: str,
    accepted: Sequence[str] = (),
) -> AbiProblem:
    looks = f" (it imports {', '.join(accepted)})" if accepted else ""
    return AbiProblem(
        AbiProblemKind.WRONG_SUFFIX,
        module.member,
        f"{module.member}: {who} does not import a module named *{suffix}{looks}; the tag "
        f"{claim.tag} claims it",
        (),
        None,
        claim.tag,
    )
