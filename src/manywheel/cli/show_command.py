"""``manywheel show``: placeholder until its issue lands (replaced by the module's owner)."""

from __future__ import annotations

import argparse

from manywheel.cli.context import Context, Subparsers

__all__ = ["register"]


def register(subparsers: Subparsers, parent: argparse.ArgumentParser) -> None:
    parser = subparsers.add_parser("show", parents=[parent], help="(not yet available)")
    parser.set_defaults(handler=_handle)


def _handle(args: argparse.Namespace, ctx: Context) -> int:
    print("manywheel show: not yet available", file=ctx.stderr)
    return 2
