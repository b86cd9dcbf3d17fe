"""The harness fixtures for the harness's own tests.

(Other test packages get them from ``pytest_plugins = ["tests.harness.fixtures"]`` in
``tests/conftest.py``; a non-root conftest may not declare plugins, so re-export them here.)
"""

from tests.harness.fixtures import (
    bookworm_root,
    bullseye_root,
    harness_cache,
    sdist_wheel,
    trixie_root,
)

__all__ = ["bookworm_root", "bullseye_root", "harness_cache", "sdist_wheel", "trixie_root"]
