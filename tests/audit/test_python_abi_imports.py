"""The Python-tag verdict (see test_python_abi) proven on real interpreters: a wheel it judges
honest installs with pip and runs there, and the mislabelled twin it flags really fails to
import on the interpreter its tag names.

- **abi3t** (PEP 803): ``abi3t315`` (``Py_TARGET_ABI3T`` 3.15, CPython 3.15.2's headers, see
  abi_fixtures) in a ``cp315-abi3.abi3t`` wheel — the compressed tag PEP 803 asks abi3t 3.15
  builds to carry — is clean for ``show`` and ``check``, and pip-installs and runs under Debian
  sid's ``python3.15`` (3.15.2) in a clean sid root.
- **free-threaded**: ``ft313`` built against the free-threaded CPython 3.13t's own headers (the
  harness builds it from trixie's python3.13 source, cached) in a ``cp313-cp313t`` wheel is
  clean, installs and runs under that 3.13t with the GIL still disabled; its sibling without a
  ``Py_mod_gil`` slot imports too, with CPython's warning that it re-enabled the GIL.
- **the twins** the verdict flags fail where their tag sends them: ``ft313`` relabelled
  ``cp313-cp313`` (``free-threaded-build``) does not load on trixie's GIL-enabled python3.13,
  which lacks the refcount function the verdict names, while ``gil313`` (the same source built
  with pyenv 3.13's GIL-enabled headers) runs there; ``gil313`` in a ``cp313t`` wheel
  (``gil-build``) fails under 3.13t, not found under its ``.cpython-313-`` name, and under a
  ``.cpython-313t-`` name found but refused ("init function ... returned uninitialized
  object": its static PyModuleDef has the GIL-enabled ``PyObject`` layout). That last verdict
  was "ok" before this test existed: the judgment now reads the GIL-enabled build's
  ``Py_DECREF`` (a call of ``_Py_Dealloc``, no free-threaded refcount function) in a
  version-specific free-threaded claim. A GIL-enabled module that never decrefs leaves no
  such trace, and still passes under a ``t`` name.

Not proven here, because this machine cannot: an abi3t module under a *free-threaded* 3.15,
abi3t's point. Debian sid ships no free-threaded 3.15 (no ``python3.15t``/``-nogil`` package;
``apt-cache search`` in a sid root, December 2026), and the mirror serves no ``python3.15``
source package to build one from (``apt-get source`` gets 404s), as the harness does for 3.13t.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from manywheel.build.roots import RootSpec, RootStore
from manywheel.build.roots_python import BuiltPython
from manywheel.cli import main
from tests.audit.abi_fixtures import AbiModules, build_abi_modules, build_free_threading_modules
from tests.harness.availability import Unavailable, skip_or_fail
from tests.harness.cache import HarnessCache
from tests.harness.extensions import write_wheel
from tests.harness.fixtures import FREE_THREADED, session_root
from tests.harness.install import ImportResult, Outcome, install_and_import
from tests.harness.namespace import inside

pytestmark = [pytest.mark.root, pytest.mark.slow]

X86 = "x86_64-linux-gnu"
PLATFORM = "manylinux_2_17_x86_64"
#: sid with CPython 3.15 (its python3 is another version).
SID_315 = RootSpec("sid", packages=("python3.15-venv",))


def _cli(*argv: str) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), stdout=out, stderr=err, environ={})
    return code, out.getvalue() + err.getvalue()


def _judged(wheel: Path) -> dict[str, object]:
    """``show --json-details``'s Python-tag verdict, after ``check`` passed the wheel."""
    code, output = _cli("check", str(wheel))
    assert code == 0, output
    code, output = _cli("show", "--json-details", str(wheel))
    assert code == 0, output
    verdict: dict[str, object] = json.loads(output)["wheels"][0]["python_abi"]
    return verdict


