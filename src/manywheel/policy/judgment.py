"""The judgment: for every policy, is the wheel allowed, and every reason why not.

Two answers per policy. *As it is*: every library outside the wheel that is not whitelisted is a
reason. *After repair*: such libraries, when found, are grafted, so they stop being reasons; but
the grafted libraries' own requirements (their symbol versions, blacklisted symbols, ISA level,
executable stack, and their own non-whitelisted dependencies, grafted in turn) are judged like
the wheel's files. Reasons a repair removes have ``repairable`` set; the after-repair answer keeps
only the others.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import field
from enum import Enum

from manywheel.errors import InvalidPolicyError
from manywheel.lazy import lazy_logger
from manywheel.policy.android import RUNPATH_API_LEVEL, bionic_version_level, is_bionic_library
from manywheel.policy.definitions import Libc, Policy, is_dynamic_loader, is_libpython
from manywheel.policy.reasons import Reason, ReasonKind
from manywheel.policy.requirements import ElfRequirements, LibraryUse, Location, WheelRequirements
from manywheel.policy.symbol_versions import AllowedVersions, SymbolVersion, VersionStatus
from manywheel.values import value_class

__all__ = ["PolicyVerdict", "Verdict", "evaluate"]

logger = lazy_logger(__name__)

_X86 = frozenset({"x86_64", "i686"})
_BLOCKING = frozenset({ReasonKind.WRONG_LIBC, ReasonKind.ARCH_NOT_COVERED})


@value_class
class PolicyVerdict:
    """One policy's answer for one wheel."""

    policy: Policy
    #: The platform tag for the wheel's architecture (``manylinux_2_17_x86_64``).
    tag: str
    #: Its legacy aliases (``manylinux2014_x86_64``).
    alias_tags: tuple[str, ...]
    #: Every reason against the wheel as it is.
    reasons: tuple[Reason, ...]
    #: Every reason left after a repair (grafted libraries' requirements included).
    reasons_after_repair: tuple[Reason, ...]
    #: Sonames a repair would graft for this policy (the libraries to eliminate), sorted.
    grafts: tuple[str, ...]

    @property
    def allowed(self) -> bool:
        return not self.reasons

    @property
    def allowed_after_repair(self) -> bool:
        return not self.reasons_after_repair

    @property
    def applicable(self) -> bool:
        """False when the policy is for the other libc or has no data for the architecture."""
        return not any(r.kind in _BLOCKING for r in self.reasons)


@value_class
class Verdict:
    """Every policy's answer, highest priority first, and the checks it was judged with."""

    arch: str
    policies: tuple[PolicyVerdict, ...]
    check_isa: bool = True
    check_execstack: bool = True

    def __iter__(self) -> Iterator[PolicyVerdict]:
        return iter(self.policies)

    @property
    def best(self) -> PolicyVerdict:
        """The highest-priority policy allowing the wheel as it is (``linux`` at worst)."""
        return next(v for v in self.policies if v.allowed)

    @property
    def best_after_repair(self) -> PolicyVerdict:
        """The highest-priority policy allowing the wheel once repaired."""
        return next(v for v in self.policies if v.allowed_after_repair)

    @property
    def applicable(self) -> tuple[PolicyVerdict, ...]:
        """Verdicts of the policies for the wheel's libc and architecture."""
        return tuple(v for v in self.policies if v.applicable)

    def get(self, name: str) -> PolicyVerdict | None:
        """The verdict of the policy with this name, alias or platform tag."""
        for verdict in self.policies:
            names = {verdict.policy.name, *verdict.policy.aliases, verdict.tag}
            if name in names or name in verdict.alias_tags:
                return verdict
        return None


def evaluate(
    policies: Iterable[Policy],
    requirements: WheelRequirements,
    *,
    check_isa: bool = True,
    check_execstack: bool = True,
) -> Verdict:
    """Judge ``requirements`` against each of ``policies`` (which must include ``linux``).

    ``check_isa=False`` is auditwheel's ``--disable-isa-ext-check``; ``check_execstack=False``
    accepts executable stacks."""
    options = _Options(check_isa, check_execstack)
    ordered = sorted(policies, key=lambda p: (-p.priority, p.name))
    verdicts = tuple(_judge(policy, requirements, options) for policy in ordered)
    if not any(v.policy.is_generic for v in verdicts):
        raise InvalidPolicyError("the policies to judge against must include 'linux'")
    return Verdict(requirements.arch, verdicts, check_isa, check_execstack)


