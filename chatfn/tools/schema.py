"""A Python function -> the OpenAI function schema the model sees, and the checks on schemas.

Types come from the signature through pydantic (so ``Literal``, ``Enum``, ``Optional``,
``list[...]`` and defaults mean what pydantic says they mean), descriptions from the
docstring (Google ``Args:``, reST ``:param x:`` and numpy ``Parameters`` sections).
pydantic and jsonschema are imported inside the functions that need them, so importing
this module stays cheap for ``chatfn tools list``.
"""

from __future__ import annotations

import copy
import inspect
import re
from collections.abc import Callable, Mapping
from typing import Any

SCHEMA_FORMAT = 2
"""Bumped whenever built schemas change shape, so cached ones from before are rebuilt."""

NAME_PATTERN = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
"""What OpenAI accepts as a function name."""

_GOOGLE_SECTIONS = ("args", "arguments", "parameters", "params", "keyword args", "keyword arguments")
_GOOGLE_ENTRY = re.compile(r"^\*{0,2}(\w+)\s*(?:\([^)]*\))?\s*:\s*(.*)$")
_REST_PARAM = re.compile(r"^:param\s+(?:[^:]*\s)?(\w+)\s*:\s*(.*)$")
_NUMPY_ENTRY = re.compile(r"^(\w+)\s*(?::.*)?$")


class SchemaError(ValueError):
    """A tool's name or schema is not something the model can be offered."""


def validate_name(name: str) -> str:
    """Return ``name`` if OpenAI accepts it as a function name, else raise :class:`SchemaError`."""
    if not isinstance(name, str) or not NAME_PATTERN.fullmatch(name):
        raise SchemaError(f"invalid tool name {name!r}: use 1 to 64 letters, digits, '_' or '-'")
    return name


# -- docstrings --------------------------------------------------------------


def parse_docstring(doc: str | None) -> tuple[str, dict[str, str]]:
    """``(summary, {parameter: description})`` from a Google, reST or numpy docstring."""
    text = inspect.cleandoc(doc or "")
    if not text:
        return "", {}
    lines = text.splitlines()
    summary_lines: list[str] = []
    for line in lines:
        stripped = line.strip()
        if not stripped or _starts_section(stripped):
            break
        summary_lines.append(stripped)
    params = _google_params(lines)
    params.update(_numpy_params(lines))
    params.update(_rest_params(lines))
    return " ".join(summary_lines), params


def _starts_section(line: str) -> bool:
    return line.startswith(":") or line.rstrip(":").lower() in _GOOGLE_SECTIONS + ("returns", "raises")


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _google_params(lines: list[str]) -> dict[str, str]:
    params: dict[str, str] = {}
    in_section = False
    section_indent = 0
    entry_indent: int | None = None
    current: str | None = None
    for line in lines:
        stripped = line.strip()
        if not in_section:
            if stripped.endswith(":") and stripped[:-1].strip().lower() in _GOOGLE_SECTIONS:
                in_section, section_indent, entry_indent, current = True, _indent(line), None, None
            continue
        if not stripped:
            continue
        indent = _indent(line)
        if indent <= section_indent:  # the section ended; another may start
            in_section = stripped.endswith(":") and stripped[:-1].strip().lower() in _GOOGLE_SECTIONS
            section_indent, entry_indent, current = indent, None, None
            continue
        if entry_indent is None:
            entry_indent = indent
        match = _GOOGLE_ENTRY.match(stripped) if indent == entry_indent else None
        if match:
            current = match.group(1)
            params[current] = match.group(2).strip()
        elif current is not None:
            params[current] = f"{params[current]} {stripped}".strip()
    return params


def _rest_params(lines: list[str]) -> dict[str, str]:
    params: dict[str, str] = {}
    current: str | None = None
    for line in lines:
        stripped = line.strip()
        match = _REST_PARAM.match(stripped)
        if match:
            current = match.group(1)
            params[current] = match.group(2).strip()
        elif stripped.startswith(":") or not stripped:
            current = None
        elif current is not None:
            params[current] = f"{params[current]} {stripped}".strip()
    return params


