"""``manywheel policies``: the known policies, with their libc version, aliases, architectures,
whitelist and (per architecture) the newest allowed symbol version of each namespace."""

from __future__ import annotations

import argparse
import json
import textwrap
from typing import TYPE_CHECKING, Any

from manywheel.cli.audit_arguments import add_policy_file_argument
from manywheel.cli.context import Context, Subparsers

if TYPE_CHECKING:
    from manywheel.policy import Policy

__all__ = ["SCHEMA_VERSION", "register"]

#: Version of the ``--json`` document; bump it on any incompatible change.
SCHEMA_VERSION = 1


def register(subparsers: Subparsers, parent: argparse.ArgumentParser) -> None:
    parser = subparsers.add_parser(
        "policies",
        parents=[parent],
        help="list the manylinux/musllinux/Android policies and what each allows",
        description="List the known policies: libc version, aliases, architectures, library "
        "whitelist and, with --arch, the newest allowed symbol version of each namespace.",
    )
    parser.add_argument(
        "--arch",
        metavar="ARCH",
        help="policies covering ARCH (x86_64, i686, aarch64, armv7l, ppc64le, ppc64, s390x, "
        "riscv64, loongarch64), with their tags, whitelists and newest symbol versions, or "
        "'all' for every architecture (default: this machine's)",
    )
    parser.add_argument(
        "--libc",
        choices=("glibc", "musl", "android"),
        help="only manylinux (glibc), musllinux (musl) or Android (PEP 738) policies "
        "(default: all three)",
    )
    add_policy_file_argument(parser)
    parser.add_argument(
        "--json", action="store_true", help="print JSON, schema_version 1 (default: text)"
    )
    parser.set_defaults(handler=_handle)


def _arch(args: argparse.Namespace) -> str | None:
    """``--arch``, this machine's architecture without it, ``None`` for ``all``."""
    from manywheel.cli.host import host_arch
    from manywheel.errors import ManywheelError
    from manywheel.policy import ARCHITECTURES

    arch = host_arch() if args.arch is None else args.arch
    if arch == "all" or (arch is None and args.arch is None):
        return None
    if arch not in ARCHITECTURES:
        raise ManywheelError(
            f"unknown architecture {arch!r} (known: {', '.join(ARCHITECTURES)}, or all)"
        )
    return arch


def _handle(args: argparse.Namespace, ctx: Context) -> int:
    from manywheel.policy import load_policies

    arch = _arch(args)
    policies = load_policies(args.policy_file)
    chosen = [
        p
        for p in policies
        if (arch is None or p.covers(arch))
        and (args.libc is None or p.libc is None or p.libc.value == args.libc)
    ]
    if args.json:
        document: dict[str, Any] = {"schema_version": SCHEMA_VERSION, "arch": arch}
        document["policies"] = [_as_json(p, arch) for p in chosen]
        json.dump(document, ctx.stdout, indent=2)
        ctx.stdout.write("\n")
        return 0
    which = f"for {arch}" if arch else "for every architecture"
    mine = " (this machine's; --arch chooses another, --arch all shows every one)"
    print(f"Policies {which}{mine if args.arch is None and arch else ''}", file=ctx.stdout)
    for family, members in _families(chosen):
        print(f"\n{ctx.paint(family, '1')}", file=ctx.stdout)
        _print_table(members, ctx)
        for policy in members:
            _print_details(policy, arch, ctx)
    return 0


#: The families, in the order they are listed.
_FAMILIES = (
    ("glibc", "manylinux (glibc, PEP 600)"),
    ("musl", "musllinux (musl, PEP 656)"),
    ("android", "Android (Bionic, PEP 738)"),
    (None, "linux (any library: not accepted by package indexes)"),
)


def _families(policies: list[Policy]) -> list[tuple[str, list[Policy]]]:
    out = []
    for libc, title in _FAMILIES:
        members = [p for p in policies if (p.libc.value if p.libc else None) == libc]
        if members:
            out.append((title, members))
    return out


def _newest(policy: Policy, arch: str) -> dict[str, str]:
    return {ns: v.name for ns, v in policy.versions(arch).newest.items()}


