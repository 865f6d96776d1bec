"""MCP both ways: other programs' MCP servers as chatfn tools, and chatfn's tools as an MCP server.

What it owns: reading server entries (``[mcp.servers.NAME]`` and the JSON files other
clients use), naming MCP tools for every provider, caching each server's tool list,
talking to servers (:mod:`chatfn.mcp.client`, :mod:`chatfn.mcp.pool`) and serving
chatfn's own tools (:mod:`chatfn.mcp.server`).

What it may import: chatfn's base, settings and tools layers. The official ``mcp`` SDK
is imported only by :mod:`chatfn.mcp.pool` and :mod:`chatfn.mcp.server`, and those only
when a server must really be reached or ``chatfn mcp serve`` runs: a listing served
from the cache, and every command without MCP servers, never import it.
"""
