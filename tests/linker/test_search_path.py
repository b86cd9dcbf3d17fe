"""Search-path variables split one way, glibc's (``fillin_rpath`` with ``:;``): the rules, and
glibc's own loader as the judge of what each spelling of ``LD_LIBRARY_PATH`` finds."""

from __future__ import annotations

from pathlib import Path

import pytest

from manywheel.linker import Resolver, RootFileSystem, Rule, SearchSettings, parse_search_path

from .oracle import run_loader


@pytest.mark.parametrize(
    ("value", "entries"),
    [
        (None, ()),
        ("", ()),
        ("/a", ("/a",)),
        ("/a:/b;/c", ("/a", "/b", "/c")),
        ("/a::/b", ("/a", "", "/b")),
        (":/a", ("", "/a")),
        ("/a:", ("/a", "")),
        (":", ("",)),
        (";;", ("",)),
        ("/a//:/b/", ("/a", "/b")),
        ("/:///", ("/",)),
        ("/a:/b:/a/", ("/a", "/b")),
        ("lib:./lib", ("lib", "./lib")),
        ("$ORIGIN/../lib;$LIB", ("$ORIGIN/../lib", "$LIB")),
    ],
    ids=[
        "unset",
        "empty",
        "one",
        "both-separators",
        "empty-entry",
        "leading-empty",
        "trailing-empty",
        "only-separator",
        "empty-entries-once",
        "trailing-slashes",
        "root-stays",
        "twice-searched-once",
        "relative",
        "tokens-kept",
    ],
)
def test_the_rules(value: str | None, entries: tuple[str, ...]) -> None:
    assert parse_search_path(value) == entries


@pytest.mark.parametrize(
    ("value", "cwd", "found_in"),
    [
        ("/nonexistent;{built}/l1", "/", "l1"),
        ("{built}/l1//", "/", "l1"),
        ("/nonexistent::", "{built}/l1", "l1"),
        (";", "{built}/l1", "l1"),
        ("l1", "{built}", "l1"),
        ("/nonexistent", "{built}/l1", "r1"),
        ("", "{built}/l1", "r1"),
    ],
    ids=["semicolon", "slashes", "empty-entry", "separators-only", "relative", "none", "empty"],
)
def test_what_glibc_finds_with_each_spelling(
    built: Path, value: str, cwd: str, found_in: str
) -> None:
    """``llp_runpath_exe`` needs libp.so: one in ``l1`` (reachable only through
    LD_LIBRARY_PATH, searched before RUNPATH), another in its RUNPATH ``r1``."""
    value, cwd = value.format(built=built), cwd.format(built=built)
    program = str(built / "bin" / "llp_runpath_exe")
    report = run_loader(program, environ={"LD_LIBRARY_PATH": value}, cwd=cwd)
    chosen = report.chosen["libp.so"]
    assert chosen is not None
    settings = SearchSettings(ld_library_path=parse_search_path(value), cwd=cwd)
    tree = Resolver(RootFileSystem("/"), settings).resolve(program)
    (libp,) = (r for r in tree.root.needed if r.name == "libp.so")
    assert libp.path is not None
    found = Path(libp.path).resolve()
    assert found == (Path(cwd) / chosen).resolve() == built / found_in / "libp.so"
    expected = Rule.LD_LIBRARY_PATH if found_in == "l1" else Rule.RUNPATH
    assert libp.rule is expected


def test_without_a_current_directory_relative_entries_are_dropped(built: Path) -> None:
    """Under ``--root`` there is no current directory to speak of: ``""`` and ``l1`` lead
    nowhere, and the RUNPATH's copy is found."""
    settings = SearchSettings(ld_library_path=parse_search_path("::l1"))
    tree = Resolver(RootFileSystem("/"), settings).resolve(str(built / "bin" / "llp_runpath_exe"))
    (libp,) = (r for r in tree.root.needed if r.name == "libp.so")
    assert libp.path == f"{built}/r1/libp.so"