def _numpy_params(lines: list[str]) -> dict[str, str]:
    params: dict[str, str] = {}
    for index in range(len(lines) - 1):
        if lines[index].strip().lower() in ("parameters", "other parameters") and set(
            lines[index + 1].strip()
        ) == {"-"}:
            base = _indent(lines[index])
            current: str | None = None
            for line in lines[index + 2 :]:
                stripped = line.strip()
                if not stripped:
                    continue
                if _indent(line) <= base:
                    if set(stripped) == {"-"}:  # the next section's underline: its title was no entry
                        params.pop(current or "", None)
                        break
                    match = _NUMPY_ENTRY.match(stripped)
                    current = match.group(1) if match else None
                    if current:
                        params[current] = ""
                elif current is not None:
                    params[current] = f"{params[current]} {stripped}".strip()
    return {name: text for name, text in params.items() if text}


# -- schemas from functions ------------------------------------------------------


def function_schema(
    function: Callable[..., Any], name: str | None = None, description: str | None = None
) -> dict[str, Any]:
    """``{"name", "description", "parameters"}`` for ``function``, from its signature and docstring."""
    import typing

    import pydantic

    tool_name = validate_name(name or getattr(function, "__name__", ""))
    try:
        signature = inspect.signature(function)
    except (TypeError, ValueError) as error:
        raise SchemaError(f"{tool_name}: cannot read the function's signature: {error}") from None
    try:
        hints = typing.get_type_hints(function, include_extras=True)
    except Exception:  # unresolvable forward references: fall back to the raw annotations
        hints = {}
    summary, documented = parse_docstring(inspect.getdoc(function))
    fields: dict[str, Any] = {}
    for index, parameter in enumerate(signature.parameters.values()):
        if parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
            continue
        if parameter.kind is parameter.POSITIONAL_ONLY:
            raise SchemaError(f"{tool_name}: parameter {parameter.name!r} is positional-only; tools get keywords")
        annotation = hints.get(parameter.name, parameter.annotation)
        if annotation is inspect.Parameter.empty or isinstance(annotation, str):
            annotation = Any
        default = ... if parameter.default is inspect.Parameter.empty else parameter.default
        field = pydantic.Field(default, alias=parameter.name, description=documented.get(parameter.name))
        # Fields get neutral names (aliased to the real ones) so that a parameter called
        # "json" or "schema" cannot collide with BaseModel's own attributes.
        fields[f"p{index}"] = (annotation, field)
    try:
        model = pydantic.create_model(f"{tool_name}_arguments", **fields)
        raw = model.model_json_schema(by_alias=True)
    except Exception as error:
        raise SchemaError(f"{tool_name}: cannot build a JSON schema: {type(error).__name__}: {error}") from None
    parameters = clean_schema(raw)
    if not any(parameter.kind is parameter.VAR_KEYWORD for parameter in signature.parameters.values()):
        # a name the function does not take is refused before the call, not by a TypeError in it
        parameters["additionalProperties"] = False
    return {
        "name": tool_name,
        "description": description if description is not None else summary,
        "parameters": parameters,
    }


def clean_schema(raw: Mapping[str, Any]) -> dict[str, Any]:
    """pydantic's output made plain: ``$defs`` inlined, titles dropped, simple optionals as type lists."""
    definitions = dict(raw.get("$defs", {}))
    cleaned = _clean(raw, definitions, depth=0)
    cleaned.pop("$defs", None)
    cleaned["type"] = "object"
    cleaned.setdefault("properties", {})
    if not cleaned.get("required"):
        cleaned.pop("required", None)
    return cleaned


