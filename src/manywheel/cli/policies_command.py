"""``manywheel policies``: the known policies, with their libc version, aliases, architectures,
whitelist and (per architecture) the newest allowed symbol version of each namespace."""

from __future__ import annotations

import argparse
import json
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
        help="only policies covering ARCH (x86_64, i686, aarch64, armv7l, ppc64le, ppc64, "
        "s390x, riscv64, loongarch64), with their tags and newest symbol versions",
    )
    parser.add_argument(
        "--libc",
        choices=("glibc", "musl", "android"),
        help="only manylinux (glibc), musllinux (musl) or Android (PEP 738) policies",
    )
    add_policy_file_argument(parser)
    parser.add_argument("--json", action="store_true", help="print JSON (schema_version 1)")
    parser.set_defaults(handler=_handle)


def _handle(args: argparse.Namespace, ctx: Context) -> int:
    from manywheel.errors import ManywheelError
    from manywheel.policy import ARCHITECTURES, load_policies

    if args.arch is not None and args.arch not in ARCHITECTURES:
        raise ManywheelError(
            f"unknown architecture {args.arch!r} (known: {', '.join(ARCHITECTURES)})"
        )
    policies = load_policies(args.policy_file)
    chosen = [
        p
        for p in policies
        if (args.arch is None or p.covers(args.arch))
        and (args.libc is None or p.libc is None or p.libc.value == args.libc)
    ]
    if args.json:
        document = {"schema_version": SCHEMA_VERSION, "arch": args.arch}
        document["policies"] = [_as_json(p, args.arch) for p in chosen]
        json.dump(document, ctx.stdout, indent=2)
        ctx.stdout.write("\n")
    else:
        _print_table(chosen, ctx)
        if args.arch is not None:
            for policy in chosen:
                _print_details(policy, args.arch, ctx)
    return 0


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
    rows = [("policy", "aliases", "libc", "priority", "whitelist", "architectures")]
    for p in policies:
        whitelist = "any" if p.is_generic else str(len(p.lib_whitelist))
        archs = "all" if p.is_generic else " ".join(p.archs)
        aliases = " ".join(p.aliases) or "-"
        rows.append((p.name, aliases, p.libc_version_text, str(p.priority), whitelist, archs))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    for index, row in enumerate(rows):
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
        line = "  ".join([*cells, row[-1]])
        print(ctx.paint(line, "1") if index == 0 else line, file=ctx.stdout)


def _print_android(policy: Policy, level: int, arch: str, ctx: Context) -> None:
    from manywheel.policy import RUNPATH_API_LEVEL

    for lib, versions in _bionic_versions(level).items():
        print(f"  {lib} versions: {' '.join(versions)}", file=ctx.stdout)
    runpath = "yes" if level >= RUNPATH_API_LEVEL else f"no (API {RUNPATH_API_LEVEL} and later)"
    print(f"  DT_RUNPATH (and so grafting): {runpath}", file=ctx.stdout)
    print(f"  whitelist: {' '.join(sorted(policy.whitelist(arch)))}", file=ctx.stdout)


def _print_details(policy: Policy, arch: str, ctx: Context) -> None:
    tags = ", ".join([policy.tag(arch), *policy.alias_tags(arch)])
    print(f"\n{ctx.paint(tags, '1')} ({policy.libc_version_text})", file=ctx.stdout)
    if policy.is_generic:
        print("  any library, any symbol version", file=ctx.stdout)
        return
    if policy.api_level is not None:
        _print_android(policy, policy.api_level, arch, ctx)
        return
    newest = _newest(policy, arch)
    print(f"  newest versions: {' '.join(newest.values()) or '(not listed)'}", file=ctx.stdout)
    allowed = policy.versions(arch)
    if allowed.markers:
        print(f"  also: {' '.join(allowed.markers)}", file=ctx.stdout)
    empty = sorted(allowed.namespaces - set(newest) - {m.split("_")[0] for m in allowed.markers})
    if empty:
        print(f"  no versions at all of: {' '.join(empty)}", file=ctx.stdout)
    print(f"  whitelist: {' '.join(sorted(policy.whitelist(arch)))}", file=ctx.stdout)
    for lib, symbols in sorted(policy.blacklist.items()):
        print(f"  blacklist {lib}: {len(symbols)} symbols", file=ctx.stdout)
