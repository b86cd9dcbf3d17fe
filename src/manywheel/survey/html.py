"""The survey as one static HTML file: a pythonwheels-style grid of the packages coloured by what
they ship, coverage charts (inline SVG) per platform, Python version and oldest glibc, the
mislabelled wheels with their reasons, what is missing for the target, and a table of every
package. No script, no external resource (a Content-Security-Policy forbids them): it opens
from disk with no server and no network."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

from manywheel.survey.charts import bar_chart
from manywheel.survey.documents import Row
from manywheel.survey.results import Summary
from manywheel.survey.text import compact_platforms, compact_pythons, totals

__all__ = ["COLOURS", "render_html"]

#: Grid colours by release kind (and for packages not surveyed), and the charts' colours.
COLOURS = {
    "binary": "#2da44e",
    "pure": "#8fd19e",
    "sdist-only": "#cf222e",
    "no-files": "#8c959f",
    "unsurveyed": "#57606a",
    "platforms": "#0969da",
    "pythons": "#8250df",
    "glibc": "#bf8700",
}
_LEGEND = (
    ("binary", "platform wheels"),
    ("pure", "pure wheels only"),
    ("sdist-only", "source only"),
    ("no-files", "nothing installable"),
    ("unsurveyed", "not surveyed"),
)
_CHART_ROWS = 16

_STYLE = """
body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#1f2328;background:#fff}
h1{font-size:24px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 8px}
.meta{color:#57606a;margin:0}.totals{margin:8px 0;padding:0;list-style:none}
.grid{display:flex;flex-wrap:wrap;gap:3px;max-width:1200px}
.cell{display:block;width:112px;height:36px;padding:3px 5px;box-sizing:border-box;color:#fff;
font-size:11px;line-height:14px;overflow:hidden;text-overflow:ellipsis;white-space:nowrap;
text-decoration:none;border-radius:3px}
.legend span{display:inline-block;width:14px;height:14px;margin:0 4px 0 12px;vertical-align:-2px}
.charts{display:flex;flex-wrap:wrap;gap:24px}.chart{margin:0}
.chart figcaption{font-weight:600;margin-bottom:4px}.chart text{font-size:12px;fill:#1f2328}
table{border-collapse:collapse;font-size:12px}th,td{border:1px solid #d0d7de;padding:3px 6px;
text-align:left;vertical-align:top}th{background:#f6f8fa}
.reasons{margin:0;padding-left:16px;color:#57606a}
"""


def _cell_colour(row: Row) -> str:
    if not row.kind or row.status in ("error", "not-found"):
        return COLOURS["unsurveyed"]
    return COLOURS[row.kind]


def _grid(rows: Sequence[Row]) -> str:
    cells = []
    for row in rows:
        label = f"{row.name} {row.version}: {row.kind or row.status}"
        if row.problems:
            label += f" — {row.problems[0]}"
        cells.append(
            f'<a class="cell" style="background:{_cell_colour(row)}" href="#p-{escape(row.name)}"'
            f' title="{escape(label)}">{escape(row.name)}<br>{escape(row.version)}</a>'
        )
    legend = "".join(
        f'<span style="background:{COLOURS[key]}"></span>{escape(text)}' for key, text in _LEGEND
    )
    return f'<div class="grid">{"".join(cells)}</div><p class="legend">{legend}</p>'


def _charts(summary: Summary) -> str:
    binary = summary.kinds.get("binary", 0)
    kinds = [(k, summary.kinds[k]) for k, _ in _LEGEND if summary.kinds.get(k)]
    glibc = sorted(summary.oldest_glibc.items(), key=lambda i: tuple(map(int, i[0].split("."))))
    charts = [
        bar_chart(
            kinds,
            title="Packages by what they ship",
            colour=COLOURS["binary"],
            total=summary.packages,
        ),
        bar_chart(
            summary.families.most_common(_CHART_ROWS),
            title="Binary packages with wheels, per platform",
            colour=COLOURS["platforms"],
            total=binary,
        ),
        bar_chart(
            summary.pythons.most_common(_CHART_ROWS),
            title="Binary packages with wheels, per Python",
            colour=COLOURS["pythons"],
            total=binary,
        ),
        bar_chart(
            glibc, title="Oldest glibc served (manylinux)", colour=COLOURS["glibc"], total=binary
        ),
    ]
    return f'<div class="charts">{"".join(charts)}</div>'


def _mislabelled(rows: Sequence[Row]) -> str:
    found = [m for r in rows for m in r.mislabels]
    if not found:
        return "<p>No audited wheel claims a tag it does not satisfy.</p>"
    body = "".join(
        f"<tr><td>{escape(m.package)}</td><td>{escape(m.filename)}</td><td>{escape(m.claimed)}</td>"
        f"<td>{escape(m.best)}</td><td><ul class=reasons>"
        + "".join(f"<li>{escape(r)}</li>" for r in _few(m.reasons))
        + "</ul></td></tr>"
        for m in found
    )
    return (
        "<table><tr><th>package</th><th>wheel</th><th>claims</th><th>is, as it is</th>"
        f"<th>why</th></tr>{body}</table>"
    )


def _few(reasons: tuple[str, ...], shown: int = 4) -> tuple[str, ...]:
    counted = sum(not r.startswith("… and ") for r in reasons)
    if counted <= shown:
        return reasons
    more = counted - shown
    tail = reasons[-1]
    if tail.startswith("… and "):  # the record keeps the first few and counts the rest
        more += int(tail.split()[2])
    return (*reasons[:shown], f"… and {more} more")


def _missing(rows: Sequence[Row], target: str) -> str:
    missing = [r for r in rows if r.target in ("sdist", "missing")]
    if not missing:
        return f"<p>Every surveyed package has a wheel for {escape(target)}.</p>"
    body = "".join(
        f"<tr><td>{escape(r.name)}</td><td>{escape(r.version)}</td><td>{escape(r.target)}</td>"
        f"<td>{escape(r.target_reason)}</td></tr>"
        for r in missing
    )
    head = "<th>package</th><th>version</th><th>install</th><th>why no wheel</th>"
    return f"<table><tr>{head}</tr>{body}</table>"


def _table(rows: Sequence[Row], target: str | None, audit: bool) -> str:
    head = "<th>#</th><th>package</th><th>version</th><th>kind</th><th>platforms</th>"
    head += "<th>pythons</th><th>oldest glibc</th>"
    head += "<th>target</th>" if target else ""
    head += "<th>audit</th>" if audit else ""
    lines = []
    for row in rows:
        cells = [
            str(row.rank or ""),
            row.name,
            row.version,
            row.kind or row.status,
            compact_platforms(row.platforms),
            compact_pythons(row.pythons),
            row.oldest_glibc,
        ]
        if target:
            cells.append(row.target + (f": {row.target_reason}" if row.target_reason else ""))
        if audit:
            cells.append(", ".join(row.findings) or f"{row.audited} wheels")
        if row.problems:
            cells[3] += ": " + "; ".join(row.problems)
        tds = "".join(f"<td>{escape(c)}</td>" for c in cells)
        lines.append(f'<tr id="p-{escape(row.name)}">{tds}</tr>')
    return f"<table><tr>{head}</tr>{''.join(lines)}</table>"


def render_html(rows: Sequence[Row], summary: Summary, meta: Mapping[str, Any]) -> str:
    """The whole report. ``meta``: ``indexes``, ``generated``, ``target``, ``audit``."""
    target = meta.get("target")
    audit = bool(meta.get("audit"))
    indexes = ", ".join(map(str, meta.get("indexes", ())))
    items = "".join(f"<li>{escape(t)}</li>" for t in totals(summary, target=target, audit=audit))
    generated = escape(str(meta.get("generated", "")))
    version = escape(str(meta.get("manywheel_version", "")))
    sections = [
        f"<h1>Wheel survey</h1><p class=meta>{escape(indexes)} · {generated} · manywheel "
        f"{version}</p><ul class=totals>{items}</ul>",
        f'<section id="grid"><h2>Packages</h2>{_grid(rows)}</section>',
        f'<section id="charts"><h2>Coverage</h2>{_charts(summary)}</section>',
    ]
    if audit:
        sections.append(
            f'<section id="mislabelled"><h2>Mislabelled wheels</h2>{_mislabelled(rows)}</section>'
        )
    if target:
        missing = _missing(rows, target)
        sections.append(
            f'<section id="target"><h2>Missing for {escape(target)}</h2>{missing}</section>'
        )
    sections.append(
        f'<section id="all"><h2>Every package</h2>{_table(rows, target, audit)}</section>'
    )
    csp = "default-src 'none'; style-src 'unsafe-inline'"
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{csp}">'
        f"<title>manywheel survey</title><style>{_STYLE}</style></head><body>"
        + "".join(sections)
        + "</body></html>\n"
    )
