"""What the audit proofs share: a chosen subset of the local indexes' wheels (small, and covering
the cases: a filename claiming an older glibc than its symbols need, a musllinux claim on a glibc
binary, libraries outside the policy found and not found, a clean wheel, a big ELF member read
sparsely), and the field-by-field comparison of a survey's audit record with ``manywheel show``."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

from manywheel.cli import main

__all__ = [
    "AUDITED",
    "MISLABELLED",
    "PYTHON_ABI_MISLABELLED",
    "compare_with_show",
    "show_details",
]

#: Package names (the latest release of each) for the audit proofs, and what each shows.
AUDITED = {
    "wasmtime": "manylinux1 claimed, GLIBC_2.28 symbols: mislabelled (a 9 MB ELF member)",
    "maturin": "musllinux_1_1 claimed on a glibc binary",
    "lightgbm": "libgomp from outside the wheel: a repair grafts it",
    "pyodbc": "libodbc not found: no tag but linux_x86_64",
    "aiohttp": "a clean manylinux wheel",
    "pyyaml": "a clean manylinux wheel",
    "ujson": "two wheels of one release",
}
#: A wheel whose Python tag is untrue: cp39-abi3, but a module uses a 3.10 Stable ABI symbol.
PYTHON_ABI_MISLABELLED = "protobuf-6.33.6-cp39-abi3-manylinux2014_x86_64.whl"
#: The wheel whose name claims an older manylinux than its symbols allow.
MISLABELLED = "wasmtime-49.0.0-py3-none-manylinux1_x86_64.whl"


def show_details(path: Path) -> dict[str, Any]:
    out = io.StringIO()
    code = main(["show", "--json-details", str(path)], stdout=out, stderr=io.StringIO(),
                environ={})  # fmt: skip
    assert code == 0, out.getvalue()
    wheel: dict[str, Any] = json.loads(out.getvalue())["wheels"][0]
    return wheel


def compare_with_show(record: dict[str, Any], path: Path) -> None:
    """The survey's record of ``path`` says what ``manywheel show`` says of it: the tags as it
    is and after repair, the ELF members, each claimed tag's verdict and reasons, and the
    hygiene flags per member."""
    show = show_details(path)
    assert record["error"] is None, record
    assert record["best"] == show["as_is"]["tag"]
    assert record["best_after_repair"] == show["after_repair"]["tag"]
    assert record["elf_members"] == len(show["members"])
    claimed = set(record["claimed"])
    refused: dict[tuple[str, ...], list[str]] = {}
    for policy in show["policies"]:
        named = {policy["tag"], *policy["aliases"]} & claimed
        if named and not policy["allowed"] and not policy["tag"].startswith("linux_"):
            refused[tuple(sorted(named))] = list(
                dict.fromkeys(r["message"] for r in policy["reasons"])
            )
    listed = {t for policy in show["policies"] for t in (policy["tag"], *policy["aliases"])}
    for tag in claimed - listed:  # show lists the applicable policies: another libc or arch
        refused[(tag,)] = []
    mislabels = {
        tuple(sorted(f["tags"])): f for f in record["findings"] if f["kind"] == "mislabelled"
    }
    assert set(mislabels) == set(refused)
    for tags, finding in mislabels.items():
        reasons = [r for r in finding["reasons"] if not r.startswith("… and")]
        assert reasons == refused[tags][: len(reasons)] or not refused[tags]
    abi = show.get("python_abi") or {}
    assert {
        (f["member"], f["message"], tuple(f["tags"]), tuple(f["honest"]))
        for f in record["findings"]
        if f["kind"] == "python-abi"
    } == {
        (p["member"], p["message"], (p["tag"],) if p["tag"] else (), tuple(abi["honest_tags"]))
        for p in abi.get("problems", ())
    }
    flags = {
        (f["kind"], f["member"])
        for f in record["findings"]
        if f["member"] and f["kind"] != "python-abi"
    }
    expected = set()
    for member in show["members"]:
        if member["executable_stack"]:
            expected.add(("executable-stack", member["member"]))
        if member["foreign_rpaths"]:
            expected.add(("foreign-rpath", member["member"]))
        if member["low_alignment"]:
            expected.add(("low-alignment", member["member"]))
    expected |= {("purelib-elf", m) for m in show["purelib_elves"]}
    assert flags == expected
