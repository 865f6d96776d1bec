"""The model's tool arguments: parsed from JSON and checked against the tool's schema.

Everything here raises :class:`ArgumentError`, whose message goes back to the model as
the call's result, so it says which field is wrong.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from chatfn.tools.tool import Tool


class ArgumentError(ValueError):
    """The model's arguments are not JSON, not an object, or break the tool's schema."""


# -- arguments ---------------------------------------------------------------------


MAX_DEPTH = 64
"""How deeply arguments may nest: far more than any schema needs, far less than Python's stack."""


def parse_arguments(raw: str | None) -> dict[str, Any]:
    """The model's JSON arguments as a dict ("" means no arguments).

    Nesting is bounded (:data:`MAX_DEPTH`), so validation and everything after it
    can walk the value without running out of stack; lone surrogates (``"\\ud800"``),
    which nothing can encode, become U+FFFD.
    """
    if raw is None or not raw.strip():
        return {}
    try:
        value = json.loads(raw)
    except ValueError as error:
        raise ArgumentError(f"arguments are not valid JSON ({error})") from None
    except RecursionError:
        raise ArgumentError(f"arguments nest deeper than {MAX_DEPTH} levels") from None
    if not isinstance(value, dict):
        raise ArgumentError(f"arguments must be a JSON object, not {type(value).__name__}")
    if _depth(value) > MAX_DEPTH:
        raise ArgumentError(f"arguments nest deeper than {MAX_DEPTH} levels")
    from chatfn.output.sanitize import clean_data

    return clean_data(value)


def _depth(value: Any) -> int:
    """How deeply ``value`` nests, without recursion."""
    deepest = 0
    stack = [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict):
            item = list(item.values())
        if isinstance(item, list):
            deepest = max(deepest, level)
            if level > MAX_DEPTH:
                return level
            stack.extend((child, level + 1) for child in item)
    return deepest


class Validators:
    """Schema validators built once per schema, for as long as their owner (a chat session) lives.

    Building one costs a schema check; a session asks for the same tools round after
    round. Each owner has its own, so nothing is shared between sessions or tests.
    """

    def __init__(self) -> None:
        self._built: dict[str, Any] = {}

    def for_tool(self, tool: Tool) -> Any:
        """The validator of ``tool``'s parameters; :class:`ArgumentError` if they are no valid schema."""
        from jsonschema import Draft202012Validator, validators

        from chatfn.tools.schema import SchemaError, check_json_schema

        key = json.dumps(tool.parameters, sort_keys=True, default=str)
        validator = self._built.get(key)
        if validator is None:
            try:
                check_json_schema(tool.parameters, tool.name)
            except SchemaError as error:
                raise ArgumentError(f"the tool has an invalid schema: {error}") from None
            cls = validators.validator_for(tool.parameters, default=Draft202012Validator)
            validator = self._built[key] = cls(tool.parameters)
        return validator


def validate_arguments(tool: Tool, arguments: Mapping[str, Any], validators: Validators | None = None) -> None:
    """Raise :class:`ArgumentError` naming the first field that breaks ``tool``'s schema.

    Arguments that plainly fit a plain schema pass without jsonschema (:mod:`chatfn.tools.plaincheck`).
    """
    from chatfn.tools.plaincheck import plainly_valid

    if plainly_valid(tool.parameters, arguments):
        return
    from jsonschema.exceptions import best_match

    validator = (validators or Validators()).for_tool(tool)
    error = best_match(validator.iter_errors(dict(arguments)))
    if error is None:
        return
    field = ".".join(str(part) for part in error.absolute_path)
    if error.validator in ("required", "additionalProperties") and not field:
        raise ArgumentError(f"invalid arguments for {tool.name}: {error.message}")
    where = f"field {field!r}" if field else "arguments"
    raise ArgumentError(f"invalid arguments for {tool.name}: {where}: {error.message}")