@value_class
class _Options:
    check_isa: bool
    check_execstack: bool


@value_class
class _Judge:
    """One policy on one architecture: the rules applied to ELF files."""

    policy: Policy
    arch: str
    whitelist: frozenset[str]
    versions: AllowedVersions
    options: _Options
    #: Status of each version name judged so far (the same names recur in every file).
    statuses: dict[str, tuple[SymbolVersion, VersionStatus]] = field(default_factory=dict)
    #: Provider of each soname judged so far, None where it depends on the library's location.
    providers: dict[str, _Provider | None] = field(default_factory=dict)
    #: Whether the policy's data lists a private version (only a user's file would).
    lists_private: bool = False
    #: Android: the API level the wheel's tag claims (the floor for files that do not say).
    tag_level: int | None = None

    def status(self, name: str) -> tuple[SymbolVersion, VersionStatus]:
        known = self.statuses.get(name)
        if known is None:
            version = SymbolVersion.parse(name)
            known = self.statuses[name] = (version, self.versions.judge(version))
        return known


class _Provider(Enum):
    LOADER = "loader"
    LIBPYTHON = "libpython"
    SYSTEM = "system"
    WHEEL = "wheel"
    MISSING = "missing"
    GRAFT = "graft"


def _judge(policy: Policy, req: WheelRequirements, options: _Options) -> PolicyVerdict:
    tag, aliases = policy.tag(req.arch), policy.alias_tags(req.arch)
    if policy.is_generic:
        return PolicyVerdict(policy, tag, aliases, (), (), ())
    wheel = _wheel_reasons(policy, req)
    if any(r.kind in _BLOCKING for r in wheel):
        return PolicyVerdict(policy, tag, aliases, _sorted(wheel), _sorted(wheel), ())
    versions = policy.versions(req.arch)
    private = any(n.endswith("_PRIVATE") for n in versions.names)
    judge = _Judge(
        policy,
        req.arch,
        policy.whitelist(req.arch),
        versions,
        options,
        lists_private=private,
        tag_level=req.android_tag_level,
    )
    own = [r for f in req.files for r in _file_reasons(judge, f, grafted=False)]
    grafts = _graft_closure(judge, req)
    grafted = [
        r for f in grafts.values() if f is not None for r in _file_reasons(judge, f, grafted=True)
    ]
    grafted.extend(_android_graft_reasons(policy, grafts))
    after = [r for r in (*wheel, *own, *grafted) if not r.repairable]
    return PolicyVerdict(
        policy, tag, aliases, _sorted([*wheel, *own]), _sorted(after), tuple(sorted(grafts))
    )


def _sorted(reasons: Iterable[Reason]) -> tuple[Reason, ...]:
    unique = {r.sort_key(): r for r in reasons}
    return tuple(unique[k] for k in sorted(unique))


def _wheel_reasons(policy: Policy, req: WheelRequirements) -> list[Reason]:
    out = []
    if policy.libc is not req.libc:
        assert policy.libc is not None
        message = f"{policy.name} is a {policy.libc.value} policy; the wheel uses {req.libc.value}"
        out.append(Reason(ReasonKind.WRONG_LIBC, message))
    if not policy.covers(req.arch):
        message = f"{policy.name} has no data for {req.arch} (it covers {', '.join(policy.archs)})"
        out.append(Reason(ReasonKind.ARCH_NOT_COVERED, message))
    if policy.libc is Libc.MUSL and req.libc is Libc.MUSL:
        out.extend(_musl_reasons(policy, req.musl_version))
    return out


