"""The quick check says yes only where jsonschema would, and does say yes to ordinary calls."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from chatfn.tools.plaincheck import plainly_valid
from chatfn.tools.schema import function_schema

TYPE_NAMES = ["string", "integer", "number", "boolean", "null", "array", "object", "strin"]

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 3) | st.sampled_from([0.0, 1.0, 1.5, -2.0]) | st.sampled_from(["a", "b", ""]),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.sampled_from(["a", "b", "c"]), children, max_size=3),
    max_leaves=8,
)


def schemas() -> st.SearchStrategy[Any]:
    """Plain schemas, and now and then something not plain (an unknown keyword, a bad shape)."""
    leaf = st.fixed_dictionaries(
        {},
        optional={
            "type": st.sampled_from(TYPE_NAMES) | st.lists(st.sampled_from(TYPE_NAMES), max_size=3),
            "enum": st.lists(st.sampled_from(["a", "b", 1, True, None]), max_size=3),
            "description": st.just("d"),
            "minimum": st.just(0),
        },
    )
    return st.recursive(
        leaf | st.just(True),
        lambda inner: st.fixed_dictionaries(
            {},
            optional={
                "type": st.sampled_from(["object", "array"]),
                "properties": st.dictionaries(st.sampled_from(["a", "b", "c"]), inner, max_size=3),
                "required": st.lists(st.sampled_from(["a", "b", "c"]), max_size=2, unique=True),
                "additionalProperties": st.booleans(),
                "items": inner,
            },
        ),
        max_leaves=6,
    )


@settings(max_examples=400, deadline=None)
@given(schemas(), json_values)
def test_a_yes_is_always_jsonschemas_yes(schema: Any, value: Any) -> None:
    if plainly_valid(schema, value):
        assert Draft202012Validator(schema).is_valid(value)


def test_ordinary_calls_pass_without_jsonschema() -> None:
    def search(pattern: str, path: str = ".", glob: str | None = None, limit: int = 100, exact: bool = False) -> str:
        """Search.

        Args:
            pattern: What to find.
            path: Where.
            glob: Which files.
            limit: How many.
            exact: Literal text.
        """
        return pattern

    parameters = function_schema(search)["parameters"]
    assert plainly_valid(parameters, {"pattern": "x"})
    assert plainly_valid(parameters, {"pattern": "x", "path": "src", "glob": None, "limit": 3, "exact": True})
    assert plainly_valid(parameters, {"pattern": "x", "limit": 3.0})  # 3.0 is an integer in JSON Schema
    for wrong in ({}, {"pattern": 1}, {"pattern": "x", "limit": True}, {"pattern": "x", "limit": 2.5}):
        assert not plainly_valid(parameters, wrong)
        assert not Draft202012Validator(parameters).is_valid(wrong)
