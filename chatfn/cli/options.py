"""Options several commands share, defined once so each flag means one thing everywhere.

``-c`` is ``chat --continue`` (as in llm); the config file is ``--config`` alone.
"""

from __future__ import annotations

import typer

ConfigOption = typer.Option(None, "--config", help="Config file (default: $CHATFN_CONFIG or the user config).")
McpConfigOption = typer.Option(
    None, "--mcp-config", help="A JSON file of MCP servers (Claude Desktop or VS Code shape); repeatable."
)
