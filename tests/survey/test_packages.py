"""Package lists (names, requirements with includes, lock files, a download ranking) and which
releases are surveyed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from packaging.version import Version

from manywheel.survey import (
    DistFile,
    PackageListError,
    PackageRequest,
    Release,
    ReleaseSelection,
    read_package_list,
    requests_from_names,
    select_releases,
)


def test_requirements_with_includes_pins_and_what_is_left_out(tmp_path: Path) -> None:
    (tmp_path / "base.txt").write_text("six==1.16.0  # pinned\nattrs\n")
    (tmp_path / "requirements.txt").write_text(
        "# comment\n"
        "-r base.txt\n"
        "--index-url https://example/simple\n"
        "numpy>=2 ; python_version >= '3.10' \\\n"
        "    --hash=sha256:abcd\n"
        "-e ./local-project\n"
        "./other-local\n"
        "pkg @ https://example/pkg-1.0.tar.gz\n"
        "SciPy\n"
        "six\n"
    )
    found = read_package_list(tmp_path / "requirements.txt")
    assert found == [
        PackageRequest("six", "==1.16.0"),
        PackageRequest("attrs"),
        PackageRequest("numpy", ">=2"),
        PackageRequest("SciPy"),
    ]


def test_requirements_including_each_other_are_refused(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("-r b.txt\n")
    (tmp_path / "b.txt").write_text("-r a.txt\n")
    with pytest.raises(PackageListError, match="include each other"):
        read_package_list(tmp_path / "a.txt")


def test_top_packages_ranking(tmp_path: Path) -> None:
    ranking = {
        "last_update": "2026-11-01",
        "rows": [
            {"download_count": 10, "project": "small"},
            {"download_count": 900, "project": "boto3"},
            {"download_count": 500, "project": "numpy"},
        ],
    }
    path = tmp_path / "top-pypi-packages.min.json"
    path.write_text(json.dumps(ranking))
    assert read_package_list(path, top=2) == [
        PackageRequest("boto3", None, 1, 900),
        PackageRequest("numpy", None, 2, 500),
    ]


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("pylock.toml", 'lock-version = "1.0"\n[[packages]]\nname = "numpy"\nversion = "2.1.0"\n'
         '[[packages]]\nname = "local"\ndirectory = { path = "." }\n'),
        ("uv.lock", 'version = 1\n[[package]]\nname = "numpy"\nversion = "2.1.0"\n'
         'source = { registry = "https://pypi.org/simple" }\n'
         '[[package]]\nname = "local"\nversion = "0.1"\nsource = { editable = "." }\n'),
        ("poetry.lock", '[[package]]\nname = "numpy"\nversion = "2.1.0"\n'
         '[[package]]\nname = "local"\nversion = "0.1"\n[package.source]\ntype = "directory"\n'),
        ("Pipfile.lock", json.dumps({"default": {"numpy": {"version": "==2.1.0"}},
                                     "develop": {}})),
    ],
)  # fmt: skip
def test_lock_files_pin_what_comes_from_an_index(tmp_path: Path, name: str, text: str) -> None:
    path = tmp_path / name
    path.write_text(text)
    assert read_package_list(path) == [PackageRequest("numpy", "==2.1.0")]


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("top.json", "{", "invalid JSON"),
        ("top.json", '{"rows": [{"download_count": 3}]}', "without a project name"),
        ("uv.lock", "[[package", "invalid TOML"),
        ("req.txt", "-r\n", "-r without a file name"),
        ("req.txt", "not a === requirement\n", "not a package name"),
    ],
)
def test_bad_lists_say_what_and_where(tmp_path: Path, name: str, text: str, message: str) -> None:
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(PackageListError, match=message) as error:
        read_package_list(path)
    assert str(path) in str(error.value)


def test_a_missing_list_file() -> None:
    with pytest.raises(PackageListError, match="cannot read"):
        read_package_list(Path("/nonexistent/requirements.txt"))


def test_names_from_the_command_line() -> None:
    assert requests_from_names(["numpy", "scipy>=1.10"]) == [
        PackageRequest("numpy"), PackageRequest("scipy", ">=1.10")
    ]  # fmt: skip
    with pytest.raises(PackageListError):
        requests_from_names(["bad name!"])


def _releases(*versions: str, yanked: tuple[str, ...] = ()) -> tuple[Release, ...]:
    return tuple(
        Release(Version(v), (DistFile(f"demo-{v}.tar.gz", "u", yanked=v in yanked),))
        for v in versions
    )


def test_release_selection() -> None:
    releases = _releases("3.0rc1", "2.1", "2.0", "1.0", yanked=("2.1",))

    def pick(selection: ReleaseSelection, spec: str | None = None) -> list[str]:
        return [str(r.version) for r in select_releases(releases, selection, spec)]

    assert pick(ReleaseSelection()) == ["2.0"]  # not the pre-release, not the yanked one
    assert pick(ReleaseSelection(2)) == ["2.0", "1.0"]
    assert pick(ReleaseSelection(None, pre=True)) == ["3.0rc1", "2.0", "1.0"]
    assert pick(ReleaseSelection(), "==2.1") == ["2.1"]  # a pin takes a yanked release
    assert pick(ReleaseSelection(), "<2") == ["1.0"]
    assert pick(ReleaseSelection(), ">=3.0rc1") == ["3.0rc1"]
    only_pre = _releases("1.0b2", "1.0b1")
    assert [str(r.version) for r in select_releases(only_pre, ReleaseSelection(), None)] == [
        "1.0b2"
    ]
