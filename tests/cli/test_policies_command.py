"""``manywheel policies``: text, --arch, --libc, --json and --policy-file, through ``main``."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from manywheel.cli import main


def _run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(["policies", *argv], stdout=out, stderr=err, environ={})
    return code, out.getvalue(), err.getvalue()


def _json(*argv: str) -> dict[str, Any]:
    code, out, err = _run("--json", *argv)
    assert (code, err) == (0, "")
    document: dict[str, Any] = json.loads(out)
    return document


def _rows(text: str) -> dict[str, list[str]]:
    """The rows of every family's table: the lines after its header, up to a blank one."""
    lines = text.splitlines()
    rows: dict[str, list[str]] = {}
    for index, line in enumerate(lines):
        if line.split()[:1] == ["policy"]:
            for row in lines[index + 1 : lines.index("", index)]:
                rows[row.split()[0]] = row.split()
    return rows


def test_text_table_lists_every_policy_by_family() -> None:
    code, out, err = _run("--arch", "all")
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0] == "Policies for every architecture"
    families = [line for line in lines if line and not line.startswith(" ")][1:]
    assert families == [
        "manylinux (glibc, PEP 600)",
        "musllinux (musl, PEP 656)",
        "Android (Bionic, PEP 738)",
        "linux (any library: not accepted by package indexes)",
    ]
    header = lines[lines.index(families[0]) + 1]
    assert header.split() == ["policy", "aliases", "libc", "priority", "libraries", "architectures"]
    rows = _rows(out)
    assert len(rows) == 23
    assert rows["android_24"] == [
        "android_24", "-", "Android", "API", "24", "76", "18", "x86_64", "aarch64"
    ]  # fmt: skip
    assert rows["manylinux_2_17"][:6] == [
        "manylinux_2_17",
        "manylinux2014",
        "glibc",
        "2.17",
        "80",
        "23",
    ]
    assert "ppc64" in rows["manylinux_2_17"]
    assert rows["musllinux_1_2"][:5] == ["musllinux_1_2", "-", "musl", "1.2", "90"]
    assert rows["linux"][1:] == ["-", "any", "0", "any", "all"]


def test_columns_line_up() -> None:
    """Every cell of a column starts where its heading starts."""
    _, out, _ = _run("--arch", "all")
    lines = out.splitlines()
    start = lines.index("manylinux (glibc, PEP 600)") + 1
    header, *rows = lines[start : lines.index("", start)]
    for heading in ("aliases", "libc", "priority", "libraries", "architectures"):
        column = header.index(heading)
        assert all(row[column - 2 : column] == "  " and row[column] != " " for row in rows), heading


def test_without_arch_the_whitelists_of_this_machine() -> None:
    """No --arch: this machine's architecture, with every policy's whitelist."""
    code, out, _ = _run()
    assert code == 0
    assert out.startswith("Policies for x86_64 (this machine's;")
    assert "manylinux_2_17_x86_64, manylinux2014_x86_64 (glibc 2.17)" in out
    block = out.split("manylinux_2_17_x86_64, manylinux2014_x86_64")[1].split("\n\n")[0]
    assert "whitelist (23): libGL.so.1 libICE.so.6" in block
    assert _json()["arch"] == "x86_64"
    assert _json("--arch", "all")["arch"] is None


def test_arch_shows_tags_and_newest_versions() -> None:
    code, out, _ = _run("--arch", "x86_64")
    assert code == 0
    assert "manylinux_2_17_x86_64, manylinux2014_x86_64 (glibc 2.17)" in out
    block = out.split("manylinux_2_17_x86_64, manylinux2014_x86_64")[1].split("\n\n")[0]
    assert "newest versions: CXXABI_1.3.7 CXXABI_TM_1 GCC_4.8.0 GLIBC_2.17 GLIBCXX_3.4.19" in block
    assert "no versions at all of: LIBATOMIC\n" in block
    manylinux1 = out.split("manylinux_2_5_x86_64, manylinux1_x86_64")[1].split("\n\n")[0]
    assert "no versions at all of: LIBATOMIC ZLIB" in manylinux1
    manylinux_2_36 = out.split("manylinux_2_36_x86_64")[1].split("\n\n")[0]
    assert "also: CXXABI_FLOAT128 GLIBC_ABI_DT_RELR" in manylinux_2_36
    assert "_aarch64" not in out


