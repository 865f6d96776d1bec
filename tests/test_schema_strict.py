"""Generated schemas say exactly what the function takes: no extra names, and plain optionals."""

from __future__ import annotations

import hashlib
import inspect
import json
import os
from pathlib import Path
from typing import Any, Literal

from chatfn.events import ToolCall
from chatfn.settings.config import ToolSettings
from chatfn.tools.run import run_tool_calls
from chatfn.tools.schema import function_schema
from chatfn.tools.schemacache import SchemaCache
from chatfn.tools.tool import make_tool

CALLS: list[dict[str, Any]] = []


def delayed_echo(message: str) -> str:
    """Say it back.

    Args:
        message: What to say.
    """
    CALLS.append({"message": message})
    return message


def takes_anything(message: str, **extra: Any) -> str:
    """Say it back, with whatever else came."""
    return json.dumps({"message": message, **extra}, sort_keys=True)


def tags(names: list[str] | None = None, mode: Literal["a", "b"] | None = None, count: int | None = None) -> str:
    """Optional things."""
    return "ok"


def _call(function: Any, arguments: dict[str, Any]) -> Any:
    tool = make_tool(function)
    (outcome,) = run_tool_calls(
        [ToolCall("call_1", tool.name, json.dumps(arguments))], {tool.name: tool}, ToolSettings(), approve=lambda *_: True
    )
    return outcome


def test_an_argument_the_function_does_not_take_never_reaches_it() -> None:
    CALLS.clear()
    outcome = _call(delayed_echo, {"message": "hi", "extra": 1})
    assert not outcome.ok and CALLS == []
    assert "extra" in outcome.content and "TypeError" not in outcome.content
    assert function_schema(delayed_echo)["parameters"]["additionalProperties"] is False


def test_a_function_with_kwargs_takes_extra_names() -> None:
    assert "additionalProperties" not in function_schema(takes_anything)["parameters"]
    outcome = _call(takes_anything, {"message": "hi", "extra": 1})
    assert outcome.ok and json.loads(outcome.content) == {"extra": 1, "message": "hi"}


def test_optionals_are_type_lists_as_the_docs_promise() -> None:
    properties = function_schema(tags)["parameters"]["properties"]
    assert properties["names"] == {"type": ["array", "null"], "items": {"type": "string"}, "default": None}
    assert properties["mode"] == {"type": ["string", "null"], "enum": ["a", "b", None], "default": None}
    assert properties["count"] == {"type": ["integer", "null"], "default": None}
    assert _call(tags, {"names": None, "mode": None}).ok
    assert _call(tags, {"names": ["x"], "mode": "a"}).ok
    assert not _call(tags, {"mode": "c"}).ok


def test_a_schema_cached_before_this_format_is_built_again(tmp_path: Path) -> None:
    """A cache written by the previous chatfn (its key had no format) is not reused."""
    source = inspect.getsourcefile(delayed_echo)
    assert source is not None
    status = os.stat(source)
    old_parts = [
        source, str(status.st_size), str(status.st_mtime_ns), delayed_echo.__module__, delayed_echo.__qualname__,
        str(inspect.signature(delayed_echo)), inspect.getdoc(delayed_echo) or "", "", "",
    ]
    old_key = hashlib.sha256("\0".join(old_parts).encode()).hexdigest()
    stale = {"name": "delayed_echo", "description": "stale", "parameters": {"type": "object", "properties": {}}}
    path = tmp_path / "schemas.json"
    path.write_text(json.dumps({old_key: stale}), encoding="utf-8")
    built = SchemaCache(path).schema(delayed_echo, None, None, function_schema)
    assert built["description"] == "Say it back." and built["parameters"]["additionalProperties"] is False
