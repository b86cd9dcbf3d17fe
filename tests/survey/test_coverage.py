"""Coverage from filenames: platform and Python tags understood, releases classified as sdist
only / pure / binary, the matrix of platform families with their oldest libc, the Pythons."""

from __future__ import annotations

import pytest
from packaging.version import Version

from manywheel.survey import (
    DistFile,
    Platform,
    Release,
    ReleaseKind,
    classify,
    group_releases,
    parse_platform,
    parse_python,
)


@pytest.mark.parametrize(
    ("tag", "expected"),
    [
        ("any", Platform("any", "any", None, None, "any", "any")),
        ("manylinux1_x86_64", Platform("linux", "x86_64", "glibc", (2, 5), "manylinux_x86_64",
                                       "manylinux1_x86_64")),
        ("manylinux2010_i686", Platform("linux", "i686", "glibc", (2, 12), "manylinux_i686",
                                        "manylinux2010_i686")),
        ("manylinux2014_aarch64", Platform("linux", "aarch64", "glibc", (2, 17),
                                           "manylinux_aarch64", "manylinux2014_aarch64")),
        ("manylinux_2_28_ppc64le", Platform("linux", "ppc64le", "glibc", (2, 28),
                                            "manylinux_ppc64le", "manylinux_2_28_ppc64le")),
        ("musllinux_1_2_armv7l", Platform("linux", "armv7l", "musl", (1, 2), "musllinux_armv7l",
                                          "musllinux_1_2_armv7l")),
        ("linux_x86_64", Platform("linux", "x86_64", None, None, "linux_x86_64",
                                  "linux_x86_64")),
        ("macosx_11_0_arm64", Platform("macos", "arm64", None, (11, 0), "macosx_arm64",
                                       "macosx_11_0_arm64")),
        ("macosx_10_9_universal2", Platform("macos", "universal2", None, (10, 9),
                                            "macosx_universal2", "macosx_10_9_universal2")),
        ("win_amd64", Platform("windows", "amd64", None, None, "win_amd64", "win_amd64")),
        ("win32", Platform("windows", "x86", None, None, "win_x86", "win32")),
        ("ios_13_0_arm64_iphoneos", Platform("ios", "arm64_iphoneos", None, (13, 0),
                                             "ios_arm64_iphoneos", "ios_13_0_arm64_iphoneos")),
        ("android_21_arm64_v8a", Platform("android", "arm64_v8a", None, (21,),
                                          "android_arm64_v8a", "android_21_arm64_v8a")),
        ("pyodide_2024_0_wasm32", Platform("emscripten", "wasm32", None, (2024, 0),
                                           "pyodide_wasm32", "pyodide_2024_0_wasm32")),
        ("freebsd_14_0_release_amd64", Platform("freebsd", "amd64", None, (14, 0),
                                                "freebsd_amd64", "freebsd_14_0_release_amd64")),
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)  # fmt: skip
def test_platform_tags(tag: str, expected: Platform) -> None:
    assert parse_platform(tag) == expected


@pytest.mark.parametrize(
    ("interpreter", "abi", "key", "free_threaded", "version"),
    [
        ("cp313", "cp313", "cp313", False, (3, 13)),
        ("cp313", "cp313t", "cp313t", True, (3, 13)),
        ("cp314", "cp314t", "cp314t", True, (3, 14)),
        ("cp39", "abi3", "abi3", False, (3, 9)),
        ("cp315", "abi3t", "abi3t", True, (3, 15)),
        ("cp37", "cp37m", "cp37", False, (3, 7)),
        ("pp310", "pypy310_pp73", "pp310", False, (3, 10)),
        ("graalpy311", "graalpy242_311_native", "graalpy311", False, (3, 11)),
        ("py3", "none", "py3", False, (3,)),
        ("py2", "none", "py2", False, (2,)),
    ],
)
def test_python_tags(
    interpreter: str, abi: str, key: str, free_threaded: bool, version: tuple[int, ...]
) -> None:
    tag = parse_python(interpreter, abi)
    assert (tag.key, tag.free_threaded, tag.version) == (key, free_threaded, version)


def _release(*names: str) -> Release:
    return Release(Version("1.0"), tuple(DistFile(n, f"https://x/{n}") for n in names))


def test_sdist_only_pure_binary_and_nothing() -> None:
    assert classify(_release("demo-1.0.tar.gz")).kind is ReleaseKind.SDIST_ONLY
    pure = classify(_release("demo-1.0.tar.gz", "demo-1.0-py2.py3-none-any.whl"))
    assert (pure.kind, pure.universal, pure.has_sdist) == (ReleaseKind.PURE, True, True)
    assert classify(_release("demo-1.0-py3-none-any.whl")).universal is False
    assert classify(_release("demo-1.0-py2.7.egg")).kind is ReleaseKind.NONE
    binary = classify(_release("demo-1.0-py3-none-any.whl", "demo-1.0-cp312-cp312-win_amd64.whl"))
    assert (binary.kind, binary.pure_fallback) == (ReleaseKind.BINARY, True)


def test_matrix_of_a_release_like_numpy() -> None:
    """A release with glibc (legacy and PEP 600 tags on one wheel), musl, macOS, Windows,
    free-threaded, PyPy and abi3 wheels: families, oldest versions, Pythons in order."""
    coverage = classify(
        _release(
            "demo-1.0-cp312-cp312-manylinux2014_x86_64.manylinux_2_17_x86_64.whl",
            "demo-1.0-cp313-cp313-manylinux_2_28_x86_64.whl",
            "demo-1.0-cp313-cp313t-manylinux_2_28_aarch64.whl",
            "demo-1.0-cp313-cp313-musllinux_1_2_x86_64.whl",
            "demo-1.0-cp311-abi3-macosx_11_0_arm64.whl",
            "demo-1.0-cp312-cp312-win_amd64.whl",
            "demo-1.0-pp310-pypy310_pp73-manylinux_2_17_x86_64.whl",
            "demo-1.0.tar.gz",
        )
    )
    assert coverage.kind is ReleaseKind.BINARY
    families = {p.family: (p.oldest, p.pythons, p.wheels) for p in coverage.platforms}
    assert families == {
        "manylinux_x86_64": ((2, 17), ("cp312", "cp313", "pp310"), 3),
        "manylinux_aarch64": ((2, 28), ("cp313t",), 1),
        "musllinux_x86_64": ((1, 2), ("cp313",), 1),
        "macosx_arm64": ((11, 0), ("abi3",), 1),
        "win_amd64": (None, ("cp312",), 1),
    }
    assert [p.family for p in coverage.platforms][:3] == [
        "manylinux_x86_64", "manylinux_aarch64", "musllinux_x86_64"
    ]  # fmt: skip
    assert coverage.pythons == ("cp312", "cp313", "cp313t", "abi3", "pp310")
    assert coverage.oldest_glibc == (2, 17)
    assert coverage.free_threaded and coverage.stable_abi
    assert coverage.oses == ("linux", "macos", "windows")


def test_releases_grouped_by_the_version_their_names_say() -> None:
    files = [
        DistFile("demo-1.0.tar.gz", "u"),
        DistFile("demo-2.0-py3-none-any.whl", "u"),
        DistFile("Demo-2.0.zip", "u"),
        DistFile("demo-2.0rc1.tar.gz", "u"),
        DistFile("other-9.0.tar.gz", "u"),
        DistFile("demo-1.0.win32.exe", "u"),
        DistFile("not a file name", "u"),
    ]
    releases, left_out = group_releases("demo", files)
    assert [str(r.version) for r in releases] == ["2.0", "2.0rc1", "1.0"]
    assert [f.filename for f in releases[0].files] == ["Demo-2.0.zip", "demo-2.0-py3-none-any.whl"]
    assert left_out == 3
