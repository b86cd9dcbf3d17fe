"""ld.so.conf (with include globs), musl's path file, and the file system below a root."""

from __future__ import annotations

import io
import logging
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from manywheel.cli import main
from manywheel.errors import InputError
from manywheel.linker import (
    MAX_CONF_BYTES,
    MAX_SYSTEM_FILE_BYTES,
    RootFileSystem,
    expand_tokens,
    read_ld_so_conf,
    read_musl_path,
)


def _write(root: Path, path: str, text: str) -> None:
    target = root / path.lstrip("/")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text)


def test_ld_so_conf_includes_globs_in_order(tmp_path: Path) -> None:
    _write(tmp_path, "/etc/ld.so.conf", "# comment\ninclude /etc/ld.so.conf.d/*.conf\n/opt/last\n")
    _write(tmp_path, "/etc/ld.so.conf.d/b.conf", "/usr/lib/b  # trailing comment\n/usr/lib/a\n")
    _write(tmp_path, "/etc/ld.so.conf.d/a.conf", "/usr/local/lib\n\n/usr/lib/a/\n")
    _write(tmp_path, "/etc/ld.so.conf.d/ignored.txt", "/never\n")
    _write(tmp_path, "/etc/ld.so.conf.d/c.conf", "include sub/*.conf\nhwcap 1 x\n")
    _write(tmp_path, "/etc/ld.so.conf.d/sub/d.conf", "/from/relative/include\n")
    found = read_ld_so_conf(RootFileSystem(tmp_path))
    assert found == (
        "/usr/local/lib",
        "/usr/lib/a",
        "/usr/lib/b",
        "/from/relative/include",
        "/opt/last",
    )


def test_ld_so_conf_include_loops_end(tmp_path: Path) -> None:
    _write(tmp_path, "/etc/ld.so.conf", "/one\ninclude /etc/ld.so.conf\n")
    assert read_ld_so_conf(RootFileSystem(tmp_path)) == ("/one",)


class _CountingReads(RootFileSystem):
    """The root's files, counting what is read."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.reads: list[str] = []

    def read_bytes(self, path: str, *, limit: int = MAX_SYSTEM_FILE_BYTES) -> bytes | None:
        self.reads.append(path)
        return super().read_bytes(path, limit=limit)


def test_an_include_cycle_with_fan_out_reads_each_file_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Twenty files that each include all twenty: followed blindly to the depth limit, that is
    20**16 reads; each is read once, and one warning names the cycle."""
    _write(tmp_path, "/etc/ld.so.conf", "include /etc/ld.so.conf.d/*.conf\n")
    for i in range(20):
        _write(tmp_path, f"/etc/ld.so.conf.d/{i:02}.conf", f"/d{i}\ninclude *.conf\n")
    fs = _CountingReads(tmp_path)
    with caplog.at_level(logging.WARNING, "manywheel"):
        found = read_ld_so_conf(fs)
    assert found == tuple(f"/d{i}" for i in range(20))
    assert sorted(fs.reads) == sorted(set(fs.reads)) and len(fs.reads) == 21
    (record,) = caplog.records
    cycle = ", ".join(f"/etc/ld.so.conf.d/{i:02}.conf" for i in range(20))
    assert record.getMessage() == f"/etc/ld.so.conf: include cycle through {cycle}; not followed"


@pytest.mark.parametrize(
    "path", ["/etc/ld.so.conf", "/etc/ld.so.conf.d/big.conf", "/etc/ld-musl-x86_64.path"]
)
def test_a_configuration_file_larger_than_the_bound_is_an_input_error(
    tmp_path: Path, path: str
) -> None:
    _write(tmp_path, "/etc/ld.so.conf", "include /etc/ld.so.conf.d/*.conf\n")
    _write(tmp_path, path, "/lib\n" * (MAX_CONF_BYTES // 5 + 1))
    fs = RootFileSystem(tmp_path)
    with pytest.raises(InputError) as caught:
        read_musl_path(fs, "x86_64") if "musl" in path else read_ld_so_conf(fs)
    assert caught.value.path == f"{tmp_path}{path}"
    assert caught.value.message == f"larger than {MAX_CONF_BYTES:,} bytes"


def test_an_absurd_ld_so_cache_is_one_line_and_exit_3(tmp_path: Path) -> None:
    """A (sparse) ld.so.cache of 64 MiB and one byte in a root: ``lddtree --root`` says so."""
    cache = tmp_path / "etc/ld.so.cache"
    cache.parent.mkdir(parents=True)
    with cache.open("wb") as f:
        f.truncate(MAX_SYSTEM_FILE_BYTES + 1)
    out, err = io.StringIO(), io.StringIO()
    code = main(["lddtree", "--root", str(tmp_path), "/bin/true"], stdout=out, stderr=err)
    assert (code, out.getvalue()) == (3, "")
    assert err.getvalue() == (
        f"manywheel: error: {cache}: larger than {MAX_SYSTEM_FILE_BYTES:,} bytes\n"
    )


def test_missing_ld_so_conf_lists_nothing(tmp_path: Path) -> None:
    assert read_ld_so_conf(RootFileSystem(tmp_path)) == ()


def test_host_ld_so_conf_matches_ldconfig() -> None:
    ldconfig = shutil.which("ldconfig") or shutil.which("ldconfig", path="/sbin:/usr/sbin")
    if ldconfig is None or not Path("/etc/ld.so.conf").exists():
        pytest.skip("needs ldconfig and /etc/ld.so.conf")
    out = subprocess.run([ldconfig, "-v", "-N", "-X"], capture_output=True, text=True, check=False)
    scanned = [line.split(":")[0] for line in out.stdout.splitlines() if not line[:1].isspace()]
    ours = [d for d in read_ld_so_conf(RootFileSystem("/")) if Path(d).is_dir()]
    assert ours
    # ldconfig lists each directory once by identity (/lib is /usr/lib on a merged-/usr system).
    real = list(dict.fromkeys(str(Path(d).resolve()) for d in ours))
    scanned_real = [str(Path(d).resolve()) for d in scanned]
    assert real == [d for d in scanned_real if d in real]


def test_musl_path_file(tmp_path: Path) -> None:
    fs = RootFileSystem(tmp_path)
    assert read_musl_path(fs, "x86_64") is None
    _write(tmp_path, "/etc/ld-musl-x86_64.path", "/lib\n/usr/lib:/opt/lib\n\n")
    assert read_musl_path(fs, "x86_64") == ("/lib", "/usr/lib", "/opt/lib")


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ("$ORIGIN/../lib", "/opt/pkg/../lib"),
        ("${ORIGIN}/x", "/opt/pkg/x"),
        ("/a/$LIB/b", "/a/lib/x86_64-linux-gnu/b"),
        ("/p/${PLATFORM}", "/p/x86_64"),
        ("$ORIGINAL/x", "$ORIGINAL/x"),
        ("/usr/lib/", "/usr/lib"),
        ("/", "/"),
        ("$ORIGIN", "/opt/pkg"),
    ],
)
def test_token_expansion(entry: str, expected: str) -> None:
    values = {"origin": "/opt/pkg", "lib": "lib/x86_64-linux-gnu", "platform": "x86_64"}
    assert expand_tokens(entry, **values) == expected


