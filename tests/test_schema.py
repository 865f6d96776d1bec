"""Function -> OpenAI schema: every supported type, docstring style, default and enum; names."""

from __future__ import annotations

import enum
from typing import Any, Literal, Optional

import pytest

from chatfn.tools.schema import (
    SchemaError,
    check_json_schema,
    check_schema_shape,
    function_schema,
    parse_docstring,
    validate_name,
)


class Colour(enum.Enum):
    RED = "red"
    BLUE = "blue"


def forecast(
    city: str,
    days: int = 3,
    unit: Literal["celsius", "fahrenheit"] = "celsius",
    ratio: float = 0.5,
    detailed: bool = False,
    tags: list[str] = [],  # noqa: B006 - a default is what is tested
    extra: dict = {},  # noqa: B006
    colour: Colour = Colour.RED,
    note: Optional[str] = None,
    anything=None,
) -> str:
    """Weather forecast for a city.

    Longer text that is not part of the summary.

    Args:
        city: City name, for example "Paris".
        days (int): How many days ahead,
            1 to 7.
        unit: Temperature unit.

    Returns:
        The forecast.
    """
    return city


def test_each_type_default_and_required() -> None:
    schema = function_schema(forecast)
    assert schema["name"] == "forecast"
    assert schema["description"] == "Weather forecast for a city."
    parameters = schema["parameters"]
    assert parameters["type"] == "object"
    assert parameters["required"] == ["city"]
    props = parameters["properties"]
    assert props["city"] == {"type": "string", "description": 'City name, for example "Paris".'}
    assert props["days"] == {"type": "integer", "default": 3, "description": "How many days ahead, 1 to 7."}
    assert props["unit"] == {"type": "string", "enum": ["celsius", "fahrenheit"], "default": "celsius", "description": "Temperature unit."}
    assert props["ratio"] == {"type": "number", "default": 0.5}
    assert props["detailed"] == {"type": "boolean", "default": False}
    assert props["tags"] == {"type": "array", "items": {"type": "string"}, "default": []}
    assert props["extra"]["type"] == "object"
    assert props["colour"]["enum"] == ["red", "blue"] and "$ref" not in str(schema)
    assert props["note"] == {"type": ["string", "null"], "default": None}
    assert props["anything"] == {"default": None}
    assert "title" not in str(schema) and "$defs" not in parameters
    check_json_schema(parameters)  # and the result is valid JSON Schema


def test_rest_and_numpy_docstrings() -> None:
    def rest(path: str, count: int) -> None:
        """Read a file.

        :param path: Where the file is,
            relative to the cwd.
        :param int count: How many lines.
        :returns: nothing
        """

    def numpy(path: str) -> None:
        """Read a file.

        Parameters
        ----------
        path : str
            Where the file is.

        Returns
        -------
        None
        """

    props = function_schema(rest)["parameters"]["properties"]
    assert props["path"]["description"] == "Where the file is, relative to the cwd."
    assert props["count"]["description"] == "How many lines."
    assert function_schema(numpy)["parameters"]["properties"]["path"]["description"] == "Where the file is."


def test_no_docstring_no_parameters_and_overrides() -> None:
    def bare():
        return 1

    assert function_schema(bare) == {
        "name": "bare",
        "description": "",
        "parameters": {"type": "object", "properties": {}, "additionalProperties": False},
    }
    schema = function_schema(forecast, name="weather-2", description="Other words")
    assert (schema["name"], schema["description"]) == ("weather-2", "Other words")


def test_parameter_names_that_shadow_pydantic_attributes() -> None:
    def tricky(json: str, schema: int, model_config: bool = True) -> None:
        """Tricky names."""

    props = function_schema(tricky)["parameters"]["properties"]
    assert [props["json"]["type"], props["schema"]["type"], props["model_config"]["type"]] == ["string", "integer", "boolean"]


def test_summary_is_the_first_paragraph_only() -> None:
    summary, params = parse_docstring("Line one\ncontinues here.\n\nDetails.\n\nArgs:\n    x: An x.\n")
    assert summary == "Line one continues here."
    assert params == {"x": "An x."}


@pytest.mark.parametrize("name", ["get_weather", "a", "A-b_9", "x" * 64])
def test_valid_names(name: str) -> None:
    assert validate_name(name) == name


@pytest.mark.parametrize("name", ["", "has space", "dot.name", "x" * 65, "ünïcode", "semi;colon", None])
def test_invalid_names_rejected(name: Any) -> None:
    with pytest.raises(SchemaError, match="invalid tool name"):
        validate_name(name)


def test_invalid_name_from_a_function_or_schema() -> None:
    with pytest.raises(SchemaError):
        function_schema(forecast, name="no spaces allowed")
    with pytest.raises(SchemaError):
        check_schema_shape({"name": "bad name", "parameters": {"type": "object"}})


def test_explicit_schema_shape() -> None:
    good = {"name": "f", "description": "F.", "parameters": {"type": "object", "properties": {"a": {"type": "string"}}}}
    assert check_schema_shape(good) == good
    assert check_schema_shape(good, "g")["name"] == "g"
    for bad, message in [
        ("not a dict", "must be a dict"),
        ({"name": "f"}, "needs 'parameters'"),
        ({"name": "f", "parameters": {"type": "array"}}, '"type": "object"'),
        ({"name": "f", "parameters": {"type": "object", "properties": []}}, "properties"),
        ({"name": "f", "parameters": {"type": "object", "required": "a"}}, "required"),
        ({"name": "f", "description": 3, "parameters": {"type": "object"}}, "description"),
    ]:
        with pytest.raises(SchemaError, match=message):
            check_schema_shape(bad)


def test_metaschema_check_names_the_place() -> None:
    with pytest.raises(SchemaError, match="not valid JSON Schema at properties/a"):
        check_json_schema({"type": "object", "properties": {"a": {"type": "strnig"}}}, "f")


def test_positional_only_parameters_are_refused() -> None:
    def positional(a: int, /) -> int:
        return a

    with pytest.raises(SchemaError, match="positional-only"):
        function_schema(positional)