def _musl_reasons(policy: Policy, needed: tuple[int, int] | None) -> list[Reason]:
    assert policy.libc_version is not None
    have = ".".join(map(str, policy.libc_version))
    if needed is None:
        message = (
            f"the musl version the wheel needs is unknown, so {policy.name} (musl {have}) "
            "cannot be promised"
        )
        return [Reason(ReasonKind.MUSL_UNKNOWN, message)]
    if needed > policy.libc_version:
        want = ".".join(map(str, needed))
        message = f"the wheel needs musl {want}; {policy.name} guarantees musl {have}"
        return [Reason(ReasonKind.MUSL_TOO_NEW, message, version=f"musl {want}")]
    return []


def _provider(judge: _Judge, use: LibraryUse) -> _Provider:
    """Who provides a library under this policy. A whitelisted soname counts as the system's
    even when the wheel ships a copy: the system's copy, often already loaded (libz by Python's
    zlib), wins by soname."""
    providers = judge.providers
    if use.soname not in providers:
        providers[use.soname] = _provider_by_name(judge, use.soname)
    known = providers[use.soname]
    if known is not None:
        return known
    if use.location is Location.WHEEL:
        return _Provider.WHEEL
    if use.location is Location.NOT_FOUND:
        return _Provider.MISSING
    return _Provider.GRAFT


def _provider_by_name(judge: _Judge, soname: str) -> _Provider | None:
    if is_dynamic_loader(soname):
        return _Provider.LOADER
    if is_libpython(soname):
        # On Android, extension modules link libpython, which the app has already loaded.
        android = judge.policy.libc is Libc.ANDROID
        return _Provider.SYSTEM if android else _Provider.LIBPYTHON
    if soname in judge.whitelist:
        return _Provider.SYSTEM
    return None


def _graft_closure(judge: _Judge, req: WheelRequirements) -> dict[str, ElfRequirements | None]:
    """Libraries a repair would graft for this policy: the non-whitelisted libraries found
    outside the wheel, and theirs in turn."""
    grafts: dict[str, ElfRequirements | None] = {}
    pending = [use for f in req.files for use in f.needed]
    while pending:
        use = pending.pop()
        if use.soname in grafts or _provider(judge, use) is not _Provider.GRAFT:
            continue
        facts = req.libraries.get(use.soname)
        if facts is None:
            logger.warning(
                "no requirements known for %s; judging it as needing nothing", use.soname
            )
        grafts[use.soname] = facts
        pending.extend(facts.needed if facts is not None else ())
    return grafts


@value_class
class _File:
    """The file reasons are about: a file of the wheel, or a library a repair would graft."""

    path: str
    grafted: bool

    @property
    def label(self) -> str:
        return f"{self.path} (grafted)" if self.grafted else self.path

    def reason(
        self,
        kind: ReasonKind,
        message: str,
        *,
        library: str | None = None,
        version: str | None = None,
        symbols: tuple[str, ...] = (),
    ) -> Reason:
        return Reason(kind, message, self.path, library, version, symbols, self.grafted)


def _file_reasons(judge: _Judge, elf: ElfRequirements, *, grafted: bool) -> Iterator[Reason]:
    file = _File(elf.path, grafted)
    for use in elf.needed:
        if elf.embeds_python and is_libpython(use.soname):
            continue  # an executable that starts its own interpreter may link libpython
        if not _unremarkable(judge, use):
            yield from _library_reasons(judge, file, use)
    yield from _property_reasons(judge, file, elf)


def _unremarkable(judge: _Judge, use: LibraryUse) -> bool:
    """True for a use that certainly gives no reason (most uses): a library of the wheel's, or
    the system's with every version provided and no blacklisted symbol. A quick test before the
    full one, which explains."""
    provider = _provider(judge, use)
    if provider is _Provider.WHEEL:
        return True
    if provider is not _Provider.SYSTEM and provider is not _Provider.LOADER:
        return False
    names = use.versions.keys()
    if not names <= judge.versions.names:
        return False
    if judge.lists_private and any(n.endswith("_PRIVATE") for n in names):
        return False
    banned = judge.policy.blacklist.get(use.soname)
    return not banned or banned.isdisjoint(use.symbols)