def test_an_unknown_token_value_drops_the_entry() -> None:
    assert expand_tokens("$ORIGIN/lib", origin=None, lib="lib", platform="x") is None


def test_symlinks_stay_inside_the_root(tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "usr/lib").mkdir(parents=True)
    (root / "usr/lib/libreal.so.1").write_bytes(b"inside")
    lib = root / "usr/lib"
    (lib / "libabs.so").symlink_to("/usr/lib/libreal.so.1")  # absolute: re-rooted
    (lib / "libescape.so").symlink_to("../../../../../../etc/hostname")
    (lib / "libhost.so").symlink_to("/etc/passwd")
    (lib / "libloop.so").symlink_to("libloop.so")
    fs = RootFileSystem(root)
    assert fs.resolve("/usr/lib/libabs.so") == "/usr/lib/libreal.so.1"
    assert fs.read_bytes("/usr/lib/libabs.so") == b"inside"
    assert fs.resolve("/usr/lib/libescape.so") is None  # /etc/hostname is not in the root
    assert fs.resolve("/usr/lib/libhost.so") is None
    assert fs.resolve("/usr/lib/libloop.so") is None
    assert fs.resolve("/usr/lib") is None  # a directory is not a library
    assert fs.virtual_path(str(root / "usr/lib/x")) == "/usr/lib/x"
    assert fs.virtual_path("/elsewhere") is None


_TARGETS = st.sampled_from(
    ["a", "b", "c", "d/a", "../a", "../../..", "/", "/a", "/d", "/etc/passwd", "..", ".", "d"]
)


@settings(max_examples=60, deadline=None)
@given(links=st.dictionaries(st.sampled_from(["a", "b", "c", "d/a", "d/b"]), _TARGETS))
def test_no_symlink_graph_leaves_the_root(links: dict[str, str]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "root"
        (root / "d").mkdir(parents=True)
        (root / "d/file").write_text("x")
        for name, target in links.items():
            (root / name).symlink_to(target)
        fs = RootFileSystem(root)
        for name in [*links, "d/file"]:
            resolved = fs.resolve("/" + name)
            if resolved is not None:
                host = Path(fs.host_path(resolved))
                assert host.resolve().is_relative_to(root.resolve())
                assert host.is_file()


@settings(max_examples=40, deadline=None)
@given(
    edges=st.lists(
        st.lists(st.integers(0, 7), max_size=5),  # what each of 8 files includes
        min_size=8,
        max_size=8,
    )
)
def test_any_include_graph_reads_each_file_once(edges: list[list[int]]) -> None:
    """Random include graphs — cycles, self-includes, fan-out — over eight files: each file
    is read at most once, and the directories are those of the files the top one reaches."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        includes = "".join(f"include /etc/conf.d/{i}.conf\n" for i in edges[0])
        _write(root, "/etc/ld.so.conf", includes)
        for index, targets in enumerate(edges):
            lines = [f"/d{index}", *(f"include {t}.conf" for t in targets)]
            _write(root, f"/etc/conf.d/{index}.conf", "\n".join(lines) + "\n")
        fs = _CountingReads(root)
        found = read_ld_so_conf(fs)
        assert len(fs.reads) == len(set(fs.reads))
        reached, pending = set(), list(edges[0])
        while pending:
            node = pending.pop()
            if node not in reached:
                reached.add(node)
                pending.extend(edges[node])
        assert set(found) == {f"/d{i}" for i in reached}
