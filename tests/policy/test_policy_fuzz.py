"""Property tests for the policy-file parser: any JSON, mutations of the real data, and any
bytes in a file (not UTF-8, absurdly nested, absurd numbers), either load or raise
InvalidPolicyError."""

from __future__ import annotations

import copy
import json
import tempfile
from importlib import resources
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from manywheel.errors import InvalidPolicyError
from manywheel.policy import PolicySet, load_policies

JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 200) | st.text(max_size=12),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=16), inner, max_size=4)
    ),
    max_leaves=12,
)
KEYS = ["name", "aliases", "priority", "symbol_versions", "lib_whitelist", "blacklist",
        "lib_whitelist_add"]  # fmt: skip
NAMES = st.sampled_from(["linux", "manylinux_2_17", "manylinux_2_30", "musllinux_1_2", "x"])
ENTRY = st.dictionaries(st.sampled_from(KEYS), JSON, max_size=6).flatmap(
    lambda d: NAMES.map(lambda name: {"name": name, **d})
)
SHIPPED: list[dict[str, Any]] = json.loads(
    resources.files("manywheel.policy")
    .joinpath("data")
    .joinpath("manylinux-policy.json")
    .read_text()
)


def _load(policies: PolicySet, document: Any) -> None:
    try:
        policies.extended([("fuzz.json", document)])
    except InvalidPolicyError as e:
        assert e.path == "fuzz.json" or (e.path or "").startswith("manywheel/policy/data/")


@settings(max_examples=150, deadline=None)
@given(document=JSON | st.lists(ENTRY, max_size=3))
def test_any_document_loads_or_is_invalid(policies: PolicySet, document: Any) -> None:
    _load(policies, document)


@settings(max_examples=60, deadline=None)
@given(
    index=st.integers(0, len(SHIPPED) - 1),
    key=st.sampled_from(KEYS[1:6]),
    value=JSON,
)
def test_mutated_real_policies_load_or_are_invalid(
    policies: PolicySet, index: int, key: str, value: Any
) -> None:
    entry = copy.deepcopy(SHIPPED[index])
    entry[key] = value
    _load(policies, [entry])


SHIPPED_BYTES = json.dumps(SHIPPED[:3]).encode()
#: What hostile files are made of: nesting, long numbers, bytes that are no UTF-8.
HOSTILE = st.sampled_from(
    [b"[" * 5000, b"{" * 3000, b"9" * 5000, b"-" + b"1" * 30, b"\xff", b"\xc0\x80", b"1e99999",
     b'"\\ud800"', b"NaN", b"\x00"]
)  # fmt: skip


@st.composite
def policy_bytes(draw: st.DrawFn) -> bytes:
    """The real data with hostile pieces spliced in, or hostile pieces alone."""
    data = bytearray(draw(st.sampled_from([SHIPPED_BYTES, b"[]", b""])))
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(data)))
        data[at:at] = draw(HOSTILE | st.binary(max_size=8))
    return bytes(data)


@settings(max_examples=80, deadline=None)
@given(data=policy_bytes())
def test_any_file_loads_or_is_invalid(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "fuzz.json"
        path.write_bytes(data)
        try:
            load_policies([path])
        except InvalidPolicyError as e:
            assert e.path == str(path)
