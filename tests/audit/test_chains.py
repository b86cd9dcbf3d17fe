"""Cost grows with the input, not its square: a chain of hundreds of libraries inside a wheel
is audited with about the work of as many independent libraries (each library resolved in one
tree, not in one tree per link), and its report is about as big. Work is counted in function
calls, never timed."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from manywheel.audit import Where, audit_wheel
from manywheel.cli import main
from tests.audit.builders import Builder
from tests.audit.chains import Chains, build_chains
from tests.harness.work import counted

COUNT = 300


@pytest.fixture(scope="module")
def chains(tmp_path_factory: pytest.TempPathFactory) -> Chains:
    work = tmp_path_factory.mktemp("chains")
    (work / "lib").mkdir()
    return build_chains(Builder(work, work / "lib"), COUNT)


def test_every_link_of_the_chain_resolves_inside_the_wheel(chains: Chains) -> None:
    report = audit_wheel(chains.chain)
    assert len(report.members) == COUNT
    for member in report.members[:-1]:
        [needed] = member.needed
        assert needed.where is Where.WHEEL
    assert report.external == ()


def test_a_chain_costs_about_what_independent_libraries_cost(chains: Chains) -> None:
    """Before: one tree per member, each holding the rest of the chain — 45,000 resolutions
    for 300 libraries, 27 times the calls of 300 independent ones."""
    _, chain = counted(lambda: audit_wheel(chains.chain))
    _, independent = counted(lambda: audit_wheel(chains.independent))
    assert chain < 2 * independent, (chain, independent)


def _details_size(wheel: Path) -> int:
    out = io.StringIO()
    assert main(["show", "--json-details", str(wheel)], stdout=out, stderr=io.StringIO()) == 0
    return len(out.getvalue())


def test_the_report_of_a_chain_is_not_quadratic(chains: Chains) -> None:
    assert _details_size(chains.chain) < 2 * _details_size(chains.independent)
