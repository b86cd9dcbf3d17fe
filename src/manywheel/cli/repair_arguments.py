"""The options ``repair`` and ``build`` share (auditwheel's ``repair`` flags, environment
variables and meanings), and how they become :class:`~manywheel.repair.RepairOptions` and a
patcher. ``build`` repairs each wheel in-process with exactly these."""

from __future__ import annotations

import argparse
import zlib
from collections.abc import Mapping
from typing import TYPE_CHECKING

from manywheel.cli.audit_arguments import add_audit_arguments
from manywheel.cli.source_date import source_date_epoch

if TYPE_CHECKING:
    from manywheel.repair import RepairOptions, UserLicense, WheelProvided

__all__ = ["PATCHERS", "add_repair_arguments", "patcher_name", "repair_options"]

#: ``--patcher`` values: manywheel's own editor (the default) and auditwheel's three
#: (``manywheel.repair.PATCHERS``, spelled out here so that building the parser imports no
#: library code).
PATCHERS = ("manywheel", "patchelf", "lief-patchelf", "none")


def add_repair_arguments(
    parser: argparse.ArgumentParser, *, plat: bool = True, root: bool = True
) -> None:
    """Add the repair's flags (``--plat`` only when ``plat``) and the audit's (``--root`` only
    when ``root``)."""
    if plat:
        parser.add_argument(
            "--plat",
            metavar="PLATFORM",
            default=None,
            help="target policy (manylinux_2_17, manylinux2014, manylinux_2_17_x86_64, ...) or "
            "'auto' for the best the wheel can have (default: $AUDITWHEEL_PLAT or auto)",
        )
    parser.add_argument(
        "-L",
        "--lib-sdir",
        default=".libs",
        help="suffix of the directory for grafted libraries: <dist><suffix>/ (default: .libs)",
    )
    parser.add_argument(
        "--no-update-tags",
        dest="update_tags",
        action="store_false",
        help="keep the wheel's platform tags (default: the repaired wheel claims the tags it "
        "now allows)",
    )
    parser.add_argument("--strip", action="store_true", help="strip symbols (strip -s)")
    parser.add_argument(
        "--exclude",
        action="append",
        default=[],
        metavar="GLOB",
        help="do not graft libraries whose soname or path matches (repeatable; default: graft "
        "every library the target policy does not allow)",
    )
    parser.add_argument(
        "--only-plat", action="store_true", help="do not claim a better policy than --plat"
    )
    parser.add_argument(
        "-z",
        "--zip-compression-level",
        type=int,
        default=None,
        choices=range(-1, 10),
        metavar="LEVEL",
        help="deflate level 0-9 for changed members (default: $AUDITWHEEL_ZIP_COMPRESSION_LEVEL"
        " or 6)",
    )
    parser.add_argument(
        "--keep-rpath",
        action="append",
        default=[],
        metavar="GLOB",
        help="keep RPATH/RUNPATH entries matching GLOB (as written) although they lead outside "
        "the wheel (repeatable; default: none kept); others are removed from every ELF file",
    )
    parser.add_argument(
        "--no-clean-rpaths",
        dest="clean_rpaths",
        action="store_false",
        help="leave RPATH/RUNPATH alone in files no graft patches (auditwheel's behaviour)",
    )
    parser.add_argument(
        "--from-wheel",
        action="append",
        default=[],
        type=_provided,
        metavar="GLOB=DIST:DIR",
        help="libraries matching GLOB come from the wheel DIST, installed at "
        "<site-packages>/DIR (e.g. 'libcublas.so.*=nvidia-cublas-cu12:nvidia/cublas/lib'): "
        "not grafted; an $ORIGIN-relative RPATH leads there (repeatable; default: none)",
    )
    parser.add_argument(
        "--include",
        action="append",
        default=[],
        metavar="LIB",
        help="also graft LIB (a soname or a path), which the wheel loads with dlopen, with its "
        "dependencies; the program must then load it from the .libs directory (repeatable; "
        "default: none)",
    )
    parser.add_argument(
        "--patcher",
        choices=PATCHERS,
        default=None,
        help="ELF patcher: manywheel (its own editor, in-process, every edit checked), patchelf, "
        "lief-patchelf (LIEF's tool, same arguments) or none (edits "
        "nothing: no RPATH clean-up, and a repair that grafts or needs another edit fails) "
        "(default: $AUDITWHEEL_PATCHER or manywheel)",
    )
    parser.add_argument(
        "--license-file",
        action="append",
        default=[],
        type=_user_license,
        metavar="GLOB=PATH",
        help="the license text of grafted libraries whose soname or path matches GLOB (a "
        "library you built, which no system package owns); copied under .dist-info/licenses/ "
        "(repeatable; default: the texts of the packages that own the libraries)",
    )
    parser.add_argument(
        "--no-abi-check",
        dest="abi_check",
        action="store_false",
        help="write the wheel even when its Python tag is known to be broken (a symbol outside "
        "the Stable ABI of an abi3 wheel, a module of the other build, a file name the "
        "interpreter does not import)",
    )
    add_audit_arguments(parser, root=root)


def _provided(text: str) -> WheelProvided:
    from manywheel.repair import WheelProvided

    try:
        return WheelProvided.parse(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def _user_license(text: str) -> UserLicense:
    from manywheel.repair import UserLicense

    try:
        return UserLicense.parse(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def _level(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    level = args.zip_compression_level
    if level is None:
        text = environ.get("AUDITWHEEL_ZIP_COMPRESSION_LEVEL", "")
        try:
            level = int(text) if text else zlib.Z_DEFAULT_COMPRESSION
        except ValueError:
            level = -2
        if not -1 <= level <= 9:
            from manywheel.errors import ManywheelError

            raise ManywheelError(f"AUDITWHEEL_ZIP_COMPRESSION_LEVEL={text!r} is not 0-9")
    return 6 if level == zlib.Z_DEFAULT_COMPRESSION else int(level)


def patcher_name(args: argparse.Namespace, environ: Mapping[str, str]) -> str:
    """``--patcher``, else ``AUDITWHEEL_PATCHER``, else ``manywheel`` (auditwheel's order; its
    default, ``patchelf``, stays available by name)."""
    if args.patcher is not None:
        return str(args.patcher)
    text = environ.get("AUDITWHEEL_PATCHER", "")
    if text and text not in PATCHERS:
        from manywheel.errors import ManywheelError

        raise ManywheelError(f"AUDITWHEEL_PATCHER={text!r} is not one of {', '.join(PATCHERS)}")
    return text or "manywheel"


def repair_options(args: argparse.Namespace, environ: Mapping[str, str]) -> RepairOptions:
    from manywheel.repair import RepairOptions

    return RepairOptions(
        plat=getattr(args, "plat", None) or environ.get("AUDITWHEEL_PLAT") or "auto",
        lib_sdir=args.lib_sdir,
        exclude=tuple(args.exclude),
        only_plat=args.only_plat,
        update_tags=args.update_tags,
        strip=args.strip,
        compress_level=_level(args, environ),
        source_date_epoch=source_date_epoch(environ),
        clean_rpaths=args.clean_rpaths,
        keep_rpaths=tuple(args.keep_rpath),
        from_wheels=tuple(args.from_wheel),
        abi_check=args.abi_check,
        license_files=tuple(args.license_file),
    )
