"""Suite-wide settings. Package-specific fixtures live in each test package's conftest; the
clean-system harness (Debian roots, sdist wheels) is shared by all."""

pytest_plugins = ["tests.harness.fixtures", "tests.repair.fixtures"]
