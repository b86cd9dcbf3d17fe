"""The shipped policies, loaded once for the whole test package (loading is pure)."""

from __future__ import annotations

import pytest

from manywheel.policy import PolicySet, load_policies


@pytest.fixture(scope="session")
def policies() -> PolicySet:
    return load_policies()
