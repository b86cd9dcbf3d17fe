"""Arguments ``show`` and ``repair`` share, with auditwheel's names and meanings, and how they
and the environment become :class:`~manywheel.audit.AuditOptions`."""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from manywheel.audit import AuditOptions
    from manywheel.policy import PolicySet

__all__ = [
    "add_audit_arguments",
    "add_policy_file_argument",
    "audit_options",
    "checked_root",
    "policies_from",
]


def add_audit_arguments(parser: argparse.ArgumentParser, *, root: bool = True) -> None:
    """The audit's flags; ``--root`` only when ``root`` (``build`` decides the system itself)."""
    parser.add_argument(
        "--ldpaths",
        metavar="PATHS",
        help="colon-separated directories to search for external libraries instead of the "
        "system's (ld.so.cache, ld.so.conf, defaults); to add to them instead, set "
        "AUDITWHEEL_LD_LIBRARY_PATH (default: the system's)",
    )
    parser.add_argument(
        "--disable-isa-ext-check",
        action="store_true",
        help="do not check for extended ISA compatibility (e.g. x86-64-v2)",
    )
    parser.add_argument(
        "--allow-pure-python-wheel",
        action="store_true",
        help="accept pure Python wheels (no platform-specific binaries) without error",
    )
    if root:
        parser.add_argument(
            "--root",
            metavar="DIR",
            default="/",
            help="resolve libraries as if DIR were the system (a Debian root, a sysroot) "
            "(default: /)",
        )
    add_policy_file_argument(parser)


def add_policy_file_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--policy-file",
        metavar="FILE",
        action="append",
        type=Path,
        default=[],
        help="a policy file (auditwheel's JSON format) adding or overriding policies; repeatable "
        "(default: the shipped policies only)",
    )


def checked_root(root: str) -> str:
    """``--root DIR`` as given, once it is known to be a directory that can be listed: a root
    that is missing, not a directory or unreadable would otherwise look like a system without
    libraries, and every library would be "not found" there."""
    import os

    from manywheel.errors import InputError

    try:
        with os.scandir(root) as entries:
            next(entries, None)
    except OSError as e:
        raise InputError(f"--root: {e.strerror}", path=root) from None
    return root


def _split(value: str | None) -> tuple[str, ...]:
    return tuple(p for p in (value or "").split(":") if p)


def audit_options(args: argparse.Namespace, environ: Mapping[str, str]) -> AuditOptions:
    """``LD_LIBRARY_PATH`` counts as the loader would count it, except with ``--root`` (it
    names host directories); ``AUDITWHEEL_LD_LIBRARY_PATH`` adds directories after RUNPATH;
    ``--ldpaths`` replaces the system's directories."""
    from manywheel.audit import AuditOptions

    root = getattr(args, "root", "/")
    if root != "/":
        checked_root(root)
    return AuditOptions(
        root=root,
        ld_library_path=() if root != "/" else _split(environ.get("LD_LIBRARY_PATH")),
        extra_ldpaths=_split(environ.get("AUDITWHEEL_LD_LIBRARY_PATH")),
        system_ldpaths=None if args.ldpaths is None else _split(args.ldpaths),
        check_isa=not args.disable_isa_ext_check,
    )


def policies_from(args: argparse.Namespace) -> PolicySet:
    from manywheel.policy import load_policies

    return load_policies(tuple(args.policy_file))
