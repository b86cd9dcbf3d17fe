"""``manywheel build [PROJECT_DIR | SDIST] -w WHEELHOUSE``: for every selected build identifier
(cibuildwheel's identifiers and selectors), build, repair, test on a clean system and check a
wheel on this machine, then put exactly the wheels that passed in the wheelhouse and, with
``--upload``, publish them (all or nothing).

The flags are the configuration's highest source (cli/build_arguments.py): ``[tool.manywheel]``,
``[tool.cibuildwheel]``, ``CIBW_*`` and ``MANYWHEEL_*`` are read as
``manywheel.build.load_config`` documents, and a flag replaces the same key there."""

from __future__ import annotations

import argparse
import json
import os
import tempfile
from contextlib import ExitStack
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from manywheel.cli.audit_arguments import audit_options, policies_from
from manywheel.cli.build_arguments import add_build_parser, cli_options
from manywheel.cli.build_environments import (
    build_environment,
    cache_directory,
    find_interpreters,
    host_pythons,
    machine_architecture,
    package_index,
    pip_command,
    root_store,
)
from manywheel.cli.build_repairs import repairs_of
from manywheel.cli.context import Context, Subparsers
from manywheel.cli.exit_codes import ExitCode
from manywheel.cli.upload_command import repository_from

if TYPE_CHECKING:
    from manywheel.build import (
        BuildRun,
        BuildSettings,
        Interpreter,
        ProjectConfig,
        ProjectSource,
        Selection,
        StagePlan,
        TestStage,
        UploadSettings,
    )
    from manywheel.policy import PolicySet

__all__ = ["register"]


def register(subparsers: Subparsers, parent: argparse.ArgumentParser) -> None:
    add_build_parser(subparsers, parent).set_defaults(handler=_handle)


def _exit_code(run: BuildRun) -> ExitCode:
    """0 when every identifier was built, tested and checked (and uploaded, with --upload); 1
    otherwise (the others' wheels are written); 4 when the index refused or was unreachable."""
    if run.upload_error is not None:
        return ExitCode.TOOL
    return ExitCode.OK if run.ok else ExitCode.FINDINGS


def _tests(
    args: argparse.Namespace,
    ctx: Context,
    source: ProjectSource,
    interpreters: list[Interpreter],
    jobs: int,
) -> TestStage:
    from manywheel.build import CleanSystems, TestStage

    host_arch = machine_architecture()
    systems = CleanSystems(
        root_store(ctx, host_arch),
        host_pythons=host_pythons(interpreters, host_arch),
        build_interpreters=args.make_interpreters,
        jobs=jobs,
    )
    index = package_index(pip_command(interpreters), ctx)
    return TestStage(systems, source.tree, index=index, timeout=args.timeout)


def _plan(
    args: argparse.Namespace,
    ctx: Context,
    *,
    config: ProjectConfig,
    policies: PolicySet,
    selection: Selection,
    source: ProjectSource,
    interpreters: list[Interpreter],
) -> StagePlan:
    from manywheel.build import CheckSettings, StagePlan, identifier_options

    options = identifier_options(config, selection.build)
    tested = any(o.run_tests for o in options.values())
    return StagePlan(
        options=options,
        repairs=repairs_of(options, args, ctx, policies),
        check=CheckSettings(
            policies, partial(audit_options, args, ctx.environ), strict=args.strict
        ),
        tests=_tests(args, ctx, source, interpreters, _jobs(args)) if tested else None,
    )


def _jobs(args: argparse.Namespace) -> int:
    return args.jobs or max(1, len(os.sched_getaffinity(0)))


def _settings(
    args: argparse.Namespace, ctx: Context, config: ProjectConfig, pip: list[str]
) -> BuildSettings:
    from manywheel.build import BuildSettings, frontend_name, uv_index_environment

    env: dict[str, str] = {}
    if frontend_name(config.options_for(None)) == "build[uv]":
        index = package_index(pip, ctx)
        env = uv_index_environment(index.index_url, index.extra_index_urls, index.find_links)
    return BuildSettings(
        jobs=_jobs(args),
        timeout=args.timeout,
        frontend_env=env,
        host_environ=dict(ctx.environ),
    )


def _upload_settings(args: argparse.Namespace, ctx: Context) -> UploadSettings:
    """Where to upload, resolved (and a password asked for) before anything is built."""
    from manywheel import __version__
    from manywheel.build import UploadSettings

    return UploadSettings(
        repository_from(args, ctx),
        skip_failed=args.skip_failed,
        skip_existing=args.skip_existing,
        index_url=args.index_url,
        user_agent=f"manywheel/{__version__}",
        timeout=args.upload_timeout,
    )


