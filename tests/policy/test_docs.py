"""The example in docs/policy-format.md runs and says what the text claims."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

DOC = Path(__file__).resolve().parents[2] / "docs" / "policy-format.md"


def test_the_documented_example() -> None:
    (code,) = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)
    namespace: dict[str, Any] = {"print": lambda *args: None}
    exec(compile(code, str(DOC), "exec"), namespace)
    verdict = namespace["verdict"]
    assert verdict.best.tag == "linux_x86_64"
    assert verdict.best_after_repair.tag == "manylinux_2_28_x86_64"
    for claim in re.findall(r"# '([a-z0-9_]+)'", code):
        assert claim in {verdict.best.tag, verdict.best_after_repair.tag}
