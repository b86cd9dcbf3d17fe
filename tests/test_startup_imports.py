"""What ``manywheel show`` of a small wheel imports: the modules only some runs need stay out.

A small wheel's ``show`` is mostly start-up (README, "Speed"), and each module below costs it
milliseconds: ``packaging`` (its ``tags`` brings ``platform``, ``sysconfig`` and
``subprocess``; plainly spelt filenames and Tag lines are checked without it),
``subprocess``/``shutil`` (only ``c++filt`` needs them, for C++ names), ``logging`` and
``traceback`` (only a record that could be shown loads them: ``manywheel.lazy.lazy_logger``),
``concurrent.futures`` (it loads ``logging``), ``inspect`` (with ``ast``, ``dis`` and
``tokenize``: :mod:`dataclasses` imports it, ``manywheel.values`` defers it), the ELF editor,
the wheel writer, the repair. The run is a real one, in a process of its own, on PyYAML 6.0.2
(one C extension, no C++ names), text and ``--json``, so an import that creeps back onto this
path fails here.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

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
    "logging",
    "traceback",
    "concurrent.futures",
    "inspect",  # dataclasses imports it for what value_class never asks (manywheel.values)
    "ast",
    "tokenize",
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


_LOGGING_PROBE = """
import sys
from pathlib import Path
from manywheel.lazy import lazy_logger, when_logging_loads

log = lazy_logger("manywheel.probe")
log.debug("dropped: nothing can show it")
log.info("dropped too")
assert "logging" not in sys.modules
events = []

def configure():
    import logging
    events.append("configured")
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(logging.Formatter("manywheel: %(message)s (%(funcName)s)"))
    root = logging.getLogger("manywheel")
    root.handlers[:] = [handler]
    root.propagate = False
    root.setLevel(logging.DEBUG if sys.argv[1] == "debug" else logging.WARNING)

undo = when_logging_loads(configure)
if sys.argv[1] == "other-importer":  # logging loaded by someone else: configured all the same
    import logging
    logging.getLogger("manywheel.direct").warning("direct")
else:

    def caller():
        log.warning("careful")
        log.debug("detail")

    caller()
undo()
print(events)
"""


@pytest.mark.parametrize(
    ("how", "expected"),
    [
        ("warning", ["manywheel: careful (caller)", "['configured']"]),
        ("debug", ["manywheel: careful (caller)", "manywheel: detail (caller)", "['configured']"]),
        ("other-importer", ["manywheel: direct (<module>)", "['configured']"]),
    ],
)
def test_logging_loads_when_a_record_could_be_shown_and_is_configured_first(
    how: str, expected: list[str]
) -> None:
    """A lazy logger drops debug and info records while ``logging`` is not loaded (nothing can
    have configured it to show them), loads it for a warning, and the CLI's configuration
    (``when_logging_loads``) is in place before the first record, whoever loads ``logging``;
    the caller's frame is the record's."""
    done = subprocess.run(
        [sys.executable, "-c", _LOGGING_PROBE, how], capture_output=True, text=True, check=True
    )
    assert done.stdout.splitlines() == expected, done.stderr


def test_logging_already_loaded_is_configured_at_once_and_undo_forgets_the_wait() -> None:
    probe = (
        "import sys; from manywheel.lazy import when_logging_loads; ran = []; "
        "undo = when_logging_loads(lambda: ran.append(1)); "
        "waiting = len(sys.meta_path); undo(); print(ran, waiting - len(sys.meta_path)); "
        "import logging; print(ran); when_logging_loads(lambda: ran.append(2)); print(ran)"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.splitlines() == ["[] 1", "[]", "[2]"]


def test_a_warning_without_v_is_shown_as_before(tmp_path: Path) -> None:
    """The CLI configures ``logging`` only when it loads: a warning from the audit (an
    ld.so.conf include cycle under ``--root``) still reaches stderr as ``manywheel: ...``, once
    per wheel, and the output is the same."""
    wheel = download_wheel("PyYAML==6.0.2", "manylinux2014_x86_64")
    (tmp_path / "etc/ld.so.conf.d").mkdir(parents=True)
    (tmp_path / "etc/ld.so.conf").write_text("include /etc/ld.so.conf.d/*.conf\n")
    (tmp_path / "etc/ld.so.conf.d/loop.conf").write_text("include /etc/ld.so.conf\n")
    done = subprocess.run(
        [sys.executable, "-m", "manywheel", "show", "--json", "--root", str(tmp_path), str(wheel)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr.splitlines() == [
        "manywheel: /etc/ld.so.conf: include cycle through /etc/ld.so.conf; not followed"
    ]
    assert json.loads(done.stdout)["wheel"] == wheel.name


def test_member_threads_hand_results_in_order_and_stop_at_the_first_error() -> None:
    """``stream_members``' threads (``concurrent.futures`` no longer): results reach the
    caller's thread in the batches' order; after an error no new batch starts, the running
    ones finish, the threads are gone, and the error is raised on the caller's thread."""
    import threading
    import time

    from manywheel.wheel.member_pass import _on_threads

    batches = [[i] for i in range(40)]
    started: list[int] = []

    def run(batch: list[int]) -> int:
        started.append(batch[0])
        time.sleep(0.001 * (batch[0] % 3))  # out of order
        if batch[0] == 5:
            raise ValueError("batch 5")
        return batch[0] * 10

    finished: list[tuple[int, int]] = []
    before = threading.active_count()
    with pytest.raises(ValueError, match="batch 5"):
        _on_threads(run, batches, 2, lambda b, r: finished.append((b[0], r)))
    assert finished == [(i, i * 10) for i in range(5)]
    assert len(started) < len(batches)  # the rest were never started
    assert threading.active_count() == before

    finished.clear()
    _on_threads(lambda b: b[0], batches[:7], 3, lambda b, r: finished.append((b[0], r)))
    assert finished == [(i, i) for i in range(7)]