def test_arch_filters_policies() -> None:
    document = _json("--arch", "ppc64")
    assert [p["name"] for p in document["policies"]] == ["manylinux_2_17", "linux"]
    (glibc, linux) = document["policies"]
    assert glibc["tags"] == ["manylinux_2_17_ppc64", "manylinux2014_ppc64"]
    assert glibc["newest_versions"]["ppc64"]["GLIBC"] == "GLIBC_2.17"
    assert linux["tags"] == ["linux_ppc64"]
    assert linux["newest_versions"] == {}


def test_json_document() -> None:
    document = _json("--arch", "all")
    assert document["schema_version"] == 1
    assert document["arch"] is None
    by_name = {p["name"]: p for p in document["policies"]}
    m2014 = by_name["manylinux_2_17"]
    assert (m2014["libc"], m2014["libc_version"], m2014["aliases"]) == (
        "glibc",
        "2.17",
        ["manylinux2014"],
    )
    assert "libexpat.so.1" in m2014["lib_whitelist"]
    assert "__cxa_thread_atexit_impl" in m2014["blacklist"]["libc.so.6"]
    assert m2014["newest_versions"]["aarch64"]["GLIBC"] == "GLIBC_2.18"
    assert m2014["version_markers"]["x86_64"] == []
    markers = by_name["manylinux_2_41"]["version_markers"]["x86_64"]
    assert markers == ["CXXABI_FLOAT128", "GLIBC_ABI_DT_RELR"]
    assert by_name["musllinux_1_1"]["libc_version"] == "1.1"
    assert by_name["linux"]["libc"] is None


def test_musl_arch_whitelist_has_the_musl_libc_soname() -> None:
    document = _json("--arch", "aarch64", "--libc", "musl")
    assert [p["name"] for p in document["policies"]] == ["musllinux_1_1", "musllinux_1_2", "linux"]
    assert "libc.musl-aarch64.so.1" in document["policies"][0]["lib_whitelist"]


def test_policy_file_adds_a_policy(tmp_path: Path) -> None:
    base = next(p for p in _json()["policies"] if p["name"] == "musllinux_1_2")
    custom = {
        "name": "musllinux_1_3",
        "aliases": ["corp-musl"],
        "priority": 80,
        "symbol_versions": {"x86_64": {}},
        "lib_whitelist": [*base["lib_whitelist"], "libcorp.so.1"],
        "blacklist": {},
    }
    path = tmp_path / "corp.json"
    path.write_text(json.dumps([custom]), encoding="utf-8")
    document = _json("--libc", "musl", "--policy-file", str(path))
    names = [p["name"] for p in document["policies"]]
    assert names == ["musllinux_1_1", "musllinux_1_2", "musllinux_1_3", "linux"]
    assert document["policies"][2]["source"] == str(path)
    assert "libcorp.so.1" in document["policies"][2]["lib_whitelist"]


@pytest.mark.parametrize(
    ("argv", "code", "message"),
    [
        (["--arch", "sparc64"], 2, "unknown architecture 'sparc64'"),
        (["--policy-file", "/nonexistent/p.json"], 3, "/nonexistent/p.json"),
    ],
    ids=["bad-arch", "missing-file"],
)
def test_errors(argv: list[str], code: int, message: str) -> None:
    got, out, err = _run(*argv)
    assert (got, out) == (code, "")
    assert message in err


def test_bad_libc_is_a_usage_error() -> None:
    got, out, err = _run("--libc", "bionic")
    assert (got, out) == (2, "")
    assert "invalid choice: 'bionic'" in err


def test_invalid_policy_file_exits_3_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text('[{"name": "manylinux_2_99", "priority": "x"}]', encoding="utf-8")
    code, out, err = _run("--policy-file", str(path))
    assert (code, out) == (3, "")
    assert err.strip() == f"manywheel: error: {path}: policy 'manylinux_2_99': missing keys " + (
        "['aliases', 'blacklist', 'lib_whitelist', 'symbol_versions']"
    )
