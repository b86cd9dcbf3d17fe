"""What ``manywheel show`` of a small wheel imports: the modules only some runs need stay out.

A small wheel's ``show`` is mostly start-up (README, "Speed"), and each module below costs it
milliseconds: ``packaging`` (its ``tags`` brings ``platform``, ``sysconfig`` and
``subprocess``; plainly spelt filenames and Tag lines are checked without it),
``subprocess``/``shutil`` (only ``c++filt`` needs them, for C++ names), the ELF editor, the wheel writer, the repair. The run is a real one, in a process
of its own, on PyYAML 6.0.2 (one C extension, no C++ names), text and ``--json``, so an import
that creeps back onto this path fails here.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.harness.downloads import download_wheel

#: Never loaded by ``show`` of a wheel like PyYAML's.
NOT_IMPORTED = (
    "packaging",
    "packaging.tags",
    "packaging.utils",
    "packaging.version",
    "platform",
    "sysconfig",
    "subprocess",
    "shutil",
    "manywheel.elf.editor",
    "manywheel.wheel.writer",
    "manywheel.repair",
    "manywheel.build",
    "manywheel.survey",
)

_PROBE = """
import io, json, sys
from manywheel.cli import main
out = io.StringIO()
code = main(sys.argv[1:], stdout=out)
print(json.dumps({"code": code, "modules": sorted(sys.modules), "out": out.getvalue()}))
"""


@pytest.mark.parametrize("flags", [[], ["--json"]], ids=["text", "json"])
def test_show_of_a_small_wheel_leaves_the_heavy_modules_out(flags: list[str]) -> None:
    wheel = download_wheel("PyYAML==6.0.2", "manylinux2014_x86_64")
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, "show", *flags, str(wheel)],
        capture_output=True,
        text=True,
        check=True,
    )
    result = json.loads(done.stdout)
    assert result["code"] == 0, done.stderr
    assert "manylinux_2_17_x86_64" in result["out"]  # the audit really ran
    loaded = set(result["modules"])
    assert "manywheel.audit" in loaded
    assert sorted(m for m in NOT_IMPORTED if m in loaded) == []


def test_a_filename_packaging_must_judge_still_loads_it() -> None:
    """The fallback is real: a filename off the plain path is validated by ``packaging``."""
    probe = (
        "import sys; from manywheel.wheel import WheelFilename; "
        "WheelFilename.parse('foo_-1.0-py3-none-any.whl'); print('packaging.utils' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "True"