def _library_reasons(judge: _Judge, file: _File, use: LibraryUse) -> Iterator[Reason]:
    provider = _provider(judge, use)
    name, lib, label = judge.policy.name, use.soname, file.label
    if provider is _Provider.LIBPYTHON:
        message = f"{label} links {lib} (a repair removes this dependency)"
        yield file.reason(ReasonKind.LIBPYTHON, message, library=lib)
    elif provider is _Provider.GRAFT:
        message = f"{label} needs {lib}, which is not on the {name} whitelist (a repair grafts it)"
        yield file.reason(ReasonKind.NOT_WHITELISTED, message, library=lib)
    elif provider is _Provider.MISSING:
        message = f"{label} needs {lib}, which is not on the {name} whitelist and was not found"
        yield file.reason(ReasonKind.LIBRARY_NOT_FOUND, message, library=lib)
    elif provider in (_Provider.SYSTEM, _Provider.LOADER):
        yield from _version_reasons(judge, file, use)
        yield from _blacklist_reasons(judge, file, use)


def _version_reasons(judge: _Judge, file: _File, use: LibraryUse) -> Iterator[Reason]:
    if judge.policy.libc is Libc.ANDROID:
        yield from _bionic_version_reasons(judge, file, use)
        return
    for name, symbols in sorted(use.versions.items()):
        version, status = judge.status(name)
        if status is VersionStatus.ALLOWED:
            continue
        if status is not VersionStatus.PRIVATE and not judge.versions.checked:
            continue  # the policy lists no versions for this architecture (musllinux)
        kind, why = _version_problem(judge, version, status, use.soname)
        users = f" (for {_few(symbols)})" if symbols else ""
        message = f"{file.label} needs {name} from {use.soname}{users}: {why}"
        yield file.reason(
            kind, message, library=use.soname, version=name, symbols=tuple(sorted(symbols))
        )


def _version_problem(
    judge: _Judge, version: SymbolVersion, status: VersionStatus, lib: str
) -> tuple[ReasonKind, str]:
    name, arch = judge.policy.name, judge.arch
    if status is VersionStatus.PRIVATE:
        return ReasonKind.VERSION_PRIVATE, "a private interface, allowed by no policy"
    if status is VersionStatus.TOO_NEW:
        newest = judge.versions.newest[version.namespace].name
        return ReasonKind.VERSION_TOO_NEW, f"too new; {name} on {arch} provides up to {newest}"
    if status is VersionStatus.UNKNOWN_NAMESPACE:
        why = f"{name} on {arch} provides no {version.namespace} versions"
        return ReasonKind.VERSION_UNKNOWN_NAMESPACE, why
    return ReasonKind.VERSION_NOT_PROVIDED, f"{lib} of {name} on {arch} does not provide it"


def _blacklist_reasons(judge: _Judge, file: _File, use: LibraryUse) -> Iterator[Reason]:
    banned = judge.policy.blacklist.get(use.soname, frozenset())
    for symbol in sorted(use.symbols & banned):
        message = (
            f"{file.label} uses {symbol} from {use.soname}, which {judge.policy.name} blacklists"
        )
        yield file.reason(
            ReasonKind.BLACKLISTED_SYMBOL, message, library=use.soname, symbols=(symbol,)
        )


def _property_reasons(judge: _Judge, file: _File, elf: ElfRequirements) -> Iterator[Reason]:
    level, label = elf.isa_level, file.label
    android = judge.policy.libc is Libc.ANDROID
    # Android's x86_64 ABI includes SSE4.2 and POPCNT (x86-64-v2); others guarantee baseline.
    allowed = 2 if android and judge.arch == "x86_64" else 1
    if judge.options.check_isa and judge.arch in _X86 and level is not None and level > allowed:
        guaranteed = "only baseline" if allowed == 1 else f"only x86-64-v{allowed}"
        message = f"{label} needs x86-64-v{level}; {judge.policy.name} guarantees {guaranteed}"
        yield file.reason(ReasonKind.ISA_LEVEL, message, version=f"x86-64-v{level}")
    if android:
        # Bionic ignores PT_GNU_STACK: no executable-stack reason.
        yield from _android_reasons(judge, file, elf)
    elif judge.options.check_execstack and elf.executable_stack:
        message = f"{label} asks for an executable stack (glibc >= 2.41 refuses to dlopen it)"
        yield file.reason(ReasonKind.EXECUTABLE_STACK, message)
    if elf.uses_pyfpe_jbuf:
        message = f"{label} uses PyFPE_jbuf, which no manylinux/musllinux Python provides"
        yield file.reason(ReasonKind.PYFPE_JBUF, message, symbols=("PyFPE_jbuf",))
    if elf.uses_ucs2:
        message = f"{label} uses UCS2 (narrow-unicode Python 2) symbols"
        yield file.reason(ReasonKind.UCS2, message)


