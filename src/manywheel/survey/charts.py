"""Small inline SVG charts for the HTML report: horizontal bars with labels and counts. Static
markup, no script: the report opens from disk with no network."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

__all__ = ["bar_chart"]

_ROW = 22
_LABEL = 190
_VALUE = 110
_TOP = 8


def bar_chart(
    items: Sequence[tuple[str, int]],
    *,
    title: str,
    colour: str,
    total: int | None = None,
    width: int = 560,
) -> str:
    """A horizontal bar chart of ``(label, count)``; shares of ``total`` when given."""
    if not items:
        return f'<figure class="chart"><figcaption>{escape(title)}</figcaption><p>none</p></figure>'
    biggest = max(1, *(count for _, count in items))
    span = width - _LABEL - _VALUE
    height = _TOP * 2 + _ROW * len(items)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}">'
    ]
    for i, (label, count) in enumerate(items):
        y = _TOP + i * _ROW
        length = max(2, round(span * count / biggest)) if count else 0
        share = f" ({100 * count / total:.0f}%)" if total else ""
        parts.append(
            f'<text x="{_LABEL - 8}" y="{y + 15}" text-anchor="end">{escape(label)}</text>'
            f'<rect x="{_LABEL}" y="{y + 3}" width="{length}" height="{_ROW - 6}" '
            f'fill="{colour}"><title>{escape(label)}: {count}{share}</title></rect>'
            f'<text x="{_LABEL + length + 6}" y="{y + 15}">{count}{share}</text>'
        )
    parts.append("</svg>")
    return (
        f'<figure class="chart"><figcaption>{escape(title)}</figcaption>{"".join(parts)}</figure>'
    )
