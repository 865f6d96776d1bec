"""A quick yes for arguments that plainly fit a plain schema, without jsonschema.

Nearly every tool's parameters are an object of typed properties, some required, some
with an ``enum``, perhaps no others allowed: what :func:`chatfn.tools.schema.function_schema`
builds. Checking a model's arguments against such a schema needs no jsonschema, whose
import alone costs about 0.08 s, more than the rest of a one-shot chat's own work.

:func:`plainly_valid` answers True only when it is sure: the schema uses nothing but
the keywords below, in their plain forms, and the arguments satisfy them as JSON Schema
(draft 2020-12) says. Anything else, including every invalid argument, is False and
goes to jsonschema, which says precisely what is wrong. So this changes how fast a
valid call is accepted, never what is accepted or what an error says.
"""

from __future__ import annotations

from typing import Any

ANNOTATIONS = frozenset({"description", "title", "default", "examples", "deprecated", "readOnly", "writeOnly"})
"""Keywords that never make an instance invalid."""
KEYWORDS = ANNOTATIONS | {"type", "enum", "properties", "required", "additionalProperties", "items"}
TYPES = frozenset({"string", "integer", "number", "boolean", "null", "array", "object"})


def plainly_valid(schema: Any, value: Any) -> bool:
    """True when ``schema`` is plain and ``value`` certainly satisfies it; False means "ask jsonschema"."""
    if schema is True:
        return True
    if not isinstance(schema, dict) or not KEYWORDS.issuperset(schema):
        return False
    return (
        _type_holds(schema, value)
        and _enum_holds(schema, value)
        and _object_holds(schema, value)
        and _array_holds(schema, value)
    )


def _type_holds(schema: dict[str, Any], value: Any) -> bool:
    if "type" not in schema:
        return True
    declared = schema["type"]
    names = [declared] if isinstance(declared, str) else declared
    if not isinstance(names, list) or not names or not all(name in TYPES for name in names):
        return False
    return any(_is(name, value) for name in names)


def _is(name: str, value: Any) -> bool:
    if name == "string":
        return isinstance(value, str)
    if name == "boolean":
        return isinstance(value, bool)
    if name == "null":
        return value is None
    if name == "array":
        return isinstance(value, list)
    if name == "object":
        return isinstance(value, dict)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    return name == "number" or isinstance(value, int) or value.is_integer()


def _enum_holds(schema: dict[str, Any], value: Any) -> bool:
    if "enum" not in schema:
        return True
    options = schema["enum"]
    # Strings only: JSON Schema's equality of 1, 1.0 and true differs from Python's.
    return isinstance(options, list) and isinstance(value, str) and all(isinstance(o, str) for o in options) and value in options


def _object_holds(schema: dict[str, Any], value: Any) -> bool:
    if not ({"properties", "required", "additionalProperties"} & schema.keys()):
        return True
    if not isinstance(value, dict):
        return False  # not plain: these keywords would be ignored, and their shape unchecked
    properties = schema.get("properties", {})
    required = schema.get("required", [])
    extra = schema.get("additionalProperties", True)
    if not isinstance(properties, dict) or not isinstance(required, list) or not isinstance(extra, bool):
        return False
    if not all(isinstance(name, str) and name in value for name in required):
        return False
    for name, item in value.items():
        if name in properties:
            if not plainly_valid(properties[name], item):
                return False
        elif not extra:
            return False
    return True


def _array_holds(schema: dict[str, Any], value: Any) -> bool:
    if "items" not in schema:
        return True
    if not isinstance(value, list):
        return False  # as for objects
    return all(plainly_valid(schema["items"], item) for item in value)
