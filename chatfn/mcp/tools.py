"""MCP servers' tools as ordinary chatfn :class:`~chatfn.tools.tool.Tool` objects.

Each MCP tool becomes a ``Tool`` whose function forwards the call to its server, so the
chat loop, the approval prompt, ``tools call`` and rendering need no MCP knowledge. The
tool list comes from the cache (:mod:`chatfn.mcp.cache`) when it can, so nothing is
started to list tools; servers start, all at once, when a list is missing or a tool is
called. The schema the model sees is the server's own; the server's annotations become
chatfn's effect hints; a definition that changed since it last ran asks first.
"""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from chatfn.mcp.cache import ToolListCache
from chatfn.mcp.cache import default_cache as default_tool_cache
from chatfn.mcp.config import McpSettings, ServerConfig
from chatfn.mcp.names import tool_name
from chatfn.mcp.trust import ApprovedDefinitions, changes, default_store, fingerprint
from chatfn.output.sanitize import clean
from chatfn.tools.tool import Tool

if TYPE_CHECKING:
    from chatfn.mcp.pool import ServerPool, ServerStatus

Report = Callable[[str], None]

PLUGIN_PREFIX = "mcp:"
"""A tool's ``plugin`` is ``mcp:SERVER``: where ``tools list`` says it came from."""


@dataclass(frozen=True)
class McpSource:
    """Which server and which of its tools a chatfn tool forwards to."""

    server: str
    tool: str
    input_schema: dict[str, Any]
    annotations: dict[str, Any]


def server_tools(
    settings: McpSettings,
    taken: Iterable[str],
    report: Report,
    *,
    cache: ToolListCache | None = None,
    approved: ApprovedDefinitions | None = None,
) -> list[Tool]:
    """Every MCP tool on offer, named so no two tools (``taken`` included) share a name.

    Servers whose tool list is cached are not started; the others are started together
    and their lists cached. A server that fails costs one ``report`` line naming it.
    """
    cache = cache or default_tool_cache()
    approved = approved or default_store()
    for problem in settings.problems:
        report(problem)
    live = [server for server in settings.servers if server.enabled]
    lists: dict[str, list[dict[str, Any]]] = {}
    missing: list[ServerConfig] = []
    for server in live:
        if server.problem:  # nothing to start: say why once
            report(f"MCP server {server.name!r} failed: {server.problem}")
            continue
        cached = cache.get(server.key)
        if cached is None:
            missing.append(server)
        else:
            lists[server.name] = cached
    if missing:
        statuses = _pool().start(missing)
        for server in missing:
            status = statuses[server.name]
            if status.state == "connected":
                cache.put(server.key, server.name, status.tools)
                lists[server.name] = status.tools
            else:
                report(failure_line(status))
    names = set(taken)
    tools: list[Tool] = []
    for server in live:
        for definition in lists.get(server.name, []):
            if not offered(server, definition["name"]):
                continue
            tool = _tool(server, definition, names, settings.servers, cache, approved, report)
            if tool is not None:
                names.add(tool.name)
                tools.append(tool)
    return tools


def offered(server: ServerConfig, name: str) -> bool:
    """``include`` (when set) and ``exclude`` globs, on the server's own tool names."""
    if server.include and not any(fnmatch.fnmatchcase(name, pattern) for pattern in server.include):
        return False
    return not any(fnmatch.fnmatchcase(name, pattern) for pattern in server.exclude)


def forget(settings: McpSettings, cache: ToolListCache | None = None) -> None:
    """Drop the cached tool lists of these servers (``--refresh``)."""
    (cache or default_tool_cache()).forget(server.key for server in settings.servers)


def failure_line(status: ServerStatus) -> str:
    """The one stderr line for a server that is not working."""
    return f"MCP server {status.server.name!r} failed: {status.reason or 'unknown reason'}"


def effect_hints(annotations: dict[str, Any]) -> dict[str, bool | None]:
    """MCP's tool annotations under chatfn's effect-hint names, with the protocol's defaults where absent.

    The protocol's defaults are the cautious ones: not read-only, destructive, not
    idempotent, open-world. Destructive says nothing about a read-only tool (``None``).
    """
    read_only = _flag(annotations.get("readOnlyHint"), False)
    return {
        "read_only_hint": read_only,
        "destructive_hint": None if read_only else _flag(annotations.get("destructiveHint"), True),
        "idempotent_hint": _flag(annotations.get("idempotentHint"), False),
        "open_world_hint": _flag(annotations.get("openWorldHint"), True),
    }


