"""``SOURCE_DATE_EPOCH`` (reproducible-builds.org's specification), read once for every command
that writes a time.

The value must be a decimal integer of seconds since 1970-01-01 UTC, from 0 to
:data:`LAST_EPOCH` (9999-12-31 23:59:59, the last second a date can name); anything else is a
usage error (exit 2), as the specification asks ("the build process SHOULD exit with a non-zero
error code"). An empty value counts as unset. Zip times are then clamped to what zip can store,
1980-01-01 to 2107-12-31 (see :func:`manywheel.wheel.epoch_to_dos`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from manywheel.errors import ManywheelError

__all__ = ["LAST_EPOCH", "source_date_epoch"]

#: 9999-12-31 23:59:59 UTC.
LAST_EPOCH = 253402300799
_INTEGER = re.compile(r"[0-9]{1,12}", re.ASCII)


def source_date_epoch(environ: Mapping[str, str]) -> int | None:
    """The value of ``SOURCE_DATE_EPOCH``, ``None`` when unset or empty."""
    text = environ.get("SOURCE_DATE_EPOCH", "")
    if not text:
        return None
    if _INTEGER.fullmatch(text) is None or int(text) > LAST_EPOCH:
        shown = text if len(text) <= 40 else text[:40] + "..."
        raise ManywheelError(
            f"SOURCE_DATE_EPOCH={shown!r} is not a number of seconds from 0 to {LAST_EPOCH} "
            "(9999-12-31)"
        )
    return int(text)
