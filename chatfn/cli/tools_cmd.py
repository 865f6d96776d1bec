"""`chatfn tools`: list the tools on offer, show one's schema, run one without a model.

``tools list`` is on the fast path: it loads plugins but never imports jsonschema or
the openai SDK.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, List, Optional

import typer

from chatfn.cli.options import ConfigOption, McpConfigOption
from chatfn.errors import UsageError
from chatfn.output.console import emit
from chatfn.output.sanitize import json_safe, visible

app = typer.Typer(help="List, inspect and run the tools the model can call.", no_args_is_help=True)



@app.command("list")
def list_command(
    as_json: bool = typer.Option(False, "--json", help="Full OpenAI tool definitions, each with its plugin."),
    config: Optional[Path] = ConfigOption,
    mcp_config: Optional[List[Path]] = McpConfigOption,
    refresh: bool = typer.Option(False, "--refresh", help="Ask MCP servers for their tools again (not the cache)."),
) -> None:
    """List the tools: name, the plugin (or mcp:SERVER) it came from, and what it does."""
    from chatfn.cli.mcp_cmd import load_settings
    from chatfn.output.console import status
    from chatfn.plugins.host import load_tools

    settings = load_settings(config, mcp_config)
    if refresh:
        _forget_mcp_tools(settings)
    toolset = load_tools(settings, check_schemas=False)
    if as_json:
        rows = []
        for tool in toolset:
            row = {**tool.openai_tool(), "plugin": tool.plugin}
            if tool.mcp is not None:
                row["mcp"] = {"server": tool.mcp.server, "tool": tool.mcp.tool}
            rows.append(row)
        emit(json_safe(json.dumps(rows, indent=2, ensure_ascii=False)))
        return
    if not len(toolset):
        status("no tools")
    from chatfn.output.console import answer_stream
    from chatfn.output.fit import columns_of

    for line in tool_table(toolset, columns_of(answer_stream()), replaced=toolset.replaced):
        emit(line)
    if toolset.hidden:
        status(f"turned off by config: {', '.join(sorted(toolset.hidden))}")


def tool_table(tools: Any, columns: int | None, *, replaced: Any = ()) -> list[str]:
    """One line per tool: name, plugin, summary; each cut to ``columns`` at a word boundary."""
    from chatfn.output.fit import fit

    listed = list(tools)
    width = max((len(tool.name) for tool in listed), default=0) + 2
    plugin_width = max((len(tool.plugin) for tool in listed), default=0) + 2
    lines = []
    for tool in listed:
        note = " (replaces the built-in)" if tool.name in replaced else ""
        lines.append(fit(visible(f"{tool.name:{width}}{tool.plugin:{plugin_width}}{tool.summary}{note}".rstrip()), columns))
    return lines


def _forget_mcp_tools(settings: Any) -> None:
    if settings.mcp or settings.mcp_files:
        from chatfn.mcp.config import settings_for
        from chatfn.mcp.tools import forget

        forget(settings_for(settings))


@app.command("show")
def show_command(
    name: str = typer.Argument(..., help="The tool's name."),
    config: Optional[Path] = ConfigOption,
    mcp_config: Optional[List[Path]] = McpConfigOption,
) -> None:
    """Show a tool's full schema and where it came from, as JSON (an MCP tool's as its server sent it)."""
    from chatfn.cli.mcp_cmd import load_settings
    from chatfn.tools.policy import tool_timeout

    settings = load_settings(config, mcp_config)
    tool, toolset = _find(name, settings)
    info = toolset.plugin(tool.plugin)
    approval = "always" if tool.needs_approval else "never"
    if tool.approval_check is not None:
        approval = "decided per call by the tool"
    shown: dict[str, Any] = {
        **tool.openai_function(),
        "plugin": tool.plugin,
        "distribution": tool.distribution,
        "version": info.version if info else None,
        "entry_point": info.entry_point if info else None,
        "needs_approval": approval,
        "timeout": tool_timeout(tool, settings.tools),
        "is_async": tool.is_async,
    }
    if name in toolset.replaced:
        shown["replaces_builtin"] = True
    if tool.mcp is not None:
        shown["mcp"] = {
            "server": tool.mcp.server,
            "tool": tool.mcp.tool,
            "input_schema": tool.mcp.input_schema,
            "annotations": tool.mcp.annotations,
        }
    emit(json_safe(json.dumps(shown, indent=2, ensure_ascii=False)))


@app.command("call")
def call_command(
    name: str = typer.Argument(..., help="The tool's name."),
    pairs: Optional[List[str]] = typer.Argument(None, metavar="[KEY=VALUE]...", help="Arguments, typed by the schema."),
    args: Optional[str] = typer.Option(None, "--args", help="Arguments as one JSON object (KEY=VALUE pairs win)."),
    config: Optional[Path] = ConfigOption,
    mcp_config: Optional[List[Path]] = McpConfigOption,
) -> None:
    """Run a tool directly, without a model, and print its result."""
    from chatfn.cli.mcp_cmd import load_settings
    from chatfn.tools.arguments import (
        ArgumentError,
        parse_arguments,
        validate_arguments,
    )
    from chatfn.tools.policy import tool_timeout
    from chatfn.tools.run import invoke_tool, tool_output_to_stderr

    settings = load_settings(config, mcp_config)
    tool, _ = _find(name, settings)
    try:
        arguments = parse_arguments(args or "")
    except ArgumentError as error:
        raise UsageError(f"--args: {error}") from None
    arguments.update(parse_pairs(pairs or [], tool.parameters))
    try:
        validate_arguments(tool, arguments)
    except ArgumentError as error:
        raise UsageError(str(error), hint=f"'chatfn tools show {name}' shows its schema") from None
    with tool_output_to_stderr():
        result = invoke_tool(tool, arguments, tool_timeout(tool, settings.tools))
    emit(visible(result))


def parse_pairs(pairs: list[str], parameters: dict[str, Any]) -> dict[str, Any]:
    """``key=value`` pairs as arguments: strings as written, other schema types read as JSON."""
    properties = parameters.get("properties", {})
    arguments: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise UsageError(f"argument {pair!r} is not KEY=VALUE")
        types = _types(properties.get(key, {}))
        if "string" in types:
            arguments[key] = value
            continue
        try:
            arguments[key] = json.loads(value)
        except ValueError:
            if types:
                raise UsageError(f"{key}={value}: not a valid {' or '.join(sorted(types))}") from None
            arguments[key] = value  # no declared type: take the text as it is
    return arguments


def _types(schema: Any) -> set[str]:
    """Every JSON type a property's schema allows (through ``anyOf``/``oneOf`` too)."""
    if not isinstance(schema, dict):
        return set()
    declared = schema.get("type")
    found = {declared} if isinstance(declared, str) else set(declared or [])
    if "enum" in schema and not found:
        found |= {"string" if isinstance(item, str) else "number" for item in schema["enum"]}
    for key in ("anyOf", "oneOf"):
        for option in schema.get(key, []):
            found |= _types(option)
    return found


def _find(name: str, settings: Any) -> tuple[Any, Any]:
    """The tool called ``name`` and the tool set, or a :class:`UsageError` that says why not."""
    import difflib

    from chatfn.plugins.host import load_tools

    toolset = load_tools(settings)
    tool = toolset.get(name)
    if tool is not None:
        return tool, toolset
    if name in toolset.hidden:
        raise UsageError(f"tool {name!r} is turned off by config ({toolset.hidden[name]})")
    if name in toolset.conflicts:
        plugins = " and ".join(repr(plugin) for plugin in toolset.conflicts[name])
        raise UsageError(
            f"tool {name!r} is offered by plugins {plugins}",
            hint=f'pick one in config: [tools.prefer] {name} = "{toolset.conflicts[name][0]}"',
        )
    close = difflib.get_close_matches(name, list(toolset.tools), n=3, cutoff=0.5)
    hint = f"did you mean {', '.join(close)}?" if close else "'chatfn tools list' shows the tools there are"
    raise UsageError(f"no tool named {name!r}", hint=hint)