def _flag(value: Any, default: bool) -> bool:
    return value if isinstance(value, bool) else default


def _tool(
    server: ServerConfig,
    definition: dict[str, Any],
    taken: set[str],
    servers: Sequence[ServerConfig],
    cache: ToolListCache,
    approved: ApprovedDefinitions,
    report: Report,
) -> Tool | None:
    original = definition["name"]
    schema = definition.get("inputSchema")
    if not isinstance(schema, dict) or schema.get("type") != "object":
        report(f"MCP server {server.name!r}: tool {original!r} skipped: its inputSchema is not a JSON object schema")
        return None
    parameters = json.loads(json.dumps(schema))
    parameters.setdefault("properties", {})
    annotations = definition.get("annotations") if isinstance(definition.get("annotations"), dict) else {}
    hints = effect_hints(annotations)
    name = tool_name(server.name, original, taken)
    call = ForwardedCall(server, definition, servers, cache, approved, report, name)
    description = definition.get("description") if isinstance(definition.get("description"), str) else ""
    title = definition.get("title") if isinstance(definition.get("title"), str) else ""
    return Tool(
        name=name,
        description=clean(description or title or original),  # a server's text: never a terminal's commands
        parameters=parameters,
        function=call,
        plugin=f"{PLUGIN_PREFIX}{server.name}",
        needs_approval=hints["read_only_hint"] is not True,
        timeout=server.call_timeout,
        approval_check=call.needs_approval,
        **hints,
        mcp=McpSource(server.name, original, schema, annotations),
    )


class ForwardedCall:
    """A chatfn tool's function: call the tool on its server and return the text for the model."""

    def __init__(
        self,
        server: ServerConfig,
        definition: dict[str, Any],
        servers: Sequence[ServerConfig],
        cache: ToolListCache,
        approved: ApprovedDefinitions,
        report: Report,
        name: str,
    ) -> None:
        self.server = server
        self.definition = definition
        self.servers = servers
        self.cache = cache
        self.approved = approved
        self.report = report
        self.name = name
        self.__name__ = name
        self._pointed_out: str | None = None
        """The fingerprint of the changed definition already pointed out (once is enough)."""

    @property
    def changed(self) -> bool:
        """Whether this definition differs from the one that last ran."""
        last = self.approved.approved(self.server.key, self.definition["name"])
        return last is not None and last != fingerprint(self.definition)

    def needs_approval(self, arguments: dict[str, Any]) -> bool:
        """Ask when the server says nothing of being read-only, and whenever the definition changed."""
        if self.changed:
            current = fingerprint(self.definition)
            if self._pointed_out != current:
                self._pointed_out = current
                self.report(
                    f"MCP tool {self.name} (server {self.server.name!r}) changed since it last ran; "
                    "check its description and schema ('chatfn tools show') before approving"
                )
            return True
        annotations = self.definition.get("annotations") or {}
        return not (isinstance(annotations, dict) and annotations.get("readOnlyHint") is True)

    def __call__(self, **arguments: Any) -> str:
        from chatfn.mcp.content import result_text
        from chatfn.mcp.pool import CallFailed

        pool = _pool()
        pool.start([server for server in self.servers if server.enabled], wait_for=[self.server.name])
        status = pool.status(self.server.name)
        if status is None or status.state != "connected":
            reason = status.reason if status else "not started"
            raise CallFailed(f"MCP server {self.server.name!r} is not available: {reason}")
        self.cache.put(self.server.key, self.server.name, status.tools)
        fresh = next((tool for tool in status.tools if tool.get("name") == self.definition["name"]), None)
        if fresh is None:
            raise CallFailed(f"MCP server {self.server.name!r} no longer offers {self.definition['name']!r}")
        if fingerprint(fresh) != fingerprint(self.definition):
            what = ", ".join(changes(self.definition, fresh)) or "definition"
            self.definition = fresh
            raise CallFailed(
                f"the server changed this tool ({what}) since it was listed; not run. "
                "It will be shown to the user for approval if called again."
            )
        self.approved.record(self.server.key, self.definition["name"], fingerprint(self.definition))
        result = pool.call(self.server.name, self.definition["name"], arguments, self.server.call_timeout)
        return result_text(result)


def _pool() -> ServerPool:
    from chatfn.mcp.sdk import require_sdk

    require_sdk("MCP servers are configured")
    from chatfn.mcp.pool import shared_pool

    return shared_pool()
