"""The repair step of ``manywheel build`` from each identifier's ``repair-wheel-command``:
``manywheel repair …`` and ``auditwheel repair …`` are parsed with ``repair``'s own flags (over
the build's: its ``--exclude`` adds to theirs) and run in-process; other commands run in the
build's environment."""

from __future__ import annotations

import argparse
import copy
import sys
from collections.abc import Mapping
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from manywheel.cli.audit_arguments import audit_options, policies_from
from manywheel.cli.context import Context
from manywheel.cli.repair_arguments import add_repair_arguments, patcher_name, repair_options

if TYPE_CHECKING:
    from manywheel.build import BuildIdentifier, BuildOptions, RepairSettings, RepairStep
    from manywheel.policy import PolicySet

__all__ = ["repairs_of"]


def _repair_settings(args: argparse.Namespace, ctx: Context, policies: PolicySet) -> RepairSettings:
    from manywheel import __version__
    from manywheel.build import RepairSettings
    from manywheel.repair import make_patcher

    path = ctx.environ.get("PATH")
    return RepairSettings(
        options=repair_options(args, ctx.environ),
        audit=replace(audit_options(args, ctx.environ), include=tuple(args.include)),
        policies=policies,
        patcher=make_patcher(
            patcher_name(args, ctx.environ), [str(Path(sys.executable).parent)], path=path
        ),
        allow_pure=args.allow_pure_python_wheel,
        tool_version=__version__,
        path=path,
    )


class _CommandParser(argparse.ArgumentParser):
    """Parses a repair command's flags; an error raises instead of exiting."""

    def error(self, message: str) -> NoReturn:
        raise ValueError(message)


def _repair_namespace(
    words: tuple[str, ...], args: argparse.Namespace
) -> argparse.Namespace | None:
    """``args`` with a ``manywheel repair``/``auditwheel repair`` command's flags over them
    (its ``--exclude`` adds to build's); ``None`` when it does not write ``{wheel}``'s repair
    to ``{dest_dir}`` (then it runs as a command). Raises ValueError for a bad flag."""
    parser = _CommandParser(prog="repair", add_help=False)
    parser.add_argument("-w", "--wheel-dir", dest="wheel_dir", default="wheelhouse")
    parser.add_argument("wheels", nargs="*")
    add_repair_arguments(parser, plat=True, root=False)
    namespace = copy.copy(args)
    del namespace.wheel_dir
    namespace.exclude = list(args.exclude)
    parsed = parser.parse_args(list(words), namespace=namespace)
    if parsed.wheel_dir != "{dest_dir}" or parsed.wheels != ["{wheel}"]:
        return None
    return parsed


def _repair_steps(
    options: BuildOptions, args: argparse.Namespace, ctx: Context, policies: PolicySet
) -> tuple[RepairStep, ...]:
    """The repair-wheel-command's steps: manywheel's/auditwheel's repair in-process, the rest
    as commands in the environment."""
    from manywheel.build import (
        CommandRepair,
        ConfigError,
        InProcessRepair,
        RepairSettingsSource,
        split_repair_command,
    )

    steps: list[RepairStep] = []
    for part in split_repair_command(options.repair_command):
        if part.repair_args is None:
            steps.append(CommandRepair(part.text))
            continue
        try:
            namespace = _repair_namespace(part.repair_args, args)
        except ValueError as e:
            where = " + ".join(options.sources.get("repair-wheel-command", ()))
            raise ConfigError(f"{where or 'repair-wheel-command'}: {part.text!r}: {e}") from e
        if namespace is None:
            steps.append(CommandRepair(part.text))
            continue
        command_policies = policies
        if namespace.policy_file != args.policy_file:
            command_policies = policies_from(namespace)
        make = partial(_repair_settings, namespace, ctx, command_policies)
        steps.append(InProcessRepair(RepairSettingsSource(make), plat=namespace.plat))
    return tuple(steps)


def repairs_of(
    options: Mapping[BuildIdentifier, BuildOptions],
    args: argparse.Namespace,
    ctx: Context,
    policies: PolicySet,
) -> dict[BuildIdentifier, tuple[RepairStep, ...]]:
    """Each identifier's repair steps (the same command shares its steps and settings)."""
    made: dict[str, tuple[RepairStep, ...]] = {}
    repairs = {}
    for identifier, opts in options.items():
        if opts.repair_command not in made:
            made[opts.repair_command] = _repair_steps(opts, args, ctx, policies)
        repairs[identifier] = made[opts.repair_command]
    return repairs
