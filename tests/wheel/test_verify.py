"""``verify_wheel``: clean wheels have no findings; each defect gives a finding naming the member
and what was expected and found."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from manywheel.wheel import Finding, FindingKind, verify_wheel
from tests.wheel.builders import RawEntry, raw_zip, record_text, wheel_files, write_wheel

WHEEL_NAME = "demo-1.0-py3-none-any.whl"
RECORD = "demo-1.0.dist-info/RECORD"


@pytest.mark.parametrize("key", ["pyyaml", "six"])
def test_real_wheels_are_clean(real_wheels: dict[str, Path], key: str) -> None:
    assert verify_wheel(real_wheels[key]) == ()


def test_built_wheel_is_clean(tmp_path: Path) -> None:
    path = write_wheel(tmp_path / WHEEL_NAME, wheel_files({"demo/__init__.py": b"x = 1\n"}))
    assert verify_wheel(path) == ()


def _findings(tmp_path: Path, files: dict[str, bytes], name: str = WHEEL_NAME) -> list[Finding]:
    path = write_wheel(tmp_path / name, files)
    before = hashlib.sha256(path.read_bytes()).digest()
    findings = list(verify_wheel(path))
    assert hashlib.sha256(path.read_bytes()).digest() == before
    return findings


def _only(findings: list[Finding], kind: FindingKind) -> Finding:
    assert [f.kind for f in findings] == [kind], findings
    return findings[0]


def test_tampered_member_is_a_hash_mismatch(tmp_path: Path) -> None:
    files = wheel_files({"demo/__init__.py": b"x = 1\n"})
    files["demo/__init__.py"] = b"x = 2\n"  # same size, RECORD not updated
    finding = _only(_findings(tmp_path, files), FindingKind.HASH_MISMATCH)
    assert finding.member == "demo/__init__.py"
    assert finding.expected is not None
    assert finding.expected.startswith("sha256=")
    assert finding.found != finding.expected
    assert "demo/__init__.py" in str(finding)


def test_wrong_size_in_record(tmp_path: Path) -> None:
    files = wheel_files({"demo/__init__.py": b"x = 1\n"}, record=False)
    text = record_text(files, RECORD).replace(",6\n", ",7\n", 1)
    files[RECORD] = text.encode()
    finding = _only(_findings(tmp_path, files), FindingKind.SIZE_MISMATCH)
    assert (finding.member, finding.expected, finding.found) == ("demo/__init__.py", "7", "6")


def test_member_missing_from_record(tmp_path: Path) -> None:
    files = wheel_files({"demo/__init__.py": b"x = 1\n"})
    files["demo/extra.py"] = b"sneaky = True\n"
    finding = _only(_findings(tmp_path, files), FindingKind.RECORD_MISSING_ENTRY)
    assert finding.member == "demo/extra.py"


def test_record_lists_a_missing_file(tmp_path: Path) -> None:
    files = wheel_files({"demo/__init__.py": b"x = 1\n", "demo/gone.py": b""})
    del files["demo/gone.py"]
    finding = _only(_findings(tmp_path, files), FindingKind.RECORD_EXTRA_ENTRY)
    assert finding.member == "demo/gone.py"


def test_record_row_without_hash_and_weak_hash(tmp_path: Path) -> None:
    files = wheel_files({"demo/a.py": b"a", "demo/b.py": b"b"}, record=False)
    rows = record_text(files, RECORD).splitlines()
    rows[0] = "demo/a.py,,1"
    rows[1] = "demo/b.py,md5=kutf_uauL-w61xx3dTFXjw,1"
    files[RECORD] = ("\n".join(rows) + "\n").encode()
    kinds = {f.member: f.kind for f in _findings(tmp_path, files)}
    assert kinds == {
        "demo/a.py": FindingKind.RECORD_NO_HASH,
        "demo/b.py": FindingKind.RECORD_WEAK_HASH,
    }


def test_duplicate_record_rows(tmp_path: Path) -> None:
    files = wheel_files({"demo/a.py": b"a"}, record=False)
    text = record_text(files, RECORD)
    files[RECORD] = (text.splitlines(keepends=True)[0] + text).encode()
    finding = _only(_findings(tmp_path, files), FindingKind.RECORD_DUPLICATE_ENTRY)
    assert finding.member == "demo/a.py"


def test_malformed_record(tmp_path: Path) -> None:
    files = wheel_files({"demo/a.py": b"a"})
    files[RECORD] = b"demo/a.py,sha256=x\n"
    finding = _only(_findings(tmp_path, files), FindingKind.RECORD_INVALID)
    assert finding.member == RECORD
    assert "line 1" in finding.message


def test_filename_tags_differ_from_wheel_tags(tmp_path: Path) -> None:
    files = wheel_files({"demo/a.py": b"a"}, tags=("cp311-cp311-linux_x86_64",))
    finding = _only(_findings(tmp_path, files), FindingKind.TAG_MISMATCH)
    assert finding.member == "demo-1.0.dist-info/WHEEL"
    assert finding.expected == "py3-none-any"
    assert finding.found == "cp311-cp311-linux_x86_64"


def test_compressed_tag_sets_match_expanded_lines(tmp_path: Path) -> None:
    name = "demo-1.0-py2.py3-none-any.whl"
    files = wheel_files({"demo/a.py": b"a"}, tags=("py3-none-any", "py2-none-any"))
    assert _findings(tmp_path, files, name) == []


def test_two_dist_info_directories(tmp_path: Path) -> None:
    files = wheel_files({"demo/a.py": b"a"}, record=False)
    files["other-2.0.dist-info/METADATA"] = b"Name: other\nVersion: 2.0\n"
    files[RECORD] = record_text(files, RECORD).encode()
    finding = _only(_findings(tmp_path, files), FindingKind.DIST_INFO_COUNT)
    assert (finding.expected, finding.found) == ("1", "2")


def test_dist_info_and_metadata_must_match_filename(tmp_path: Path) -> None:
    files = wheel_files({"demo/a.py": b"a"}, name="demo", version="2.0")
    findings = _findings(tmp_path, files)
    assert {(f.kind, f.expected, f.found) for f in findings} == {
        (FindingKind.DIST_INFO_NAME, "demo-1.0.dist-info", "demo-2.0.dist-info"),
        (FindingKind.METADATA_MISMATCH, "1.0", "2.0"),
    }


def test_metadata_version_mismatch(tmp_path: Path) -> None:
    files = wheel_files({"demo/a.py": b"a"}, record=False)
    files["demo-1.0.dist-info/METADATA"] = b"Metadata-Version: 2.1\nName: demo\nVersion: 1.1\n"
    files[RECORD] = record_text(files, RECORD).encode()
    finding = _only(_findings(tmp_path, files), FindingKind.METADATA_MISMATCH)
    assert (finding.expected, finding.found) == ("1.0", "1.1")


def test_unsupported_wheel_version(tmp_path: Path) -> None:
    files = wheel_files({"demo/a.py": b"a"}, record=False)
    wheel = "demo-1.0.dist-info/WHEEL"
    files[wheel] = files[wheel].replace(b"Wheel-Version: 1.0", b"Wheel-Version: 2.0")
    files[RECORD] = record_text(files, RECORD).encode()
    finding = _only(_findings(tmp_path, files), FindingKind.WHEEL_VERSION)
    assert finding.found == "2.0"


def test_duplicate_names_and_header_mismatch(tmp_path: Path) -> None:
    files = wheel_files({"demo/a.py": b"a"})
    entries = [RawEntry(n.encode(), d) for n, d in files.items()]
    entries.insert(1, RawEntry(b"demo/a.py", b"a"))
    entries.append(RawEntry(b"demo/b.py", b"b", local_name=b"demo/c.py"))
    path = tmp_path / WHEEL_NAME
    path.write_bytes(raw_zip(entries))
    findings = verify_wheel(path)
    by_kind = {f.kind: f for f in findings}
    assert by_kind[FindingKind.DUPLICATE_NAME].member == "demo/a.py"
    mismatch = by_kind[FindingKind.HEADER_MISMATCH]
    assert (mismatch.member, mismatch.expected, mismatch.found) == (
        "demo/b.py",
        str(b"demo/b.py"),
        str(b"demo/c.py"),
    )
    assert by_kind[FindingKind.RECORD_MISSING_ENTRY].member == "demo/b.py"


def test_signature_files_need_no_hash(tmp_path: Path) -> None:
    files = wheel_files({"demo/a.py": b"a"}, record=False)
    text = record_text(files, RECORD)
    files["demo-1.0.dist-info/RECORD.jws"] = b"{}"
    files[RECORD] = (text + "demo-1.0.dist-info/RECORD.jws,,\n").encode()
    assert _findings(tmp_path, files) == []
    files[RECORD] = text.encode()  # PEP 427: "RECORD.jws ... is not mentioned in RECORD"
    assert _findings(tmp_path, files) == []
    del files["demo-1.0.dist-info/RECORD.jws"]
    files[RECORD] = (text + "demo-1.0.dist-info/OTHER,,\n").encode()
    files["demo-1.0.dist-info/OTHER"] = b"{}"
    finding = _only(
        _findings(tmp_path, files, "demo-1.0-py3-none-any.whl"), FindingKind.RECORD_NO_HASH
    )
    assert finding.member == "demo-1.0.dist-info/OTHER"


def test_record_may_list_itself_with_a_hash(tmp_path: Path) -> None:
    files = wheel_files({"demo/a.py": b"a"}, record=False)
    text = record_text(files, RECORD).replace(f"{RECORD},,", f"{RECORD},sha256=AAAA,12")
    files[RECORD] = text.encode()
    assert _findings(tmp_path, files) == []
