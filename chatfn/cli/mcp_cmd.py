"""`chatfn mcp`: the MCP servers chatfn uses (``list``), and chatfn's tools as an MCP server (``serve``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, List, Optional

import typer

from chatfn.cli.options import ConfigOption, McpConfigOption
from chatfn.errors import UsageError
from chatfn.output.console import emit, safe_line
from chatfn.output.sanitize import json_safe

app = typer.Typer(help="Use MCP servers' tools, and serve chatfn's tools over MCP.", no_args_is_help=True)


def load_settings(config: Optional[Path], mcp_config: Optional[List[Path]]) -> Any:
    """The config with ``--mcp-config`` files added: what every command with the option loads."""
    from chatfn.settings.config import load_config

    settings = load_config(config)
    settings.mcp_files = [*settings.mcp_files, *(mcp_config or [])]
    return settings


@app.command("list")
def list_command(
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
    config: Optional[Path] = ConfigOption,
    mcp_config: Optional[List[Path]] = McpConfigOption,
) -> None:
    """Start every configured MCP server and show its transport, status and tools."""
    from chatfn.mcp.cache import default_cache
    from chatfn.mcp.config import settings_for
    from chatfn.mcp.names import tool_name
    from chatfn.mcp.sdk import require_sdk
    from chatfn.mcp.tools import offered
    from chatfn.output.console import status as status_line
    from chatfn.output.console import warning
    from chatfn.output.redact import redact_text

    mcp_settings = settings_for(load_settings(config, mcp_config))
    for problem in mcp_settings.problems:
        warning(problem)
    if not mcp_settings.servers:
        if as_json:
            emit("[]")
        else:
            status_line("no MCP servers configured (see 'docs/mcp.md': [mcp.servers.NAME] or --mcp-config FILE)")
        return
    require_sdk("MCP servers are configured")
    from chatfn.mcp.pool import shared_pool

    statuses = shared_pool().start(mcp_settings.servers)
    cache = default_cache()
    rows: list[dict[str, Any]] = []
    taken: set[str] = set()
    for server in mcp_settings.servers:
        status = statuses[server.name]
        if status.state == "connected":
            cache.put(server.key, server.name, status.tools)
        tools = []
        for definition in status.tools:
            if offered(server, definition["name"]):
                name = tool_name(server.name, definition["name"], taken)
                taken.add(name)
                tools.append({"name": name, "tool": definition["name"]})
        rows.append(
            {
                "name": server.name,
                "transport": server.transport,
                "target": redact_text(server.target),
                "source": server.source,
                "status": status.state,
                "reason": status.reason,
                "tools": tools,
            }
        )
    if as_json:
        emit(json_safe(json.dumps(rows, indent=2, ensure_ascii=False)))
        return
    for row in rows:  # server names are the user's; reasons and tool names come from servers
        state = row["status"] if not row["reason"] else f"{row['status']}: {row['reason']}"
        emit(safe_line(f"{row['name']}  {row['transport']}  {state}"))
        emit(safe_line(f"  {row['target']}"))
        for tool in row["tools"]:
            emit(safe_line(f"  {tool['name']}  ({tool['tool']})"))


@app.command("serve")
def serve_command(
    http: bool = typer.Option(False, "--http", help="Serve streamable HTTP on 127.0.0.1 instead of stdio."),
    port: int = typer.Option(8808, "--port", min=1, max=65535, help="Port for --http."),
    config: Optional[Path] = ConfigOption,
) -> None:
    """Serve every enabled chatfn tool to MCP clients (Claude Desktop, VS Code, Cursor...)."""
    from dataclasses import replace

    from chatfn.mcp.config import read_settings
    from chatfn.mcp.sdk import require_sdk
    from chatfn.output.console import status
    from chatfn.plugins.host import load_tools
    from chatfn.settings.config import load_config

    require_sdk("'chatfn mcp serve' needs it")
    settings = load_config(config)
    serve_all = read_settings(settings.mcp, config_source=settings.source).serve_tools_needing_approval
    # Tools forwarded from MCP servers are never served again, so their servers are not started.
    toolset = load_tools(replace(settings, mcp={}, mcp_files=[]))
    from chatfn.mcp.server import build_server, choose_tools, serve_http, serve_stdio

    served = choose_tools(toolset, settings.tools, serve_tools_needing_approval=serve_all)
    if served.left_out:
        status(f"not served: {', '.join(f'{name} ({why})' for name, why in sorted(served.left_out.items()))}")
    if not served.tools:
        raise UsageError("no tools to serve", hint="'chatfn tools list' shows the tools there are")
    server = build_server(served, settings.tools)
    if http:
        status(f"serving {len(served.tools)} tools on http://127.0.0.1:{port}/mcp")
        serve_http(server, port)
    else:
        serve_stdio(server)
