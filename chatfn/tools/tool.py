"""A tool is one callable plus the schema the model sees and where it came from.

:class:`ToolSet` is the loaded registry: the tools on offer, and what happened to the
plugins that offered them, so ``chatfn tools list`` and ``chatfn plugins list`` can say
why a tool is missing.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from chatfn.tools.schema import SchemaError, check_schema_shape, function_schema

BUILTIN = "builtin"
"""The plugin name of chatfn's own tools."""

ApprovalCheck = Callable[[dict[str, Any]], bool]
ApprovalScope = Callable[[dict[str, Any]], str]


_SENTENCE_END = re.compile(r"\.\s+(?=[A-Z])")


@dataclass(frozen=True)
class Tool:
    """One function offered to the model."""

    name: str
    description: str
    parameters: dict[str, Any]
    function: Callable[..., Any] = field(repr=False, compare=False)
    plugin: str = BUILTIN
    distribution: str | None = None
    needs_approval: bool = False
    timeout: float | None = None
    is_async: bool = False
    approval_check: ApprovalCheck | None = field(default=None, repr=False, compare=False)
    """Per-call decision (``chatfn_needs_approval`` on the function), e.g. only for risky commands."""
    read_only_hint: bool | None = None
    """MCP's ``readOnlyHint``: the tool changes nothing. None means the plugin did not say."""
    destructive_hint: bool | None = None
    """MCP's ``destructiveHint``: a change it makes may destroy data."""
    idempotent_hint: bool | None = None
    """MCP's ``idempotentHint``: calling it twice with the same arguments does no more than once."""
    open_world_hint: bool | None = None
    """MCP's ``openWorldHint``: it reaches beyond this machine (the network, other people)."""
    private_data: bool = False
    """Its results are the user's private data (a file's contents, a command's output)."""
    approval_scope: ApprovalScope | None = field(default=None, repr=False, compare=False)
    """What ``[a]lways`` covers for a call: a key from its arguments (default: the whole tool)."""
    isolated: bool = False
    """Run each call in a worker process that is killed at its timeout or on Ctrl-C."""
    mcp: Any = field(default=None, compare=False)
    """For a tool forwarded to an MCP server: its :class:`chatfn.mcp.tools.McpSource`."""

    def openai_function(self) -> dict[str, Any]:
        """The item of the legacy ``functions`` request parameter."""
        return {"name": self.name, "description": self.description, "parameters": self.parameters}

    def openai_tool(self) -> dict[str, Any]:
        """The item of the ``tools`` request parameter."""
        return {"type": "function", "function": self.openai_function()}

    @property
    def summary(self) -> str:
        """The description's first sentence (at most 100 characters), for listings."""
        lines = self.description.strip().splitlines()
        first = lines[0] if lines else ""
        sentence = _SENTENCE_END.search(first)
        if sentence:
            first = first[: sentence.start() + 1]
        return first if len(first) <= 100 else first[:99] + "…"


