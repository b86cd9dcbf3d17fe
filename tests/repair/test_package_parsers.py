"""Property tests for the package database parsers: any input gives only the documented outcome
(a mapping or stanzas of the documented shape), never an exception, and quickly."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from manywheel.repair import SystemPackages
from manywheel.repair.packages import apk_packages, dpkg_versions, parse_os_release

FIELD_BYTES = st.sampled_from(
    [b"Package: ", b"Version: ", b"Architecture: ", b"P:", b"V:", b"F:", b"R:", b"\n", b"\n\n"]
)
#: Database-like bytes: field names and separators mixed with arbitrary bytes.
DATABASE = st.lists(st.one_of(FIELD_BYTES, st.binary(max_size=12)), max_size=40).map(b"".join)


@given(st.text(max_size=400))
def test_os_release_gives_keys_and_values(text: str) -> None:
    for key, value in parse_os_release(text).items():
        assert key and not key.startswith("#") and "=" not in key
        assert isinstance(value, str)


@given(st.dictionaries(st.from_regex(r"[A-Z_]{1,12}", fullmatch=True), st.from_regex(
    r"[A-Za-z0-9 ._/-]*", fullmatch=True), max_size=8))  # fmt: skip
def test_os_release_quoted_values_come_back_whole(fields: dict[str, str]) -> None:
    text = "".join(f'{k}="{v}"\n' for k, v in fields.items())
    assert parse_os_release(text) == fields  # inside quotes, spaces are kept


@given(DATABASE)
def test_apk_stanzas_have_a_name_a_version_and_absolute_files(data: bytes) -> None:
    for name, version, files in apk_packages(data.decode("utf-8", "replace")):
        assert name and version
        assert all(f.startswith("/") for f in files)


@given(DATABASE)
def test_dpkg_status_gives_versions_of_named_packages(data: bytes) -> None:
    for (name, _arch), version in dpkg_versions(data).items():
        assert name and version
        assert "\n" not in name + version


@settings(max_examples=50)
@given(DATABASE, DATABASE, DATABASE)
def test_any_database_bytes_give_an_answer(status: bytes, listing: bytes, apk: bytes) -> None:
    """Whole lookups over a root holding these bytes as dpkg's and apk's databases: owners
    with a package URL, or none, never an exception."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "etc").mkdir()
        (root / "etc/os-release").write_text("ID=debian\n")
        (root / "var/lib/dpkg/info").mkdir(parents=True)
        (root / "var/lib/dpkg/status").write_bytes(status)
        (root / "var/lib/dpkg/info/pkg.list").write_bytes(listing + b"\n/usr/lib/liba.so\n")
        (root / "lib/apk/db").mkdir(parents=True)
        (root / "lib/apk/db/installed").write_bytes(apk + b"\n\nP:b\nV:1\nF:usr/lib\nR:libb.so\n")
        owners = SystemPackages(root).owners(["/usr/lib/liba.so", "/usr/lib/libb.so", "/x"])
        for owner in owners.values():
            assert owner.purl.startswith(f"pkg:{owner.type}/debian/")
        assert owners["/usr/lib/libb.so"].name == "b"