def _problems(wheel: Path) -> list[dict[str, Any]]:
    """The problems ``show --json-details`` finds; ``check`` must fail the wheel."""
    code, output = _cli("check", str(wheel))
    assert code == 1, output
    code, output = _cli("show", "--json-details", str(wheel))
    assert code == 0, output
    problems: list[dict[str, Any]] = json.loads(output)["wheels"][0]["python_abi"]["problems"]
    return problems


def _imported(result: ImportResult) -> list[str]:
    assert result.ok, f"{result.outcome}: {result.stdout}\n{result.stderr}"
    return result.stdout.splitlines()


# --- abi3t under CPython 3.15 ----------------------------------------------------------------


@pytest.fixture(scope="module")
def sid_315(harness_cache: HarnessCache) -> Iterator[Path]:
    """A clean sid root with python3.15 (and the root's own pip)."""
    yield from session_root(SID_315, harness_cache)


@pytest.fixture(scope="module")
def abi_modules(tmp_path_factory: pytest.TempPathFactory) -> AbiModules:
    try:
        return build_abi_modules(tmp_path_factory.mktemp("abi-modules"))
    except Unavailable as e:
        skip_or_fail(str(e))


def test_abi3t_wheel_judged_clean_installs_and_runs_on_cpython_315(
    abi_modules: AbiModules, sid_315: Path, tmp_path: Path
) -> None:
    name = "abi3t315.abi3t.so"
    wheel = write_wheel(
        tmp_path,
        "abi3t315",
        "1.0",
        f"cp315-abi3.abi3t-{PLATFORM}",
        {name: abi_modules.data("abi3t315")},
    )
    verdict = _judged(wheel)
    assert (verdict["ok"], verdict["tags"]) == (True, ["cp315-abi3", "cp315-abi3t"])
    code = (
        "import sys, os; print(sys.version_info[:3], sys._is_gil_enabled());"
        "print(os.path.basename(abi3t315.__file__), abi3t315.answer())"
    )
    result = install_and_import(sid_315, wheel, "abi3t315", code=code, python="python3.15")
    version, loaded = _imported(result)
    assert version.startswith("(3, 15, ") and version.endswith(" True"), version
    assert loaded == f"{name} 42"


# --- free-threaded CPython 3.13t ---------------------------------------------------------------


@pytest.fixture(scope="module")
def free_threaded_root(free_threaded_python: BuiltPython, root_store: RootStore) -> Iterator[Path]:
    """trixie (python3.13, GIL-enabled) with the harness's CPython 3.13t over it."""
    with root_store.scratch(
        FREE_THREADED.runtime_root, overlays=[free_threaded_python.overlay]
    ) as root:
        yield root