def _clean(node: Any, definitions: dict[str, Any], depth: int) -> Any:
    if depth > 40:
        raise SchemaError("schema nests too deeply (recursive types are not supported)")
    if isinstance(node, list):
        return [_clean(item, definitions, depth + 1) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node and node["$ref"].startswith("#/$defs/"):
        target = definitions.get(node["$ref"].rsplit("/", 1)[-1], {})
        merged = {**target, **{key: value for key, value in node.items() if key != "$ref"}}
        return _clean(merged, definitions, depth + 1)
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in ("title", "$defs"):
            continue
        if key == "properties" and isinstance(value, dict):
            out[key] = {name: _clean(sub, definitions, depth + 1) for name, sub in value.items()}
        else:
            out[key] = _clean(value, definitions, depth + 1)
    return _simplify_optional(out)


def _simplify_optional(node: dict[str, Any]) -> dict[str, Any]:
    """``anyOf: [{type: X, ...}, {type: null}]`` -> ``type: [X, "null"]`` when X is one plain type.

    ``list[str] | None`` keeps its ``items``; a ``Literal`` or ``Enum`` gains ``null``
    among its ``enum`` values, so ``None`` stays valid.
    """
    options = node.get("anyOf")
    if not isinstance(options, list) or len(options) != 2 or {"type": "null"} not in options:
        return node
    other = dict(options[0] if options[1] == {"type": "null"} else options[1])
    if not isinstance(other.get("type"), str) or "anyOf" in other or set(other) & set(node) - {"anyOf"}:
        return node
    if "const" in other:
        other["enum"] = [other.pop("const")]
    if "enum" in other:
        other["enum"] = [*other["enum"], None]
    simplified = {key: value for key, value in node.items() if key != "anyOf"}
    simplified.update(other)
    simplified["type"] = [other["type"], "null"]
    return simplified


# -- explicit schemas -----------------------------------------------------------


def check_schema_shape(schema: Any, name: str | None = None) -> dict[str, Any]:
    """The cheap structural check done at registration: a copy of ``schema`` with its name set.

    The full JSON Schema metaschema check (:func:`check_json_schema`) needs jsonschema,
    which is too slow to import on the ``chatfn tools list`` path.
    """
    if not isinstance(schema, Mapping):
        raise SchemaError(f"schema must be a dict, not {type(schema).__name__}")
    schema = copy.deepcopy(dict(schema))
    tool_name = validate_name(name or schema.get("name", ""))
    schema["name"] = tool_name
    description = schema.get("description", "")
    if not isinstance(description, str):
        raise SchemaError(f"{tool_name}: 'description' must be a string")
    schema["description"] = description
    parameters = schema.get("parameters")
    if not isinstance(parameters, Mapping):
        raise SchemaError(f"{tool_name}: schema needs 'parameters', a JSON schema object")
    if parameters.get("type") != "object":
        raise SchemaError(f"{tool_name}: 'parameters' must have \"type\": \"object\"")
    properties = parameters.get("properties", {})
    if not isinstance(properties, Mapping) or not all(isinstance(p, Mapping) for p in properties.values()):
        raise SchemaError(f"{tool_name}: 'parameters.properties' must map names to schemas")
    required = parameters.get("required", [])
    if not isinstance(required, list) or not all(isinstance(item, str) for item in required):
        raise SchemaError(f"{tool_name}: 'parameters.required' must be a list of names")
    return schema


def check_json_schema(parameters: Mapping[str, Any], name: str = "tool") -> None:
    """Raise :class:`SchemaError` unless ``parameters`` is valid JSON Schema (metaschema check)."""
    from jsonschema import Draft202012Validator, exceptions, validators

    validator = validators.validator_for(parameters, default=Draft202012Validator)
    try:
        validator.check_schema(parameters)
    except exceptions.SchemaError as error:
        where = "/".join(str(part) for part in error.absolute_path) or "(top)"
        raise SchemaError(f"{name}: parameters is not valid JSON Schema at {where}: {error.message}") from None
