"""``check_wheel``: untrue tags (a gcc-built extension and a real wheel from the index that claim
manylinux1 while their symbols need a newer glibc), ``linux_*`` tags, broken RECORDs, metadata
an index refuses, descriptions that do not render — each with its reason; real good wheels pass."""

from __future__ import annotations

from pathlib import Path

import pytest

from manywheel.build import CheckResult, ProblemKind, check_wheel
from tests.build.wheels import (
    THREADS,
    extension_wheel,
    host_python,
    metadata_text,
    pure_wheel,
    tamper,
)
from tests.harness.downloads import download_wheel

#: Real wheels from the package index that must pass (requirement, platform).
GOOD_REAL = [
    ("simplejson==4.1.2", "manylinux_2_28_x86_64"),
    ("wrapt==2.5.0", "manylinux_2_28_x86_64"),
    ("certifi==2026.7.22", "any"),
]


def _problems(result: CheckResult, kind: ProblemKind) -> list[str]:
    return [str(p) for p in result.problems if p.kind is kind]


@pytest.fixture(scope="module")
def extensions(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    python = host_python()
    directory = tmp_path_factory.mktemp("extensions")
    good = extension_wheel(
        directory, python, "mwgood", "manylinux_2_17_x86_64.manylinux2014_x86_64"
    )
    return {
        "good": good,
        "threads": extension_wheel(
            directory, python, "mwthreads", "manylinux1_x86_64", code=THREADS
        ),
        "linux": extension_wheel(directory, python, "mwlinux", "linux_x86_64"),
        "tampered": tamper(good, ".so", directory / "tampered" / good.name),
    }


def test_good_extension_passes(extensions: dict[str, Path]) -> None:
    result = check_wheel(extensions["good"])
    assert result.problems == ()
    assert result.passed(strict=True)
    assert [(t.tag, t.true) for t in result.tags] == [
        ("manylinux_2_17_x86_64", True),
        ("manylinux2014_x86_64", True),
    ]
    assert result.best_tag == "manylinux_2_5_x86_64"


def test_manylinux1_tag_needing_a_newer_glibc_is_refused(extensions: dict[str, Path]) -> None:
    """Built here: pthread_create is GLIBC_2.34 with this glibc."""
    result = check_wheel(extensions["threads"])
    assert not result.passed()
    [problem] = result.problems
    assert problem.kind is ProblemKind.TAG
    assert problem.subject == "manylinux1_x86_64"
    assert "needs GLIBC_2.34 from libc.so.6 (for pthread_create" in problem.message
    assert "manylinux_2_5 on x86_64 provides up to GLIBC_2.5" in problem.message
    assert problem.message.endswith("; the files allow manylinux_2_34_x86_64 at best")
    assert result.best_tag == "manylinux_2_34_x86_64"


@pytest.mark.network
def test_real_manylinux1_wheel_needing_glibc_2_28_is_refused() -> None:
    """playwright 1.63.0's wheel on the index claims manylinux1; its node binary needs
    GLIBC_2.28 (fcntl64): the reason named is that need, not the first of its older ones."""
    wheel = download_wheel("playwright==1.63.0", "manylinux1_x86_64")
    result = check_wheel(wheel)
    tag = _problems(result, ProblemKind.TAG)
    assert tag == [
        "manylinux1_x86_64: playwright/driver/node needs GLIBC_2.28 from libc.so.6 (for "
        "fcntl64): too new; manylinux_2_5 on x86_64 provides up to GLIBC_2.5 (+27 more "
        "reasons); the files allow manylinux_2_28_x86_64 at best"
    ]
    # its WHEEL file still says py3-none-any: the filename was changed by hand
    [container] = _problems(result, ProblemKind.CONTAINER)
    assert "tag-mismatch" in container


def test_linux_tag_is_refused(extensions: dict[str, Path]) -> None:
    result = check_wheel(extensions["linux"])
    assert [str(p) for p in result.problems] == [
        "linux_x86_64: package indexes refuse linux_* tags: repair the wheel; the files allow "
        "manylinux_2_5_x86_64 at best"
    ]


def test_broken_record_is_refused(extensions: dict[str, Path]) -> None:
    result = check_wheel(extensions["tampered"])
    [problem] = result.problems
    assert problem.kind is ProblemKind.CONTAINER
    assert problem.subject == "mwgood.cpython-311-x86_64-linux-gnu.so"
    assert problem.message.startswith("hash-mismatch: content does not match RECORD")


@pytest.mark.network
@pytest.mark.parametrize(("requirement", "platform"), GOOD_REAL, ids=[g[0] for g in GOOD_REAL])
def test_real_wheels_pass(requirement: str, platform: str) -> None:
    result = check_wheel(download_wheel(requirement, platform))
    assert result.problems == ()
    assert result.error is None
    assert all(t.true for t in result.tags)


def test_pure_wheel_with_an_elf_file(tmp_path: Path, extensions: dict[str, Path]) -> None:
    import zipfile

    with zipfile.ZipFile(extensions["good"]) as source:
        [so] = [n for n in source.namelist() if n.endswith(".so")]
        data = source.read(so)
    wheel = pure_wheel(tmp_path, "mwpure", metadata_text("mwpure", "1.0"), files={so: data})
    result = check_wheel(wheel)
    assert [(p.kind, str(p)) for p in result.problems] == [
        (ProblemKind.TAG, f"any: a wheel tagged 'any' holds ELF file {so}"),
        # and the Python tag: no Python 3 but 3.11 imports that file name
        (
            ProblemKind.PYTHON_ABI,
            f"{so}: any Python 3 does not import a module named *.cpython-311-x86_64-linux-gnu"
            ".so; the tag py3-none claims it",
        ),
    ]
    assert result.python_abi is not None
    assert not result.python_abi.ok


def test_a_python_tag_the_module_does_not_fit_is_refused(
    tmp_path: Path, extensions: dict[str, Path]
) -> None:
    """A version-specific module (``.cpython-311-...so``, built without the limited API)
    relabelled ``cp38-abi3``: the platform tag is true, the Python tag is not."""
    python = host_python()
    wheel = extension_wheel(
        tmp_path, python, "mwabi", "manylinux_2_17_x86_64", python_tag="cp38-abi3"
    )
    result = check_wheel(wheel)
    assert result.tags and all(t.true for t in result.tags)
    kinds = {p.kind for p in result.problems}
    assert kinds == {ProblemKind.PYTHON_ABI}, result.problems
    messages = [str(p) for p in result.problems]
    assert any("the tag cp38-abi3" in m for m in messages), messages
    assert not result.passed()


# --- metadata --------------------------------------------------------------------------------

METADATA_CASES = [
    (
        "unknown-field",
        metadata_text("mwmeta", "1.0", "Homepage-Url: https://x\n"),
        ["unrecognized or malformed field 'homepage-url'"],
    ),
    (
        "field-too-new",
        metadata_text("mwmeta", "1.0", "License-Expression: MIT\n"),
        ["license-expression introduced in metadata version 2.4, not 2.1"],
    ),
    (
        "bad-license-expression",
        metadata_text("mwmeta", "1.0", "License-Expression: MIT OR\n").replace(
            "Metadata-Version: 2.1", "Metadata-Version: 2.4"
        ),
        ["'MIT OR' is invalid for 'license-expression'"],
    ),
    (
        "missing-license-file",
        metadata_text("mwmeta", "1.0", "License-Expression: MIT\nLicense-File: LICENSE\n").replace(
            "Metadata-Version: 2.1", "Metadata-Version: 2.4"
        ),
        [
            "License-File 'LICENSE' is not in the wheel (expected "
            "mwmeta-1.0.dist-info/licenses/LICENSE)"
        ],
    ),
    (
        "bad-requirement",
        metadata_text("mwmeta", "1.0", "Requires-Dist: numpy >>= 2\n"),
        ["'numpy >>= 2' is invalid for 'requires-dist'"],
    ),
    (
        "no-version",
        "Metadata-Version: 2.1\nName: mwmeta\n",
        ["'version' is a required field"],
    ),
    (
        "invalid-classifier",
        metadata_text("mwmeta", "1.0", "Classifier: Programming Language :: Cobol++\n"),
        ["classifier 'Programming Language :: Cobol++' is not a valid trove classifier"],
    ),
]


@pytest.mark.parametrize(
    ("metadata", "expected"), [c[1:] for c in METADATA_CASES], ids=[c[0] for c in METADATA_CASES]
)
def test_metadata_an_index_refuses(tmp_path: Path, metadata: str, expected: list[str]) -> None:
    if "Classifier" in metadata:
        pytest.importorskip("trove_classifiers", reason="the publish extra's trove-classifiers")
    result = check_wheel(pure_wheel(tmp_path, "mwmeta", metadata))
    assert _problems(result, ProblemKind.METADATA) == expected


def test_metadata_2_4_with_its_license_file_passes(tmp_path: Path) -> None:
    metadata = metadata_text(
        "mwlic",
        "1.0",
        "License-Expression: MIT AND (Apache-2.0 OR BSD-2-Clause)\n"
        "License-File: LICENSE\nLicense-File: vendor/NOTICE.txt\n",
    ).replace("Metadata-Version: 2.1", "Metadata-Version: 2.4")
    files = {
        "mwlic/__init__.py": b"",
        "mwlic-1.0.dist-info/licenses/LICENSE": b"MIT\n",
        "mwlic-1.0.dist-info/licenses/vendor/NOTICE.txt": b"notice\n",
    }
    result = check_wheel(pure_wheel(tmp_path, "mwlic", metadata, files=files))
    assert result.passed(strict=True), result.problems


def test_license_file_below_2_4_is_dropped_as_twine_does(tmp_path: Path) -> None:
    metadata = metadata_text("mwold", "1.0", "License-File: LICENSE.txt\n")
    result = check_wheel(pure_wheel(tmp_path, "mwold", metadata))
    assert result.passed(strict=True), result.problems
    assert result.metadata is not None
    assert "license_files" not in result.metadata


BAD_RST = "Title\n=====\n\n`unclosed link <http://x\n\n.. bogus-directive:: y\n"


def test_description_that_does_not_render(tmp_path: Path) -> None:
    pytest.importorskip("readme_renderer", reason="the publish extra's readme-renderer")
    metadata = metadata_text("mwrst", "1.0", "Description-Content-Type: text/x-rst\n", "")
    metadata += "\n" + BAD_RST
    result = check_wheel(pure_wheel(tmp_path, "mwrst", metadata))
    [problem] = result.problems
    assert problem.kind is ProblemKind.DESCRIPTION
    assert problem.message.startswith(
        "the long description (text/x-rst) does not render on PyPI: line 4: Warning: "
    )


def test_description_renders_without_readme_renderer_is_not_judged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without the publish extra the reStructuredText is not rendered (said at -v), never
    failed for that."""
    import sys

    monkeypatch.setitem(sys.modules, "readme_renderer.rst", None)
    metadata = metadata_text("mwrst", "1.0", "Description-Content-Type: text/x-rst\n", "")
    result = check_wheel(pure_wheel(tmp_path, "mwrst", metadata + "\n" + BAD_RST))
    assert result.problems == ()


def test_warnings_fail_only_when_strict(tmp_path: Path) -> None:
    metadata = (
        "Metadata-Version: 2.1\nName: mwwarn\nVersion: 1.0\nClassifier: Private :: Do Not Upload\n"
    )
    result = check_wheel(pure_wheel(tmp_path, "mwwarn", metadata))
    assert result.warnings == (
        "no Description-Content-Type: the description is read as text/x-rst",
        "no long description (the project page will be empty)",
        "classifier 'Private :: Do Not Upload': PyPI refuses uploads of private projects",
    )
    assert result.passed()
    assert not result.passed(strict=True)


def test_unreadable_wheel_is_an_error_not_a_verdict(tmp_path: Path) -> None:
    path = tmp_path / "broken-1.0-py3-none-any.whl"
    path.write_bytes(b"PK\x03\x04 not really a zip")
    result = check_wheel(path)
    assert result.error is not None
    assert result.problems == ()
    assert not result.passed()
