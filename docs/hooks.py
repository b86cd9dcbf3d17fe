"""mkdocs hooks: pages that quote the repository's top-level files, so each text has one home.

``{{ readme:Heading }}`` in a page becomes that ``## Heading`` section of README.md; the
``changelog.md`` page is CHANGELOG.md."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
_MARKER = re.compile(r"\{\{ readme:(?P<heading>[^}]+) \}\}")


def readme_section(heading: str) -> str:
    """The body of README.md's ``## heading`` section (up to the next ``## ``)."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    match = re.search(rf"^## {re.escape(heading)}\n(?P<body>.*?)(?=^## |\Z)", text, re.M | re.S)
    if match is None:
        raise ValueError(f"README.md has no section {heading!r}")
    # README's links are from the top directory; the site's from docs/
    body = match["body"].replace("](docs/", "](").replace("](CHANGELOG.md)", "](changelog.md)")
    return body.strip() + "\n"


def on_page_markdown(markdown: str, page: Any, **_: Any) -> str:
    if page.file.src_uri == "changelog.md":
        return (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    return _MARKER.sub(lambda m: readme_section(m["heading"]), markdown)
