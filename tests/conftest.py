"""Suite-wide settings. Package-specific fixtures live in each test package's conftest."""
