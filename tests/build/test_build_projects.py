"""zig builds C++ and other build systems too: a pybind11 project (setuptools, C++17), a
meson-python project (C, zlib through meson's dependency()) and a scikit-build-core project
(CMake, C++). Each wheel is manylinux_2_17, has no libstdc++ or libgcc_s to need (zig links
its own C++ runtime statically), and imports and runs on the host from a bare directory."""

from __future__ import annotations

from pathlib import Path

import pytest

from manywheel.elf import read_elf
from tests.build.conftest import EXAMPLES, import_unzipped, run_build, tree_digest
from tests.harness.availability import Unavailable, skip_or_fail
from tests.harness.sdists import find_python

pytestmark = [pytest.mark.slow, pytest.mark.network]

CASES = {
    "pybind11-cpp": (
        "import pbdemo; "
        "assert pbdemo.word_counts(['a', 'b', 'a']) == {'a': 2, 'b': 1}; "
        "exec('try:\\n pbdemo.checked_div(1, 0)\\nexcept ValueError as e:\\n print(e)')"
    ),
    "meson-c": "import mesondemo, zlib; assert mesondemo.crc32(b'abc') == zlib.crc32(b'abc')",
    "cmake-cpp": (
        "import cmakedemo; assert cmakedemo.sort_words(['b', 'a']) == 'a b'; "
        "exec('try:\\n cmakedemo.sort_words([])\\nexcept ValueError as e:\\n print(e)')"
    ),
}


@pytest.mark.parametrize("example", sorted(CASES))
def test_example_builds_with_zig_and_runs(example: str, tmp_path: Path) -> None:
    try:
        python = find_python("3.11")
    except Unavailable as e:
        skip_or_fail(str(e))
    project = EXAMPLES / example
    before = tree_digest(project)
    call = run_build(
        [str(project), "-w", str(tmp_path / "wh"), "--build", "cp311-manylinux_x86_64", "--json"],
        log_dir=tmp_path / "logs",
    )
    assert call.code == 0, call.stderr
    build = call.builds()["cp311-manylinux_x86_64"]
    assert "manylinux_2_17_x86_64" in build["platform_tags"]
    site = tmp_path / "site"
    result = import_unzipped(Path(build["path"]), site, python.executable, CASES[example])
    assert result.returncode == 0, result.stderr
    for extension in site.rglob("*.so"):
        needed = read_elf(extension).needed
        assert not {n for n in needed if n.startswith(("libstdc++", "libgcc_s"))}, needed
    if "checked_div" in CASES[example] or "sort_words([])" in CASES[example]:
        assert result.stdout.strip() in {"division by zero", "no words"}
    assert tree_digest(project) == before
