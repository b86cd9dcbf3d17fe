"""A shell script run in a private mount namespace, so that it may mount a small or read-only
tmpfs (a full disk, a read-only wheel directory, a full TMPDIR) without touching the host."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Mapping

from tests.harness.availability import skip_or_fail

__all__ = ["in_private_mounts"]


def in_private_mounts(script: str, env: Mapping[str, str]) -> subprocess.CompletedProcess[str]:
    """Run ``script`` (``sh -eu``) in a private mount namespace, with ``PATH`` and ``env``
    only; skip (or fail in CI) where that needs root and ``unshare`` and they are missing."""
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        skip_or_fail("needs root and unshare to mount a small or read-only tmpfs")
    environ = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **env}
    return subprocess.run(
        ["unshare", "--mount", "sh", "-euc", script],
        capture_output=True,
        text=True,
        env=environ,
        check=False,
    )
