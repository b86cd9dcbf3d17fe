"""Each search rule, on the fixture programs: what was chosen and the explanation recorded."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from manywheel.elf import ElfFile
from manywheel.linker import (
    DependencyTree,
    RejectionReason,
    Resolution,
    Resolver,
    ResolverCache,
    RootFileSystem,
    Rule,
    SearchSettings,
)

from .oracle import run_loader


def _tree(built: Path, program: str, settings: SearchSettings | None = None) -> DependencyTree:
    return Resolver(RootFileSystem("/"), settings).resolve(str(built / "bin" / program))


def _needed(tree: DependencyTree, name: str) -> Resolution:
    for obj in tree.objects:
        for resolution in obj.needed:
            if resolution.name == name:
                return resolution
    raise AssertionError(f"{name} is needed by nothing")


def test_rpath_is_inherited_by_what_the_program_loads(built: Path) -> None:
    liby = _needed(_tree(built, "rpath_exe"), "liby.so")
    assert (liby.rule, liby.path) == (Rule.RPATH, f"{built}/a/liby.so")
    assert liby.requester == f"{built}/x/libx.so"
    assert liby.entry_owner == f"{built}/bin/rpath_exe"
    assert liby.loader_chain == (f"{built}/x/libx.so", f"{built}/bin/rpath_exe")


@pytest.mark.parametrize("program", ["runpath_exe", "rpath_runpath_lib_exe"])
def test_runpath_is_not_inherited(built: Path, program: str) -> None:
    tree = _tree(built, program)
    assert [r.name for r in tree.not_found] == ["liby.so"]
    assert not tree.ok


def test_origin_expands_to_the_programs_directory(built: Path) -> None:
    libo = _needed(_tree(built, "origin_exe"), "libo.so")
    assert (libo.rule, libo.entry) == (Rule.RUNPATH, "$ORIGIN/../lib")
    assert libo.directory == f"{built}/bin/../lib"
    assert libo.path == f"{built}/bin/../lib/libo.so"


@pytest.mark.parametrize(
    ("program", "name", "token", "directory"),
    [
        ("platform_exe", "libplat.so", "$PLATFORM", "plat/x86_64"),
        ("lib_token_exe", "libdst.so", "$LIB", "libdir/lib/x86_64-linux-gnu"),
    ],
    ids=["platform", "lib"],
)
def test_lib_and_platform_tokens(
    built: Path, program: str, name: str, token: str, directory: str
) -> None:
    found = _needed(_tree(built, program), name)
    assert found.entry is not None and token in found.entry
    assert found.directory == f"{built}/{directory}"


def test_ld_library_path_comes_after_rpath_and_before_runpath(built: Path) -> None:
    llp = SearchSettings(ld_library_path=(f"{built}/l1",))
    assert _needed(_tree(built, "llp_rpath_exe", llp), "libp.so").path == f"{built}/r1/libp.so"
    via_llp = _needed(_tree(built, "llp_runpath_exe", llp), "libp.so")
    assert (via_llp.rule, via_llp.path) == (Rule.LD_LIBRARY_PATH, f"{built}/l1/libp.so")


def test_a_wrong_class_candidate_is_skipped_and_explained(built: Path) -> None:
    libw = _needed(_tree(built, "wrong_class_exe"), "libw.so")
    assert libw.path == f"{built}/w64/libw.so"
    [rejected] = libw.rejected
    assert rejected.path == f"{built}/w32/libw.so"
    assert rejected.reason is RejectionReason.WRONG_CLASS
    assert rejected.detail == "wrong ELF class: ELFCLASS32"  # glibc's words


def test_version_failure_in_the_loaders_words(built: Path) -> None:
    tree = _tree(built, "version_exe")
    [failure] = tree.version_failures
    program = f"{built}/bin/version_exe"
    expected = f"{built}/v1/libv.so: version `VERS_2' not found (required by {program})"
    assert failure.message == expected
    assert (failure.requester, failure.version, failure.weak) == (program, "VERS_2", False)
    assert not tree.ok


def test_nodeflib_skips_the_cache_and_default_directories(built: Path) -> None:
    libm = _needed(_tree(built, "nodeflib_exe"), "libm.so.6")
    assert libm.path is None
    assert libm.requester == f"{built}/nd/libnd.so"


def test_two_names_of_one_file_load_it_once(built: Path) -> None:
    tree = _tree(built, "nosoname_exe")
    libr = _needed(tree, "libr.so")
    assert (libr.rule, libr.path) == (Rule.ALREADY_LOADED, f"{built}/q/libr.so.1")
    assert sum(o.realpath == f"{built}/q/libr.so.1" for o in tree.objects) == 1


def test_a_needed_path_is_opened_as_it_is(built: Path) -> None:
    found = _needed(_tree(built, "path_needed_exe"), f"{built}/q/libr.so.1")
    assert (found.rule, found.path) == (Rule.PATH, f"{built}/q/libr.so.1")
    assert found.loader_chain == (f"{built}/bin/path_needed_exe",)


def test_glibc_hwcaps_subdirectories_are_preferred_when_active(built: Path) -> None:
    baseline = _needed(_tree(built, "hwcaps_exe"), "libhw.so")
    assert baseline.path == f"{built}/hw/libhw.so"
    v2 = _needed(_tree(built, "hwcaps_exe", SearchSettings(hwcaps=("x86-64-v2",))), "libhw.so")
    assert v2.path == f"{built}/hw/glibc-hwcaps/x86-64-v2/libhw.so"


def test_the_interpreter_and_libc_come_from_their_own_rules(built: Path) -> None:
    tree = _tree(built, "rpath_exe")
    assert tree.interpreter is not None
    assert tree.interpreter.path == "/lib64/ld-linux-x86-64.so.2"
    libc = _needed(tree, "libc.so.6")
    assert (libc.rule, libc.entry) == (Rule.LD_SO_CACHE, "/etc/ld.so.cache")
    ld_so = _needed(tree, "ld-linux-x86-64.so.2")
    assert (ld_so.rule, ld_so.path) == (Rule.INTERPRETER, "/lib64/ld-linux-x86-64.so.2")


def test_auditwheel_extra_ldpaths_are_added(built: Path) -> None:
    extra = SearchSettings(extra_ldpaths=(f"{built}/a",))
    liby = _needed(_tree(built, "runpath_exe", extra), "liby.so")
    assert (liby.rule, liby.path) == (Rule.EXTRA_LDPATHS, f"{built}/a/liby.so")


def test_auditwheel_ldpaths_replace_the_system_directories(built: Path) -> None:
    only = SearchSettings(system_ldpaths=(f"{built}/a",))
    tree = _tree(built, "runpath_exe", only)
    assert _needed(tree, "liby.so").rule is Rule.EXTRA_LDPATHS
    assert _needed(tree, "libc.so.6").path is None


class CountingFileSystem(RootFileSystem):
    """The real file system, counting the ELF files parsed."""

    __slots__ = ("parsed",)

    def __init__(self) -> None:
        super().__init__("/")
        self.parsed: list[str] = []

    def load_elf(self, resolved: str) -> ElfFile:
        self.parsed.append(resolved)
        return super().load_elf(resolved)


def test_one_cache_parses_each_file_once_and_searches_each_context_once(built: Path) -> None:
    fs = CountingFileSystem()
    cache = ResolverCache(fs)
    resolver = Resolver(fs, SearchSettings(), cache)
    programs = sorted((built / "bin").iterdir())
    first = [resolver.resolve(str(p)) for p in programs]
    assert len(fs.parsed) == len(set(fs.parsed))
    # libc.so.6's ld.so.cache lookup, at least, is done once for all the dynamic programs.
    assert cache.hits >= len([t for t in first if t.interpreter is not None]) - 1
    parsed = len(fs.parsed)
    again = [resolver.resolve(str(p)) for p in programs]
    assert len(fs.parsed) == parsed
    assert again == first


def test_a_fresh_resolver_agrees_with_a_cached_one(built: Path) -> None:
    cache = ResolverCache(RootFileSystem("/"))
    for program in sorted((built / "bin").iterdir()):
        shared = Resolver(cache=cache).resolve(str(program))
        fresh = Resolver(RootFileSystem("/")).resolve(str(program))
        assert shared == fresh


def test_version_failures_match_the_loader_with_the_library_fixed(built: Path) -> None:
    llp = (f"{built}/v2",)
    report = run_loader(f"{built}/bin/version_exe", environ={"LD_LIBRARY_PATH": llp[0]})
    tree = _tree(built, "version_exe", dataclasses.replace(SearchSettings(), ld_library_path=llp))
    assert report.version_failures == frozenset() == frozenset(tree.version_failures)
    assert tree.ok


def test_glibc_answers_a_name_with_a_loaded_objects_soname(built: Path) -> None:
    tree = _tree(built, "soname_reuse_exe")
    common = _needed(tree, "libcommon.so.1")
    assert (common.rule, common.path) == (Rule.ALREADY_LOADED, f"{built}/sr/one/libfirst.so")
    assert all(o.realpath != f"{built}/sr/two/libcommon.so.1" for o in tree.objects)


def test_a_static_program_loads_nothing(built: Path) -> None:
    static = built / "bin" / "static_exe"
    if not static.exists():
        pytest.skip("no static libc to build it with")
    tree = _tree(built, "static_exe")
    assert (tree.objects, tree.interpreter) == ((tree.root,), None)
    assert tree.ok


@pytest.mark.parametrize(
    ("program", "bad", "reason"),
    [
        ("bad_text_exe", "bad/text/liby.so", RejectionReason.NOT_ELF),
        ("bad_pie_exe", "bad/pie/liby.so", RejectionReason.NOT_SHARED),
    ],
    ids=["text", "pie"],
)
def test_a_file_glibc_cannot_load_ends_the_search(
    built: Path, program: str, bad: str, reason: RejectionReason
) -> None:
    """Not skipped like a wrong class: the loader fails, although a good copy comes later."""
    report = run_loader(f"{built}/bin/{program}")
    assert report.error is not None
    liby = _needed(_tree(built, program), "liby.so")
    assert liby.path is None
    [rejected] = liby.rejected
    assert (rejected.path, rejected.reason, rejected.fatal) == (f"{built}/{bad}", reason, True)
    assert liby.error is not None and liby.error.startswith(f"{built}/{bad}: ")
    if reason is RejectionReason.NOT_SHARED:  # the same words as the loader
        assert report.error.endswith(rejected.detail)
    else:
        assert report.error.startswith(f"{built}/{bad}: ")


def test_origin_in_ld_library_path_is_the_programs_directory(built: Path) -> None:
    program = f"{built}/bin/llp_runpath_exe"
    report = run_loader(program, environ={"LD_LIBRARY_PATH": "$ORIGIN/../l1"})
    tree = _tree(built, "llp_runpath_exe", SearchSettings(ld_library_path=("$ORIGIN/../l1",)))
    libp = _needed(tree, "libp.so")
    assert (libp.rule, libp.path) == (Rule.LD_LIBRARY_PATH, f"{built}/bin/../l1/libp.so")
    assert report.chosen["libp.so"] == libp.path
