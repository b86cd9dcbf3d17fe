"""The resolver against the real glibc loader on programs built for each search rule."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from manywheel.linker import (
    DependencyTree,
    Resolver,
    RootFileSystem,
    Rule,
    SearchSettings,
)

from .oracle import emulated, emulated_failures, run_loader

PROGRAMS = [
    "deep_exe",
    "hwcaps_exe",
    "lib_token_exe",
    "llp_rpath_exe",
    "llp_runpath_exe",
    "missing_exe",
    "nodeflib_exe",
    "nosoname_exe",
    "origin_exe",
    "path_needed_exe",
    "platform_exe",
    "rpath_exe",
    "rpath_runpath_lib_exe",
    "runpath_exe",
    "soname_reuse_exe",
    "version_exe",
    "wrong_class_exe",
]
LD_LIBRARY_PATHS = ["", "l1", "l1:a"]


def _resolve(path: Path, settings: SearchSettings) -> DependencyTree:
    return Resolver(RootFileSystem("/"), settings).resolve(str(path))


@pytest.mark.parametrize("llp", LD_LIBRARY_PATHS, ids=lambda p: f"LD_LIBRARY_PATH={p or '-'}")
@pytest.mark.parametrize("program", PROGRAMS)
def test_same_choices_as_the_loader(
    built: Path, host_settings: SearchSettings, program: str, llp: str
) -> None:
    dirs = tuple(str(built / d) for d in llp.split(":")) if llp else ()
    environ = {"LD_LIBRARY_PATH": ":".join(dirs)} if dirs else {}
    path = built / "bin" / program
    report = run_loader(str(path), environ=environ)
    tree = _resolve(path, dataclasses.replace(host_settings, ld_library_path=dirs))
    assert emulated(tree) == report.chosen
    assert emulated_failures(tree) == report.version_failures
    found_by = {obj.found_by.name: obj.found_by for obj in tree.objects if obj.found_by}
    for name, source in report.sources.items():
        if report.chosen.get(name) is None:
            continue
        ours = found_by[name]
        if ours.rule is Rule.LD_LIBRARY_PATH and ours.directory in dirs:
            # glibc labels a directory with the list that first named it: an LD_LIBRARY_PATH
            # directory also in the program's RPATH is printed as "RPATH from file".
            continue
        assert (ours.rule, ours.entry_owner) == source, name
