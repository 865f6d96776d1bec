"""Tool: built from what a plugin registers; its OpenAI shapes; the ToolSet registry."""

from __future__ import annotations

import asyncio
import functools

import pytest

from chatfn.tools.schema import SchemaError
from chatfn.tools.tool import PluginInfo, Tool, ToolSet, make_tool


def add(a: int, b: int = 1) -> int:
    """Add two numbers.

    Args:
        a: The first.
        b: The second.
    """
    return a + b


async def slow_add(a: int) -> int:
    """Add later."""
    await asyncio.sleep(0)
    return a


def test_from_a_function() -> None:
    tool = make_tool(add, plugin="maths", distribution="chatfn-maths", timeout=2)
    assert (tool.name, tool.plugin, tool.distribution, tool.timeout) == ("add", "maths", "chatfn-maths", 2.0)
    assert tool.description == "Add two numbers."
    assert not tool.is_async and not tool.needs_approval and tool.approval_check is None
    assert tool.openai_tool() == {"type": "function", "function": tool.openai_function()}
    assert tool.openai_function()["parameters"]["required"] == ["a"]


def test_from_an_explicit_schema_with_overrides() -> None:
    schema = {"name": "plus", "description": "Plus.", "parameters": {"type": "object", "properties": {}}}
    tool = make_tool(add, schema=schema, description="Other.", needs_approval=True)
    assert (tool.name, tool.description, tool.needs_approval) == ("plus", "Other.", True)
    assert make_tool(add, "renamed", schema=schema).name == "renamed"
    assert schema["name"] == "plus"  # the plugin's dict is not changed


def test_async_detection() -> None:
    assert make_tool(slow_add).is_async
    assert make_tool(functools.partial(slow_add), name="partial_add").is_async

    class Caller:
        async def __call__(self, a: int) -> int:
            return a

    assert make_tool(Caller(), name="caller").is_async


def test_per_call_approval_check_is_exposed() -> None:
    def shell(command: str) -> str:
        """Run a command."""
        return command

    shell.chatfn_needs_approval = lambda arguments: "rm" in arguments["command"]  # type: ignore[attr-defined]
    tool = make_tool(shell)
    assert tool.approval_check is not None and tool.approval_check({"command": "rm -rf x"})


@pytest.mark.parametrize(
    ("function", "options", "message"),
    [
        (42, {}, "not callable"),
        (add, {"name": "bad name"}, "invalid tool name"),
        (add, {"timeout": -1}, "timeout"),
        (add, {"timeout": "5"}, "timeout"),
        (add, {"schema": {"name": "x"}}, "parameters"),
    ],
)
def test_invalid_registrations(function, options, message) -> None:
    with pytest.raises(SchemaError, match=message):
        make_tool(function, **options)


def test_tool_is_frozen_and_toolset_lookups() -> None:
    tool = make_tool(add)
    with pytest.raises(AttributeError):
        tool.name = "other"  # type: ignore[misc]
    toolset = ToolSet(tools={"add": tool}, plugins=[PluginInfo(name="builtin", distribution="chatfn", version="1")])
    assert "add" in toolset and len(toolset) == 1 and list(toolset) == [tool]
    assert toolset.get("nope") is None
    assert toolset.plugin("builtin").label == "'builtin' (chatfn 1)"
    assert isinstance(tool, Tool) and tool.summary == "Add two numbers."
