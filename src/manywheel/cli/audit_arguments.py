"""Arguments ``show`` and ``repair`` share, with auditwheel's names and meanings, and how they
and the environment become :class:`~manywheel.audit.AuditOptions`."""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from manywheel.values import value_class

if TYPE_CHECKING:
    from manywheel.audit import AuditOptions
    from manywheel.policy import PolicySet

__all__ = [
    "SearchPaths",
    "add_audit_arguments",
    "add_policy_file_argument",
    "audit_options",
    "checked_root",
    "policies_from",
    "search_paths",
]


def add_audit_arguments(parser: argparse.ArgumentParser, *, root: bool = True) -> None:
    """The audit's flags; ``--root`` only when ``root`` (``build`` decides the system itself)."""
    parser.add_argument(
        "--ldpaths",
        metavar="PATHS",
        help="colon-separated directories to search for external libraries instead of the "
        "system's (ld.so.cache, ld.so.conf, defaults); to add to them instead, set "
        "AUDITWHEEL_LD_LIBRARY_PATH (both are split as the loader splits LD_LIBRARY_PATH; "
        "default: the system's)",
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


@value_class
class SearchPaths:
    """The search-path settings of ``show``, ``repair`` and ``lddtree``, from one place."""

    ld_library_path: tuple[str, ...]
    extra_ldpaths: tuple[str, ...]
    system_ldpaths: tuple[str, ...] | None
    #: Where empty and relative entries point (``None`` under ``--root``: they are dropped).
    cwd: str | None


def search_paths(environ: Mapping[str, str], *, root: str, ldpaths: str | None) -> SearchPaths:
    """``LD_LIBRARY_PATH`` counts as the loader would count it, except with ``--root`` (it
    names host directories); ``AUDITWHEEL_LD_LIBRARY_PATH`` adds directories after RUNPATH;
    ``--ldpaths`` replaces the system's directories. All three are split the glibc way
    (:func:`manywheel.linker.parse_search_path`: ``:`` and ``;``, an empty entry is the
    current directory)."""
    from manywheel.linker import parse_search_path

    host = root == "/"
    return SearchPaths(
        ld_library_path=parse_search_path(environ.get("LD_LIBRARY_PATH")) if host else (),
        extra_ldpaths=parse_search_path(environ.get("AUDITWHEEL_LD_LIBRARY_PATH")),
        system_ldpaths=None if ldpaths is None else parse_search_path(ldpaths),
        cwd=str(Path.cwd()) if host else None,
    )


def audit_options(args: argparse.Namespace, environ: Mapping[str, str]) -> AuditOptions:
    """The audit's options from the flags and the environment (see :func:`search_paths`)."""
    from manywheel.audit import AuditOptions

    root = getattr(args, "root", "/")
    if root != "/":
        checked_root(root)
    paths = search_paths(environ, root=root, ldpaths=args.ldpaths)
    return AuditOptions(
        root=root,
        ld_library_path=paths.ld_library_path,
        extra_ldpaths=paths.extra_ldpaths,
        system_ldpaths=paths.system_ldpaths,
        cwd=paths.cwd,
        check_isa=not args.disable_isa_ext_check,
    )


def policies_from(args: argparse.Namespace) -> PolicySet:
    from manywheel.policy import load_policies

    return load_policies(tuple(args.policy_file))
