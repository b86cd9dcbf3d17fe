"""The judgment's quick test (``_unremarkable``) never hides a reason: whenever it says a use
gives none, the full, explaining rules give none either, under every shipped x86_64 policy,
with and without private versions listed."""

from __future__ import annotations

from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st

from manywheel.policy import Location, PolicySet, load_policies
from manywheel.policy import judgment as j
from manywheel.policy.requirements import LibraryUse

_POLICIES: PolicySet = load_policies()
_JUDGED = [p for p in _POLICIES if not p.is_generic and p.covers("x86_64")]
_ODD_VERSIONS = ["GLIBC_PRIVATE", "FOO_PRIVATE", "GLIBC_9.99", "ZZZ_1.0", "GLIBCXX_3.4.99"]
_ODD_SONAMES = ["ld-linux-x86-64.so.2", "libpython3.11.so.1.0", "libfoo.so.1", "libc.so.6"]


def _judge(index: int, private: bool) -> j._Judge:
    policy = _JUDGED[index]
    versions = policy.versions("x86_64")
    if private:
        versions = replace(versions, names=versions.names | {"GLIBC_PRIVATE", "FOO_PRIVATE"})
    return j._Judge(
        policy,
        "x86_64",
        policy.whitelist("x86_64"),
        versions,
        j._Options(check_isa=True, check_execstack=True),
        lists_private=private,
    )


@st.composite
def _cases(draw: st.DrawFn) -> tuple[j._Judge, LibraryUse]:
    judge = _judge(draw(st.integers(0, len(_JUDGED) - 1)), draw(st.booleans()))
    sonames = sorted(judge.whitelist) + sorted(judge.policy.blacklist) + _ODD_SONAMES
    soname = draw(st.sampled_from(sonames))
    provided = sorted(judge.versions.names)
    versions = draw(st.lists(st.sampled_from(provided + _ODD_VERSIONS), max_size=4))
    banned = sorted(judge.policy.blacklist.get(soname, ())) or ["harmless"]
    symbols = draw(st.lists(st.sampled_from([*banned, "harmless"]), max_size=2))
    location = draw(st.sampled_from(list(Location)))
    use = LibraryUse(soname, location, dict.fromkeys(versions, ("sym",)), frozenset(symbols))
    return judge, use


@settings(max_examples=500)
@given(_cases())
def test_the_quick_test_never_hides_a_reason(case: tuple[j._Judge, LibraryUse]) -> None:
    judge, use = case
    reasons = list(j._library_reasons(judge, j._File("x.so", grafted=False), use))
    if j._unremarkable(judge, use):
        assert reasons == []
