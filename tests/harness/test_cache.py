"""The cache's lock really excludes another process, and staging never leaves debris."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.harness.cache import HarnessCache, exclusive_lock, staging_dir

_TRY_LOCK = """
import fcntl, sys
with open(sys.argv[1], "a") as handle:
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        sys.exit(3)
"""


def _other_process_can_lock(path: Path) -> bool:
    result = subprocess.run([sys.executable, "-c", _TRY_LOCK, str(path)], check=False)
    assert result.returncode in {0, 3}
    return result.returncode == 0


def test_exclusive_lock_excludes_another_process(tmp_path: Path) -> None:
    cache = HarnessCache(tmp_path)
    lock_file = cache.locks / "root-bookworm.lock"
    with exclusive_lock(cache, "root-bookworm"):
        assert not _other_process_can_lock(lock_file)
    assert _other_process_can_lock(lock_file)


def test_default_cache_follows_xdg(tmp_path: Path) -> None:
    assert HarnessCache.default({"XDG_CACHE_HOME": str(tmp_path)}).root == tmp_path / "manywheel"
    assert HarnessCache.default({}).root == Path.home() / ".cache" / "manywheel"


def test_staging_dir_is_removed_even_on_error(tmp_path: Path) -> None:
    seen: list[Path] = []

    def half_build() -> None:
        with staging_dir(tmp_path, "build") as staging:
            seen.append(staging)
            (staging / "half-written").write_text("x")
            raise RuntimeError("build failed")

    with pytest.raises(RuntimeError, match="build failed"):
        half_build()
    assert seen[0].parent == tmp_path
    assert list(tmp_path.iterdir()) == []


def test_staging_dir_removes_leftovers_of_killed_builds(tmp_path: Path) -> None:
    (tmp_path / ".build-bookworm-killed").mkdir()
    (tmp_path / ".build-bullseye-running").mkdir()
    with staging_dir(tmp_path, "build-bookworm") as staging:
        assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
            [staging.name, ".build-bullseye-running"]
        )


def test_compatible_platforms_spell_out_older_tags() -> None:
    from tests.harness.downloads import compatible_platforms

    assert compatible_platforms("manylinux_2_17_aarch64") == [
        "manylinux_2_17_aarch64", "manylinux2014_aarch64", "manylinux_2_16_aarch64",
        "manylinux_2_15_aarch64", "manylinux_2_14_aarch64", "manylinux_2_13_aarch64",
        "manylinux_2_12_aarch64", "manylinux2010_aarch64", "manylinux_2_11_aarch64",
        "manylinux_2_10_aarch64", "manylinux_2_9_aarch64", "manylinux_2_8_aarch64",
        "manylinux_2_7_aarch64", "manylinux_2_6_aarch64", "manylinux_2_5_aarch64",
        "manylinux1_aarch64",
    ]  # fmt: skip
    assert compatible_platforms("musllinux_1_2_x86_64") == [
        "musllinux_1_2_x86_64",
        "musllinux_1_1_x86_64",
    ]
    assert compatible_platforms("any") == ["any"]


def test_staging_dir_spares_a_longer_prefixs_builds(tmp_path: Path) -> None:
    """ ".build-bookworm-arm64-..." is another root's build (under another lock)."""
    (tmp_path / ".build-bookworm-arm64-running").mkdir()
    (tmp_path / ".build-bookworm-with-1a2b3c4d-running").mkdir()
    (tmp_path / ".build-bookworm-killed1").mkdir()
    with staging_dir(tmp_path, "build-bookworm") as staging:
        assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
            [staging.name, ".build-bookworm-arm64-running", ".build-bookworm-with-1a2b3c4d-running"]
        )