def _bionic_version_reasons(judge: _Judge, file: _File, use: LibraryUse) -> Iterator[Reason]:
    """Bionic names each symbol version after the release that added it: a version newer than
    the policy's API level is a reason, a platform-internal one (``LIBC_PRIVATE``) always is.
    Versions of other libraries are not judged (the data lists none)."""
    if not is_bionic_library(use.soname):
        return
    have = judge.policy.api_level or 0
    for name, symbols in sorted(use.versions.items()):
        users = f" (for {_few(symbols)})" if symbols else ""
        level = bionic_version_level(use.soname, name)
        if level is not None and level <= have:
            continue
        if level is None:
            kind, why = ReasonKind.VERSION_PRIVATE, "not a public NDK interface of any API level"
        else:
            kind = ReasonKind.VERSION_TOO_NEW
            why = f"too new: Android API {level}; {judge.policy.name} guarantees API {have}"
        message = f"{file.label} needs {name} from {use.soname}{users}: {why}"
        yield file.reason(
            kind, message, library=use.soname, version=name, symbols=tuple(sorted(symbols))
        )


def _android_reasons(judge: _Judge, file: _File, elf: ElfRequirements) -> Iterator[Reason]:
    """The API level a file was built for (its ident note), or the wheel's tag when it does not
    say; and DT_RUNPATH, which Bionic reads from API 24 on."""
    have, name, label = judge.policy.api_level or 0, judge.policy.name, file.label
    built = elf.android_api_level
    if built is not None and built > have:
        message = f"{label} was built for Android API {built} (its .note.android.ident); {name} "
        message += f"guarantees API {have}"
        yield file.reason(ReasonKind.ANDROID_API_LEVEL, message, version=f"API {built}")
    tagged = judge.tag_level
    if built is None and tagged is not None and tagged > have:
        message = (
            f"{label} does not say which Android API level it was built for (no "
            f".note.android.ident), so nothing below the wheel's tag (API {tagged}) can be promised"
        )
        yield file.reason(ReasonKind.ANDROID_API_UNKNOWN, message, version=f"API {tagged}")
    if elf.runpath_in_wheel and have < RUNPATH_API_LEVEL:
        message = (
            f"{label} finds libraries of the wheel through DT_RUNPATH, which Bionic reads from "
            f"API {RUNPATH_API_LEVEL} on; {name} guarantees API {have}"
        )
        yield file.reason(ReasonKind.ANDROID_RUNPATH, message, version=f"API {RUNPATH_API_LEVEL}")


def _android_graft_reasons(
    policy: Policy, grafts: dict[str, ElfRequirements | None]
) -> Iterator[Reason]:
    """Grafted libraries are found through DT_RUNPATH: not below API 24."""
    have = policy.api_level
    if have is None or have >= RUNPATH_API_LEVEL or not grafts:
        return
    names = ", ".join(sorted(grafts))
    message = (
        f"grafting {names} needs DT_RUNPATH, which Bionic reads from API {RUNPATH_API_LEVEL} on; "
        f"{policy.name} guarantees API {have}"
    )
    yield Reason(ReasonKind.ANDROID_RUNPATH, message, version=f"API {RUNPATH_API_LEVEL}")


def _few(symbols: Iterable[str], limit: int = 3) -> str:
    ordered = sorted(symbols)
    shown = ", ".join(ordered[:limit])
    return f"{shown} and {len(ordered) - limit} more" if len(ordered) > limit else shown
