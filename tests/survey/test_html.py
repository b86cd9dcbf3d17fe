"""The HTML report is opened in headless Chromium, from disk with the network turned off, and its
screenshot is checked: the grid's cells and each chart's bars are there, in their colours, in
numbers that match the survey. The screenshot is kept (``test-artifacts/survey-report.png``, or
under ``$MANYWHEEL_TEST_ARTIFACTS``)."""

from __future__ import annotations

import io
import json
import os
import shutil
import struct
import subprocess
import zlib
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from manywheel.cli import main
from manywheel.survey.html import COLOURS
from tests.harness.availability import skip_or_fail
from tests.survey.test_local_index import INDEX_ARGS

ARTIFACTS = Path(
    os.environ.get("MANYWHEEL_TEST_ARTIFACTS") or Path(__file__).parents[2] / "test-artifacts"
)
_CHROMIUM_FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--hide-scrollbars", "--window-size=1400,2400",
)  # fmt: skip


def _chromium() -> str:
    names = ("chromium", "chromium-browser", "google-chrome")
    found = next((path for path in map(shutil.which, names) if path), None)
    if found is None:
        skip_or_fail("headless Chromium is not installed (apt-get install chromium)")
    return found


def _pixels(png: bytes) -> tuple[int, int, list[bytes]]:
    """Width, height and RGB rows of an 8-bit, non-interlaced RGB or RGBA PNG."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    pos, chunks = 8, []
    header = b""
    while pos < len(png):
        length, kind = struct.unpack(">I4s", png[pos : pos + 8])
        body = png[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            chunks.append(body)
        pos += 12 + length
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", header)
    assert (depth, interlace, colour in (2, 6)) == (8, 0, True)
    step = 3 if colour == 2 else 4
    raw = zlib.decompress(b"".join(chunks))
    stride = width * step
    rows: list[bytes] = []
    previous = bytearray(stride)
    for y in range(height):
        line = raw[y * (stride + 1) : (y + 1) * (stride + 1)]
        kind, data = line[0], bytearray(line[1:])
        if kind:
            _unfilter(kind, data, previous, step)
        previous = data
        rows.append(
            bytes(data) if step == 3 else bytes(b for i, b in enumerate(data) if i % 4 != 3)
        )
    return width, height, rows


def _unfilter(kind: int, data: bytearray, previous: bytearray, step: int) -> None:
    """PNG's filters undone in place (RFC 2083 6): sub, up, average, Paeth."""
    for x in range(len(data)):
        left = data[x - step] if x >= step else 0
        up = previous[x]
        corner = previous[x - step] if x >= step else 0
        if kind == 1:
            data[x] = (data[x] + left) & 0xFF
        elif kind == 2:
            data[x] = (data[x] + up) & 0xFF
        elif kind == 3:
            data[x] = (data[x] + (left + up) // 2) & 0xFF
        elif kind == 4:
            p = left + up - corner
            near = min((abs(p - left), 0, left), (abs(p - up), 1, up), (abs(p - corner), 2, corner))
            data[x] = (data[x] + near[2]) & 0xFF


def _colour_counts(rows: list[bytes]) -> Counter[bytes]:
    counts: Counter[bytes] = Counter()
    for row in rows:
        counts.update(row[i : i + 3] for i in range(0, len(row), 3))
    return counts


def _rgb(hex_colour: str) -> bytes:
    return bytes.fromhex(hex_colour.lstrip("#"))


@pytest.mark.slow
def test_the_report_in_a_browser(tmp_path: Path) -> None:
    chromium = _chromium()
    report, document = tmp_path / "survey.html", tmp_path / "survey.json"
    out, err = io.StringIO(), io.StringIO()
    code = main(["survey", *INDEX_ARGS, "--all", "--top", "150", "--audit", "--threads",
                 "--audit-max-size", "2M", "--no-cache", "--target", "cp313-manylinux_x86_64",
                 "-q", "--html", str(report), "--json", str(document)],
                stdout=out, stderr=err, environ={})  # fmt: skip
    assert code in (1, 3), err.getvalue()
    html = report.read_text()
    assert "<script" not in html and " src=" not in html and "url(" not in html
    assert oct(report.stat().st_mode & 0o777) != oct(0o600)  # a normal file, not a temp file's
    summary: dict[str, Any] = json.loads(document.read_text())["summary"]

    shot = tmp_path / "report.png"
    subprocess.run(
        [chromium, *_CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}",
         f"--screenshot={shot}", report.as_uri()],
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shutil.copy(shot, ARTIFACTS / "survey-report.png")
    width, height, rows = _pixels(shot.read_bytes())
    assert (width, height) == (1400, 2400)
    counts = _colour_counts(rows)
    cell = 112 * 36  # a grid cell's pixels, less its text
    binary, pure = summary["kinds"]["binary"], summary["kinds"]["pure"]
    assert counts[_rgb(COLOURS["binary"])] > 0.5 * cell * binary
    assert counts[_rgb(COLOURS["pure"])] > 0.5 * cell * pure
    for chart in ("platforms", "pythons", "glibc"):
        assert counts[_rgb(COLOURS[chart])] > 2000, chart
    # the grid comes first, then the charts: every green cell above the first blue bar
    first = {name: next(y for y, row in enumerate(rows) if _rgb(COLOURS[name]) in _triples(row))
             for name in ("binary", "platforms")}  # fmt: skip
    assert first["binary"] < first["platforms"]


def _triples(row: bytes) -> set[bytes]:
    return {row[i : i + 3] for i in range(0, len(row), 3)}
