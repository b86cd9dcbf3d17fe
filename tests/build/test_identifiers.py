"""Build identifiers round-trip in cibuildwheel's spelling and order as cibuildwheel lists them."""

from __future__ import annotations

import pytest

from manywheel.build import BuildIdentifier, Platform, PythonImplementation, gnu_triple
from manywheel.errors import InputError
from manywheel.policy import Libc

SPELLINGS = [
    "cp38-manylinux_x86_64",
    "cp311-manylinux_x86_64",
    "cp313t-manylinux_aarch64",
    "cp312-musllinux_x86_64",
    "pp310-manylinux_i686",
    "cp314-musllinux_armv7l",
]


@pytest.mark.parametrize("text", SPELLINGS)
def test_round_trip(text: str) -> None:
    assert str(BuildIdentifier.parse(text)) == text


def test_fields() -> None:
    ident = BuildIdentifier.parse("cp313t-musllinux_aarch64")
    assert ident.implementation is PythonImplementation.CPYTHON
    assert ident.version == (3, 13)
    assert ident.free_threaded
    assert ident.platform is Platform.MUSLLINUX
    assert ident.libc is Libc.MUSL
    assert ident.arch == "aarch64"
    assert ident.python == "cp313t"
    assert ident.version_text == "3.13t"


@pytest.mark.parametrize(
    "text",
    ["cp311", "cp311-macosx_x86_64", "cp311-manylinux_sparc", "pp313t-manylinux_x86_64", "x"],
)
def test_bad_spellings_are_input_errors(text: str) -> None:
    with pytest.raises(InputError, match=r"cp311-manylinux_x86_64|architecture|free-threaded"):
        BuildIdentifier.parse(text)


def test_order_is_version_then_threading_then_platform_then_arch() -> None:
    texts = [
        "cp313-musllinux_x86_64",
        "cp310-manylinux_aarch64",
        "cp313t-manylinux_x86_64",
        "cp39-manylinux_x86_64",
        "cp313-manylinux_x86_64",
        "cp310-manylinux_x86_64",
    ]
    ordered = [str(i) for i in sorted(BuildIdentifier.parse(t) for t in texts)]
    assert ordered == [
        "cp39-manylinux_x86_64",
        "cp310-manylinux_x86_64",
        "cp310-manylinux_aarch64",
        "cp313-manylinux_x86_64",
        "cp313-musllinux_x86_64",
        "cp313t-manylinux_x86_64",
    ]


@pytest.mark.parametrize(
    ("arch", "libc", "triple"),
    [
        ("x86_64", Libc.GLIBC, "x86_64-linux-gnu"),
        ("aarch64", Libc.MUSL, "aarch64-linux-musl"),
        ("ppc64le", Libc.GLIBC, "powerpc64le-linux-gnu"),
        ("armv7l", Libc.GLIBC, "arm-linux-gnueabihf"),
    ],
)
def test_gnu_triple(arch: str, libc: Libc, triple: str) -> None:
    assert gnu_triple(arch, libc) == triple