@pytest.fixture(scope="module")
def ft_modules(
    free_threaded_python: BuiltPython,
    free_threaded_root: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> AbiModules:
    include = inside(free_threaded_root, free_threaded_python.recipe.prefix / "include")
    try:
        return build_free_threading_modules(
            tmp_path_factory.mktemp("ft-modules"), include / "python3.13t"
        )
    except Unavailable as e:
        skip_or_fail(str(e))


def test_free_threaded_wheel_judged_clean_runs_without_the_gil(
    ft_modules: AbiModules,
    free_threaded_python: BuiltPython,
    free_threaded_root: Path,
    tmp_path: Path,
) -> None:
    files = {
        f"ft313.cpython-313t-{X86}.so": ft_modules.data("ft313"),
        f"ft313gil.cpython-313t-{X86}.so": ft_modules.data("ft313gil"),
    }
    wheel = write_wheel(tmp_path, "ft313", "1.0", f"cp313-cp313t-{PLATFORM}", files)
    verdict = _judged(wheel)
    assert (verdict["ok"], verdict["tags"]) == (True, ["cp313-cp313t"])
    code = (
        "import sys, warnings; print(ft313.answer(), sys._is_gil_enabled())\n"
        "with warnings.catch_warnings(record=True) as caught:\n"
        "    warnings.simplefilter('always'); import ft313gil\n"
        "print(ft313gil.answer(), sys._is_gil_enabled())\n"
        "print(*[f'{w.category.__name__}: {w.message}' for w in caught], sep='\\n')"
    )
    python = str(free_threaded_python.python)
    result = install_and_import(free_threaded_root, wheel, "ft313", code=code, python=python)
    declared, undeclared, *warnings = _imported(result)
    assert declared == "42 False"  # Py_mod_gil = Py_MOD_GIL_NOT_USED: the GIL stays off
    assert undeclared == "42 True"  # without it, importing the module turned the GIL on
    assert warnings == [
        "RuntimeWarning: The global interpreter lock (GIL) has been enabled to load module "
        "'ft313gil', which has not declared that it can run safely without the GIL. To "
        "override this behavior and keep the GIL disabled (at your own risk), run with "
        "PYTHON_GIL=0 or -Xgil=0."
    ]


def test_on_the_gil_build_the_gil_module_runs_and_the_free_threaded_one_fails(
    ft_modules: AbiModules, free_threaded_root: Path, tmp_path: Path
) -> None:
    """trixie's GIL-enabled python3.13: ``gil313`` in a clean cp313-cp313 wheel runs; ``ft313``
    relabelled cp313-cp313 fails to load for want of a symbol the verdict names."""
    honest = write_wheel(
        tmp_path,
        "gil313",
        "1.0",
        f"cp313-cp313-{PLATFORM}",
        {f"gil313.cpython-313-{X86}.so": ft_modules.data("gil313")},
    )
    assert _judged(honest)["ok"] is True
    result = install_and_import(
        free_threaded_root, honest, "gil313", code="print(gil313.answer())", python="python3.13"
    )
    assert _imported(result) == ["42"]
    files = {f"ft313.cpython-313-{X86}.so": ft_modules.data("ft313")}
    wheel = write_wheel(tmp_path, "ft313", "1.0", f"cp313-cp313-{PLATFORM}", files)
    (problem,) = _problems(wheel)
    assert problem["kind"] == "free-threaded-build"
    result = install_and_import(free_threaded_root, wheel, "ft313", python="python3.13")
    assert result.outcome is Outcome.IMPORT_FAILED, result
    missing = re.search(r"undefined symbol: (\w+)", result.stderr)
    assert missing is not None, result.stderr
    assert missing.group(1) in problem["symbols"]


@pytest.mark.parametrize(
    ("flags", "kinds", "error"),
    [
        # named for 3.13: 3.13t looks for *.cpython-313t-*.so only
        ("", ["gil-build", "wrong-suffix"], "ModuleNotFoundError: No module named 'gil313'"),
        # named for 3.13t: found, and its static PyModuleDef read with the other PyObject layout
        ("t", ["gil-build"], "SystemError: init function of gil313 returned uninitialized object"),
    ],
    ids=["named-cp313", "named-cp313t"],
)
def test_gil_module_in_a_free_threaded_wheel_fails_there(  # noqa: PLR0917 (fixtures, parameters)
    ft_modules: AbiModules,
    free_threaded_python: BuiltPython,
    free_threaded_root: Path,
    tmp_path: Path,
    flags: str,
    kinds: list[str],
    error: str,
) -> None:
    """The GIL-enabled build of the same source in a cp313t wheel fails under 3.13t, whatever
    its file name; the verdict says why (its Py_DECREF calls _Py_Dealloc)."""
    files = {f"gil313.cpython-313{flags}-{X86}.so": ft_modules.data("gil313")}
    wheel = write_wheel(tmp_path, "gil313", "1.0", f"cp313-cp313t-{PLATFORM}", files)
    assert sorted(p["kind"] for p in _problems(wheel)) == kinds
    python = str(free_threaded_python.python)
    result = install_and_import(free_threaded_root, wheel, "gil313", python=python)
    assert result.outcome is Outcome.IMPORT_FAILED, result
    assert error in result.stderr, result.stderr
