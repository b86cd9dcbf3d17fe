"""``manywheel repair WHEEL...``: auditwheel's ``repair``, same flags and environment."""

from __future__ import annotations

import argparse
import json
import sys
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from manywheel.cli.audit_arguments import add_audit_arguments, audit_options, policies_from
from manywheel.cli.context import Context, Subparsers

if TYPE_CHECKING:
    from manywheel.repair import RepairOptions, RepairResult, WheelProvided

__all__ = ["register"]

#: ``--patcher`` values: manywheel's own editor (the default) and auditwheel's three
#: (``manywheel.repair.PATCHERS``, spelled out here so that building the parser imports no
#: library code).
PATCHERS = ("manywheel", "patchelf", "lief-patchelf", "none")


def register(subparsers: Subparsers, parent: argparse.ArgumentParser) -> None:
    parser = subparsers.add_parser(
        "repair",
        parents=[parent],
        help="graft external libraries into wheels, patch and retag them",
        description="Copy the external shared libraries a wheel needs into it under unique "
        "names, patch DT_NEEDED/RPATH/SONAME, retag it, and check the result before writing it. "
        "Exactly one wheel per input is written to the wheel directory; nothing on failure.",
    )
    parser.add_argument("wheels", metavar="WHEEL_FILE", nargs="+", type=Path)
    parser.add_argument(
        "--plat",
        metavar="PLATFORM",
        default=None,
        help="target policy (manylinux_2_17, manylinux2014, manylinux_2_17_x86_64, ...) or "
        "'auto' for the best the wheel can have (default: $AUDITWHEEL_PLAT or auto)",
    )
    parser.add_argument(
        "-L", "--lib-sdir", default=".libs", help="suffix of the directory for grafted libraries"
    )
    parser.add_argument(
        "-w", "--wheel-dir", type=Path, default=Path("wheelhouse"), help="output directory"
    )
    parser.add_argument("--no-update-tags", dest="update_tags", action="store_false")
    parser.add_argument("--strip", action="store_true", help="strip symbols (strip -s)")
    parser.add_argument(
        "--exclude",
        action="append",
        default=[],
        metavar="GLOB",
        help="do not graft libraries whose soname or path matches (repeatable)",
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
        "the wheel (repeatable); others are removed from every ELF file",
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
        "not grafted; an $ORIGIN-relative RPATH leads there (repeatable)",
    )
    parser.add_argument(
        "--include",
        action="append",
        default=[],
        metavar="LIB",
        help="also graft LIB (a soname or a path), which the wheel loads with dlopen, with its "
        "dependencies; the program must then load it from the .libs directory (repeatable)",
    )
    parser.add_argument(
        "--json", action="store_true", help="print what was done as JSON (schema_version 1)"
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
    add_audit_arguments(parser)
    parser.set_defaults(handler=_handle)


def _provided(text: str) -> WheelProvided:
    from manywheel.repair import WheelProvided

    try:
        return WheelProvided.parse(text)
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


def _epoch(environ: Mapping[str, str]) -> int | None:
    text = environ.get("SOURCE_DATE_EPOCH")
    if not text:
        return None
    try:
        return int(text)
    except ValueError:
        from manywheel.errors import ManywheelError

        raise ManywheelError(f"SOURCE_DATE_EPOCH={text!r} is not an integer") from None


def _patcher_name(args: argparse.Namespace, environ: Mapping[str, str]) -> str:
    """``--patcher``, else ``AUDITWHEEL_PATCHER``, else ``manywheel`` (auditwheel's order; its
    default, ``patchelf``, stays available by name)."""
    if args.patcher is not None:
        return str(args.patcher)
    text = environ.get("AUDITWHEEL_PATCHER", "")
    if text and text not in PATCHERS:
        from manywheel.errors import ManywheelError

        raise ManywheelError(f"AUDITWHEEL_PATCHER={text!r} is not one of {', '.join(PATCHERS)}")
    return text or "manywheel"


def _options(args: argparse.Namespace, environ: Mapping[str, str]) -> RepairOptions:
    from manywheel.repair import RepairOptions

    return RepairOptions(
        plat=args.plat or environ.get("AUDITWHEEL_PLAT") or "auto",
        lib_sdir=args.lib_sdir,
        exclude=tuple(args.exclude),
        only_plat=args.only_plat,
        update_tags=args.update_tags,
        strip=args.strip,
        compress_level=_level(args, environ),
        source_date_epoch=_epoch(environ),
        clean_rpaths=args.clean_rpaths,
        keep_rpaths=tuple(args.keep_rpath),
        from_wheels=tuple(args.from_wheel),
    )


def _describe(result: RepairResult) -> str:
    plan = result.plan
    if plan is None:
        return f"{result.input.name}: pure wheel copied to {result.output}"
    grown = result.output_size - result.input_size
    lines = [f"{result.input.name} -> {result.output}", f"  tag: {plan.target.tag}"]
    for graft in plan.grafts:
        size = Path(graft.file).stat().st_size
        lines.append(f"  grafted {graft.source} as {graft.member} ({size:,} bytes)")
        if graft.included:
            lines.append(f"    (--include: the program must dlopen it from {graft.member})")
    provided = dict(plan.provided)
    lines.extend(
        f"  {name}: from the wheel {provided[name]}" if name in provided else f"  excluded {name}"
        for name in plan.excluded
    )
    if result.sbom is not None:
        owners = ", ".join(dict.fromkeys(f"{o.name} {o.version}" for _, o in result.sbom_packages))
        lines.append(f"  SBOM {result.sbom}: {owners}")
    lines.append(f"  size: {result.input_size:,} -> {result.output_size:,} bytes ({grown:+,})")
    return "\n".join(lines)


def _handle(args: argparse.Namespace, ctx: Context) -> int:
    from manywheel import __version__
    from manywheel.repair import SystemPackages, make_patcher, repair_wheel

    options = _options(args, ctx.environ)
    audit = replace(audit_options(args, ctx.environ), include=tuple(args.include))
    policies = policies_from(args)
    path = ctx.environ.get("PATH")
    patcher = make_patcher(
        _patcher_name(args, ctx.environ), [str(Path(sys.executable).parent)], path=path
    )

    def repair(wheel: Path) -> RepairResult:
        if not wheel.is_file():
            raise FileNotFoundError(2, "No such file", str(wheel))
        return repair_wheel(
            wheel,
            args.wheel_dir,
            patcher=patcher,
            options=options,
            audit=audit,
            policies=policies,
            allow_pure=args.allow_pure_python_wheel,
            packages=SystemPackages(audit.root, path=path),
            tool_version=__version__,
        )

    results: list[RepairResult] = []
    for index, wheel in enumerate(args.wheels):
        try:
            result = repair(wheel)
        except (Exception, KeyboardInterrupt) as e:
            # The wheels already written stay written (as auditwheel): say which, then fail.
            if args.json:
                _print_json(ctx, results, (wheel, e), args.wheels[index + 1 :])
            raise
        results.append(result)
        if not args.json:
            print(_describe(result), file=ctx.stdout)
    if args.json:
        _print_json(ctx, results)
    return 0


def _print_json(
    ctx: Context,
    results: list[RepairResult],
    failed: tuple[Path, BaseException] | None = None,
    not_attempted: Sequence[Path] = (),
) -> None:
    from manywheel.cli.repair_json import repair_json

    document = repair_json(results, failed=failed, not_attempted=not_attempted)
    print(json.dumps(document, indent=2), file=ctx.stdout)
