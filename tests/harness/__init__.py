"""Proof that a wheel really works on a clean system: Debian roots and wheels built from sdists.

Typical use in a repair test (fixtures from :mod:`tests.harness.fixtures`)::

    def test_repaired_pyyaml_imports(bookworm_root: Path, sdist_wheel: SdistWheelBuilder) -> None:
        wheel = sdist_wheel("pyyaml", python="3.11")
        before = install_and_import(bookworm_root, wheel, "yaml._yaml")
        assert before.outcome is Outcome.IMPORT_FAILED
        assert "libyaml-0.so.2: cannot open shared object file" in before.stderr
"""

from tests.harness.availability import (
    REQUIRE_ROOTS_ENV,
    Unavailable,
    namespace_problems,
    require,
    skip_or_fail,
    skips_become_failures,
)
from tests.harness.cache import HarnessCache
from tests.harness.install import ImportResult, Outcome, install_and_import, unzip_and_import
from tests.harness.namespace import inside, run_in_root
from tests.harness.roots import (
    SUITES,
    Suite,
    debian_root,
    host_debian_mirror,
    root_archive,
    scratch_base,
)
from tests.harness.sdists import (
    PROJECTS,
    SdistProject,
    apt_packages_for,
    build_sdist_wheel,
    ensure_apt_packages,
    find_python,
    missing_apt_packages,
)

__all__ = [
    "PROJECTS",
    "REQUIRE_ROOTS_ENV",
    "SUITES",
    "HarnessCache",
    "ImportResult",
    "Outcome",
    "SdistProject",
    "Suite",
    "Unavailable",
    "apt_packages_for",
    "build_sdist_wheel",
    "debian_root",
    "ensure_apt_packages",
    "find_python",
    "host_debian_mirror",
    "inside",
    "install_and_import",
    "missing_apt_packages",
    "namespace_problems",
    "require",
    "root_archive",
    "run_in_root",
    "scratch_base",
    "skip_or_fail",
    "skips_become_failures",
    "unzip_and_import",
]
