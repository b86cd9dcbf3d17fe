"""ld.so.cache, read directly, against what ldconfig itself prints."""

from __future__ import annotations

import contextlib
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from manywheel.errors import InputError
from manywheel.linker import parse_ld_cache

HOST_CACHE = Path("/etc/ld.so.cache")
# "\tlibz.so.1 (libc6,x86-64) => /lib/x86_64-linux-gnu/libz.so.1"
_LINE = re.compile(r"^\t(\S+) \(([^)]*)\) => (\S+)$")
X86_64_FLAGS = 0x0303


def _ldconfig() -> str:
    found = shutil.which("ldconfig") or shutil.which("ldconfig", path="/sbin:/usr/sbin")
    if found is None:
        pytest.skip("needs ldconfig")
    return found


def _printed(ldconfig: str, *args: str) -> list[tuple[str, str]]:
    out = subprocess.run([ldconfig, "-p", *args], capture_output=True, text=True, check=True)
    return [
        (m.group(1), m.group(3)) for line in out.stdout.splitlines() if (m := _LINE.match(line))
    ]


def test_host_cache_lists_what_ldconfig_prints() -> None:
    ldconfig = _ldconfig()
    if not HOST_CACHE.exists():
        pytest.skip("this machine has no ld.so.cache")
    cache = parse_ld_cache(HOST_CACHE.read_bytes(), where=str(HOST_CACHE))
    assert [(e.name, e.path) for e in cache.entries] == _printed(ldconfig)
    assert len(cache.entries) > 10


@pytest.fixture(scope="module")
def hwcaps_root(tmp_path_factory: pytest.TempPathFactory, built: Path) -> Path:
    """A root with one library in /lib and a copy in /lib/glibc-hwcaps/x86-64-v3."""
    root = tmp_path_factory.mktemp("cacheroot")
    (root / "lib/glibc-hwcaps/x86-64-v3").mkdir(parents=True)
    (root / "etc").mkdir()
    shutil.copy(built / "a/liby.so", root / "lib/liby.so")
    shutil.copy(built / "a/liby.so", root / "lib/glibc-hwcaps/x86-64-v3/liby.so")
    (root / "etc/ld.so.conf").write_text("/lib\n")
    return root


@pytest.mark.parametrize("fmt", ["old", "compat", "new"])
def test_each_format_ldconfig_writes(hwcaps_root: Path, fmt: str) -> None:
    ldconfig = _ldconfig()
    target = f"/etc/ld.so.cache.{fmt}"
    subprocess.run(
        [ldconfig, "-r", str(hwcaps_root), "-c", fmt, "-C", target, "-X"],
        check=True,
        capture_output=True,
    )
    cache = parse_ld_cache((hwcaps_root / target.lstrip("/")).read_bytes())
    assert cache.format == fmt
    assert {(e.name, e.path) for e in cache.entries} == {
        ("liby.so", "/lib/liby.so"),
        ("liby.so", "/lib/glibc-hwcaps/x86-64-v3/liby.so"),
    }
    hwcaps_known = fmt != "old"  # the old format cannot say which entry is a hwcaps one
    best = cache.lookup("liby.so", X86_64_FLAGS, ("x86-64-v4", "x86-64-v3"))
    baseline = cache.lookup("liby.so", X86_64_FLAGS, ())
    assert best is not None and baseline is not None
    assert best.path == "/lib/glibc-hwcaps/x86-64-v3/liby.so"
    if hwcaps_known:
        assert best.hwcaps == "x86-64-v3"
        assert baseline.path == "/lib/liby.so"
    assert cache.lookup("liby.so", 0x0003, ()) is None  # an i386 loader would not take it
    assert cache.lookup("libnothere.so", X86_64_FLAGS) is None


@pytest.mark.parametrize(
    "data",
    [b"", b"garbage", b"ld.so-1.7.0", b"glibc-ld.so.cache1.1\x02", b"ld.so-1.7.0\0\xff\xff\0\0"],
    ids=["empty", "garbage", "old-truncated", "new-truncated", "old-huge-count"],
)
def test_broken_caches_raise_input_error(data: bytes) -> None:
    with pytest.raises(InputError):
        parse_ld_cache(data)


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_mutated_cache_raises_only_input_error(data: st.DataObject) -> None:
    if not HOST_CACHE.exists():
        return
    original = bytearray(HOST_CACHE.read_bytes()[:4096])
    for _ in range(data.draw(st.integers(1, 8))):
        at = data.draw(st.integers(0, len(original) - 1))
        original[at] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(original)))
    with contextlib.suppress(InputError):
        parse_ld_cache(bytes(original[:cut]))