def make_tool(
    function: Callable[..., Any],
    name: str | None = None,
    *,
    schema: Mapping[str, Any] | None = None,
    description: str | None = None,
    needs_approval: bool = False,
    timeout: float | None = None,
    read_only_hint: bool | None = None,
    destructive_hint: bool | None = None,
    idempotent_hint: bool | None = None,
    open_world_hint: bool | None = None,
    private_data: bool = False,
    approval_scope: ApprovalScope | None = None,
    isolated: bool = False,
    plugin: str = BUILTIN,
    distribution: str | None = None,
    build_schema: Callable[[Callable[..., Any], str | None, str | None], dict[str, Any]] = function_schema,
) -> Tool:
    """Build a :class:`Tool` from what a plugin passed to ``register``; raise :class:`SchemaError`."""
    if not callable(function):
        raise SchemaError(f"{name or function!r} is not callable")
    if schema is not None:
        checked = check_schema_shape(schema, name)
        if description is not None:
            checked["description"] = description
    else:
        checked = build_schema(function, name, description)
    if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout <= 0):
        raise SchemaError(f"{checked['name']}: timeout must be a positive number of seconds, not {timeout!r}")
    check = getattr(function, "chatfn_needs_approval", None)
    hints = {
        "read_only_hint": read_only_hint,
        "destructive_hint": destructive_hint,
        "idempotent_hint": idempotent_hint,
        "open_world_hint": open_world_hint,
    }
    for option, value in hints.items():
        if value is not None and not isinstance(value, bool):
            raise SchemaError(f"{checked['name']}: {option} must be True, False or None, not {value!r}")
    if approval_scope is not None and not callable(approval_scope):
        raise SchemaError(f"{checked['name']}: approval_scope must be callable, not {approval_scope!r}")
    if isolated and is_async_callable(function):
        raise SchemaError(f"{checked['name']}: isolated=True needs a sync function (async tools run on one event loop)")
    return Tool(
        name=checked["name"],
        description=checked["description"],
        parameters=checked["parameters"],
        function=function,
        plugin=plugin,
        distribution=distribution,
        needs_approval=bool(needs_approval),
        timeout=float(timeout) if timeout is not None else None,
        is_async=is_async_callable(function),
        approval_check=check if callable(check) else None,
        **hints,
        private_data=bool(private_data),
        approval_scope=approval_scope,
        isolated=bool(isolated),
    )


REGISTER_OPTIONS: tuple[str, ...] = (
    "schema",
    "description",
    "needs_approval",
    "timeout",
    "read_only_hint",
    "destructive_hint",
    "idempotent_hint",
    "open_world_hint",
    "private_data",
    "approval_scope",
    "isolated",
)
"""The keyword options of ``register()``: :func:`make_tool`'s, less chatfn's own bookkeeping.

Public and additive only. ``tests/test_public_api.py`` checks that this tuple, the
signature of :func:`make_tool`, :class:`chatfn.hookspecs.Register` and docs/plugins.md agree.
"""


def is_async_callable(function: Any) -> bool:
    """True for ``async def`` functions, partials of them and objects with an async ``__call__``."""
    return inspect.iscoroutinefunction(function) or inspect.iscoroutinefunction(
        getattr(function, "__call__", None)
    )


PluginStatus = Literal["loaded", "failed", "disabled"]


@dataclass
class PluginInfo:
    """What happened to one plugin while the tools were loaded."""

    name: str
    """Entry-point name, or ``"builtin"``."""
    distribution: str | None = None
    version: str | None = None
    entry_point: str | None = None
    """``module:attr`` the entry point names (the module for built-ins)."""
    tools: list[str] = field(default_factory=list)
    status: PluginStatus = "loaded"
    reason: str | None = None
    problems: list[str] = field(default_factory=list)
    load_time: float = 0.0
    """Seconds spent importing the plugin and running its hook."""

    @property
    def label(self) -> str:
        """``'name' (distribution version)``: how messages name a plugin."""
        origin = " ".join(part for part in (self.distribution, self.version) if part)
        return f"{self.name!r} ({origin})" if origin else repr(self.name)


@dataclass
class ToolSet:
    """The loaded registry of tools and the plugins behind them."""

    tools: dict[str, Tool] = field(default_factory=dict)
    plugins: list[PluginInfo] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    replaced: dict[str, str] = field(default_factory=dict)
    """Built-in tool name -> the plugin whose tool replaced it."""
    conflicts: dict[str, list[str]] = field(default_factory=dict)
    """Tool name -> the plugins that all offer it (left out until ``[tools.prefer]`` picks one)."""
    hidden: dict[str, str] = field(default_factory=dict)
    """Tool name -> why config keeps it from the model (``enabled`` / ``disabled``)."""
    schemas_checked: bool = False

    def __iter__(self) -> Iterator[Tool]:
        return iter(self.tools.values())

    def __len__(self) -> int:
        return len(self.tools)

    def __contains__(self, name: object) -> bool:
        return name in self.tools

    def get(self, name: str) -> Tool | None:
        """The tool called ``name``, if it is on offer."""
        return self.tools.get(name)

    def plugin(self, name: str) -> PluginInfo | None:
        """The plugin called ``name``, if any was found."""
        return next((info for info in self.plugins if info.name == name), None)
