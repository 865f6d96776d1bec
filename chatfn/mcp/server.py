"""``chatfn mcp serve``: every enabled chatfn tool, offered to MCP clients.

Built on the SDK's low-level ``Server``, since chatfn already has each tool's JSON
Schema and must not have it rebuilt from the signature. A call runs exactly as in a
chat: arguments checked against the schema, the tool's timeout, the result capped at
``[tools] max_result_chars``, anything the tool prints sent to stderr (stdout is the
protocol); a failure is an ``isError`` result, never a dropped connection.

Tools whose policy would ask for approval in chatfn are not offered unless
``[mcp] serve_tools_needing_approval = true``: a chatfn server has nobody to ask, so
serving them hands the decision to the MCP client's own approval.
Tools that chatfn itself forwards to MCP servers are never served again.

This module imports the ``mcp`` SDK: import it only for ``chatfn mcp serve``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

import anyio
import anyio.to_thread
import mcp.types as types
from mcp.server.lowlevel import Server
from mcp.server.stdio import stdio_server

from chatfn import __version__
from chatfn.errors import ToolError
from chatfn.settings.config import ToolSettings
from chatfn.tools.tool import Tool

SERVER_NAME = "chatfn"


@dataclass
class Served:
    """What ``chatfn mcp serve`` offers, and what it leaves out and why."""

    tools: dict[str, Tool] = field(default_factory=dict)
    left_out: dict[str, str] = field(default_factory=dict)


def choose_tools(tools: Iterable[Tool], settings: ToolSettings, *, serve_tools_needing_approval: bool) -> Served:
    """The tools to serve: MCP-forwarded ones never, approval-needing ones only when configured."""
    served = Served()
    for tool in tools:
        if tool.mcp is not None:
            served.left_out[tool.name] = "forwarded from an MCP server"
        elif would_ask(tool, settings) and not serve_tools_needing_approval:
            served.left_out[tool.name] = "needs approval (set [mcp] serve_tools_needing_approval = true)"
        else:
            served.tools[tool.name] = tool
    return served


def would_ask(tool: Tool, settings: ToolSettings) -> bool:
    """Whether chatfn's policy might ask before a call of ``tool`` (a per-call check counts as asking)."""
    from chatfn.tools.policy import needs_approval

    if tool.approval_check is not None:
        tool = replace(tool, approval_check=lambda arguments: True)
    return needs_approval(tool, {}, settings)


def annotations(tool: Tool) -> types.ToolAnnotations | None:
    """chatfn's effect hints as MCP tool annotations (``None`` when the tool states none)."""
    hints = {
        "read_only_hint": tool.read_only_hint,
        "destructive_hint": tool.destructive_hint,
        "idempotent_hint": tool.idempotent_hint,
        "open_world_hint": tool.open_world_hint,
    }
    stated = {key: value for key, value in hints.items() if isinstance(value, bool)}
    return types.ToolAnnotations(**stated) if stated else None


def build_server(served: Served, settings: ToolSettings) -> Server[Any]:
    """The SDK server answering ``tools/list`` and ``tools/call`` from ``served``."""
    listed = [
        types.Tool(name=tool.name, description=tool.description, input_schema=tool.parameters, annotations=annotations(tool))
        for tool in served.tools.values()
    ]

    async def list_tools(ctx: Any, params: Any) -> types.ListToolsResult:
        return types.ListToolsResult(tools=listed)

    async def call_tool(ctx: Any, params: types.CallToolRequestParams) -> types.CallToolResult:
        tool = served.tools.get(params.name)
        if tool is None:
            return _error(f"unknown tool {params.name!r}")
        return await anyio.to_thread.run_sync(run_call, tool, dict(params.arguments or {}), settings, abandon_on_cancel=True)

    return Server(SERVER_NAME, version=__version__, on_list_tools=list_tools, on_call_tool=call_tool)


def run_call(tool: Tool, arguments: dict[str, Any], settings: ToolSettings) -> types.CallToolResult:
    """One call as a chat would run it; every failure becomes an ``isError`` result."""
    from chatfn.tools.arguments import ArgumentError, validate_arguments
    from chatfn.tools.policy import tool_timeout
    from chatfn.tools.run import cap, invoke_tool, tool_output_to_stderr

    try:
        validate_arguments(tool, arguments)
    except ArgumentError as error:
        return _error(str(error))
    try:
        with tool_output_to_stderr():
            text = invoke_tool(tool, arguments, tool_timeout(tool, settings))
    except ToolError as error:
        return _error(str(error))
    shown, _ = cap(text, settings.max_result_chars)
    return types.CallToolResult(content=[types.TextContent(text=shown)])


def _error(message: str) -> types.CallToolResult:
    return types.CallToolResult(content=[types.TextContent(text=message)], is_error=True)


def serve_stdio(server: Server[Any]) -> None:
    """Serve over this process's stdin and stdout until the client closes stdin."""

    async def main() -> None:
        async with stdio_server() as (read_stream, write_stream):
            await server.run(read_stream, write_stream, server.create_initialization_options())

    anyio.run(main)


def serve_http(server: Server[Any], port: int) -> None:
    """Serve streamable HTTP on 127.0.0.1:``port`` (path ``/mcp``) until interrupted."""
    import uvicorn

    app = server.streamable_http_app(host="127.0.0.1")
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    uvicorn.Server(config).run()