def _as_json(policy: Policy, arch: str | None) -> dict[str, Any]:
    archs = [arch] if arch is not None else list(policy.archs)
    whitelist = policy.whitelist(arch) if arch is not None else policy.lib_whitelist
    out: dict[str, Any] = {
        "name": policy.name,
        "aliases": list(policy.aliases),
        "priority": policy.priority,
        "libc": None if policy.libc is None else policy.libc.value,
        "libc_version": _version_text(policy),
        "archs": list(policy.archs),
        "source": policy.source,
        "lib_whitelist": sorted(whitelist),
        "blacklist": {lib: sorted(syms) for lib, syms in sorted(policy.blacklist.items())},
        "newest_versions": {a: _newest(policy, a) for a in archs if not policy.is_generic},
        "version_markers": {
            a: list(policy.versions(a).markers) for a in archs if not policy.is_generic
        },
    }
    if arch is not None:
        out["tags"] = [policy.tag(arch), *policy.alias_tags(arch)]
    if policy.api_level is not None:
        out["api_level"] = policy.api_level
        out["bionic_versions"] = _bionic_versions(policy.api_level)
    return out


def _version_text(policy: Policy) -> str | None:
    """``2.17``, ``1.2``; an Android policy's API level (``24``)."""
    if policy.api_level is not None:
        return str(policy.api_level)
    return None if policy.libc_version is None else ".".join(map(str, policy.libc_version))


def _bionic_versions(level: int) -> dict[str, list[str]]:
    """The symbol versions of Bionic's libraries available at API ``level``."""
    from manywheel.policy import BIONIC_VERSIONS

    return {
        lib: [v for v, introduced in versions.items() if introduced <= level]
        for lib, versions in BIONIC_VERSIONS.items()
    }


def _print_table(policies: list[Policy], ctx: Context) -> None:
    """One aligned row per policy (every column padded, the header bold)."""
    rows = [("  policy", "aliases", "libc", "priority", "libraries", "architectures")]
    for p in policies:
        whitelist = "any" if p.is_generic else str(len(p.lib_whitelist))
        archs = "all" if p.is_generic else " ".join(p.archs)
        aliases = " ".join(p.aliases) or "-"
        rows.append((f"  {p.name}", aliases, p.libc_version_text, str(p.priority), whitelist,
                     archs))  # fmt: skip
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    for index, row in enumerate(rows):
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
        line = "  ".join([*cells, row[-1]])
        print(ctx.paint(line, "1") if index == 0 else line, file=ctx.stdout)


def _wrapped(label: str, words: list[str]) -> list[str]:
    """``  label: w1 w2 ...`` wrapped at 100 columns, continuation lines indented."""
    return textwrap.wrap(
        " ".join(words) or "-",
        100,
        initial_indent=f"    {label}: ",
        subsequent_indent=" " * 6,
        break_on_hyphens=False,
    )


def _print_android(policy: Policy, level: int, arch: str, ctx: Context) -> None:
    from manywheel.policy import RUNPATH_API_LEVEL

    for lib, versions in _bionic_versions(level).items():
        _lines(ctx, _wrapped(f"{lib} versions", versions))
    runpath = "yes" if level >= RUNPATH_API_LEVEL else f"no (API {RUNPATH_API_LEVEL} and later)"
    print(f"    DT_RUNPATH (and so grafting): {runpath}", file=ctx.stdout)
    _lines(ctx, _wrapped("whitelist", sorted(policy.whitelist(arch))))


def _lines(ctx: Context, lines: list[str]) -> None:
    for line in lines:
        print(line, file=ctx.stdout)


def _print_details(policy: Policy, arch: str | None, ctx: Context) -> None:
    if arch is None:
        tags = ", ".join([policy.name, *policy.aliases])
    else:
        tags = ", ".join([policy.tag(arch), *policy.alias_tags(arch)])
    print(f"\n  {ctx.paint(tags, '1')} ({policy.libc_version_text})", file=ctx.stdout)
    if policy.is_generic:
        print("    any library, any symbol version", file=ctx.stdout)
        return
    if policy.api_level is not None and arch is not None:
        _print_android(policy, policy.api_level, arch, ctx)
        return
    if arch is not None:
        newest = _newest(policy, arch)
        _lines(ctx, _wrapped("newest versions", list(newest.values()) or ["(not listed)"]))
        allowed = policy.versions(arch)
        if allowed.markers:
            _lines(ctx, _wrapped("also", list(allowed.markers)))
        markers = {m.split("_")[0] for m in allowed.markers}
        empty = sorted(allowed.namespaces - set(newest) - markers)
        if empty:
            _lines(ctx, _wrapped("no versions at all of", empty))
    whitelist = policy.whitelist(arch) if arch is not None else policy.lib_whitelist
    _lines(ctx, _wrapped(f"whitelist ({len(whitelist)})", sorted(whitelist)))
    for lib, symbols in sorted(policy.blacklist.items()):
        print(f"    blacklist {lib}: {len(symbols)} symbols", file=ctx.stdout)