def _listed(
    args: argparse.Namespace, ctx: Context, selection: Selection, allow_empty: bool
) -> bool:
    """Say what was left out (with -v) and, for --print-build-identifiers, what would be
    built; True when that was all there was to do."""
    from manywheel.errors import ManywheelError

    if ctx.verbosity >= 1:
        for identifier, why in selection.left_out:
            print(f"manywheel: left out {identifier}: {why}", file=ctx.stderr)
    if args.print_build_identifiers:
        for identifier in sorted([*selection.build, *(i for i, _ in selection.unavailable)]):
            print(identifier, file=ctx.stdout)
        return True
    if not selection.build and not selection.unavailable:
        hint = f" ({len(selection.left_out)} matched but cannot be built here; -v says why)"
        message = "no build identifier selected" + (hint if selection.left_out else "")
        if allow_empty:
            print(f"manywheel: {message} (allowed: allow-empty)", file=ctx.stderr)
            return True
        raise ManywheelError(message)
    return False


def _render(args: argparse.Namespace, ctx: Context, run: BuildRun) -> int:
    from manywheel import __version__
    from manywheel.build import build_document
    from manywheel.cli.build_output import summary_table

    code = _exit_code(run)
    if args.json:
        document = build_document(run, tool_version=__version__, exit_code=int(code))
        print(json.dumps(document, indent=2), file=ctx.stdout)
    else:
        print(summary_table(run), file=ctx.stdout)
    if run.upload is not None:
        from manywheel.cli.upload_command import upload_summary

        upload_summary(run.upload, ctx, skip_failed=args.skip_failed)
    if run.upload_error is not None:
        print(f"manywheel: error: {run.upload_error}", file=ctx.stderr)
    return code


def _handle(args: argparse.Namespace, ctx: Context) -> int:
    from manywheel.build import (
        build_wheels,
        check_wheelhouse,
        load_config,
        open_source,
        select_configured,
        target_policies,
    )
    from manywheel.cli.build_output import BuildProgress
    from manywheel.cli.upload_command import upload_line
    from manywheel.errors import ManywheelError

    if args.jobs is not None and args.jobs < 1:
        raise ManywheelError("--jobs must be at least 1")
    policies = policies_from(args)
    host_arch = machine_architecture()
    with tempfile.TemporaryDirectory(prefix="manywheel-sdist-") as unpack, ExitStack() as stack:
        source = open_source(args.project, Path(unpack))
        config = load_config(
            source.tree, environ=ctx.environ, config_file=args.config_file, cli=cli_options(args)
        )
        candidates = select_configured(config, host_arch=host_arch, unavailable=lambda i: None)
        targets = target_policies(
            config, policies, [*candidates.build, *(i for i, _ in candidates.unavailable)]
        )
        interpreters = find_interpreters(args, ctx)
        environment = build_environment(args, ctx, config, targets, interpreters)
        stack.callback(environment.close)
        selection = select_configured(
            config, host_arch=host_arch, unavailable=environment.unavailable
        )
        if _listed(args, ctx, selection, config.globals.allow_empty):
            return ExitCode.OK
        if args.only is not None and not selection.build and not args.json:
            identifier, why = selection.unavailable[0]
            print(f"manywheel: error: cannot build {identifier} here: {why}", file=ctx.stderr)
            return ExitCode.FINDINGS  # as an unavailable identifier is in any run
        wheelhouse = check_wheelhouse(args.wheel_dir or Path(config.globals.output_dir))
        upload = _upload_settings(args, ctx) if args.upload else None
        plan = _plan(
            args,
            ctx,
            config=config,
            policies=policies,
            selection=selection,
            source=source,
            interpreters=interpreters,
        )
        live = ctx.stderr.isatty() and ctx.environ.get("TERM") != "dumb"
        with BuildProgress(ctx, total=len(selection.build), live=live) as progress:
            run = build_wheels(
                selection,
                environment=environment,
                source=source,
                wheelhouse=wheelhouse,
                targets=targets,
                settings=_settings(args, ctx, config, pip_command(interpreters)),
                plan=plan,
                cache=cache_directory(ctx),
                pip=pip_command(interpreters),
                environ=ctx.environ,
                log_parent=args.log_dir or cache_directory(ctx).root / "build-logs",
                progress=progress,
                host_arch=host_arch,
                upload=upload,
                on_upload=lambda result: upload_line(result, ctx, stream=ctx.stderr),
            )
    return _render(args, ctx, run)
