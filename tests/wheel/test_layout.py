"""Where members install: the wheel format's rules, in one place."""

from __future__ import annotations

import pytest

from manywheel.wheel import data_scheme, in_scheme, is_script, site_packages_path


@pytest.mark.parametrize(
    ("member", "scheme", "site_packages", "script"),
    [
        ("pkg/mod.so", None, "pkg/mod.so", False),
        ("mod.so", None, "mod.so", False),
        ("pkg-1.0.data/platlib/pkg/mod.so", ("platlib", "pkg/mod.so"), "pkg/mod.so", False),
        ("pkg-1.0.data/purelib/mod.so", ("purelib", "mod.so"), "mod.so", False),
        ("pkg-1.0.data/scripts/tool", ("scripts", "tool"), None, True),
        ("pkg-1.0.data/scripts/sub/tool", ("scripts", "sub/tool"), None, False),
        ("pkg-1.0.data/data/share/x", ("data", "share/x"), None, False),
        ("pkg-1.0.data/headers/x.h", ("headers", "x.h"), None, False),
        ("pkg-1.0.data/loose", None, "pkg-1.0.data/loose", False),
        ("pkg.datax/platlib/m.so", None, "pkg.datax/platlib/m.so", False),
        ("pkg-1.0.dist-info/METADATA", None, "pkg-1.0.dist-info/METADATA", False),
    ],
    ids=[
        "package",
        "top-level",
        "platlib",
        "purelib",
        "script",
        "script-subdirectory",
        "data",
        "headers",
        "no-scheme",
        "not-data",
        "dist-info",
    ],
)
def test_where_a_member_installs(
    member: str, scheme: tuple[str, str] | None, site_packages: str | None, script: bool
) -> None:
    assert data_scheme(member) == scheme
    assert site_packages_path(member) == site_packages
    assert is_script(member) is script
    assert in_scheme(member, "purelib") is (scheme is not None and scheme[0] == "purelib")
