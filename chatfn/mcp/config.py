"""MCP server entries, from chatfn's TOML config and from the JSON files other clients use.

One entry shape is read from three places, in this order (the first entry of a name wins;
a later one of the same name is reported and skipped):

1. files named by ``--mcp-config FILE`` (the command line is the most specific),
2. ``[mcp.servers.NAME]`` tables in chatfn's config,
3. files listed in ``[mcp] config_files``.

A JSON file may be Claude Desktop's ``{"mcpServers": {NAME: {...}}}`` or VS Code's
``{"servers": {NAME: {...}}}``. An entry runs a command over stdio (``command``, ``args``,
``env``, ``cwd``) or reaches a URL over streamable HTTP (``url``, ``headers``). ``${VAR}``
(and VS Code's ``${env:VAR}``) in any value is read from the environment when the entry
is read; a variable that is not set marks that server failed, never the others.
JSON files carry other clients' keys too, so unknown keys there are ignored; chatfn's own
TOML is strict, as the rest of its config is.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from chatfn.errors import ConfigError

Transport = Literal["stdio", "http"]

DEFAULT_STARTUP_TIMEOUT = 30.0
DEFAULT_CALL_TIMEOUT = 60.0

_TRANSPORT_NAMES: dict[str, Transport] = {
    "stdio": "stdio",
    "http": "http",
    "streamable-http": "http",
    "streamable_http": "http",
    "streamablehttp": "http",
}
_TOML_SERVER_KEYS = frozenset(
    {"type", "command", "args", "env", "cwd", "url", "headers", "enabled", "startup_timeout", "call_timeout", "include", "exclude"}
)
_TOML_MCP_KEYS = frozenset({"servers", "config_files", "startup_timeout", "call_timeout", "serve_tools_needing_approval"})
_VARIABLE = re.compile(r"\$\{([^}]*)\}")
_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


@dataclass(frozen=True)
class ServerConfig:
    """One MCP server as chatfn will reach it, with every ``${VAR}`` already expanded."""

    name: str
    transport: Transport
    source: str
    """Where the entry was read: a config file, or a JSON file."""
    command: str | None = None
    args: tuple[str, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict)
    cwd: str | None = None
    url: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    enabled: bool = True
    startup_timeout: float = DEFAULT_STARTUP_TIMEOUT
    call_timeout: float = DEFAULT_CALL_TIMEOUT
    include: tuple[str, ...] = ()
    """Globs of the server's own tool names to offer (all when empty)."""
    exclude: tuple[str, ...] = ()
    problem: str | None = None
    """Why this server cannot be started at all (an unset variable, an unknown transport)."""

    @property
    def key(self) -> str:
        """What the server's tool list depends on, hashed: a change means asking it again."""
        material = [self.transport, self.command, list(self.args), dict(sorted(self.env.items())), self.cwd, self.url]
        material.append(dict(sorted(self.headers.items())))
        return hashlib.sha256(json.dumps(material).encode("utf-8", "surrogatepass")).hexdigest()

    @property
    def target(self) -> str:
        """What ``chatfn mcp list`` shows as where the server lives (no header values)."""
        if self.transport == "http":
            return self.url or ""
        return " ".join([self.command or "", *self.args]).strip()


@dataclass(frozen=True)
class McpSettings:
    """The ``[mcp]`` table, checked."""

    servers: tuple[ServerConfig, ...] = ()
    serve_tools_needing_approval: bool = False
    """``chatfn mcp serve`` offers tools that would ask for approval in chatfn (the client asks instead)."""
    problems: tuple[str, ...] = ()
    """Entries skipped (a name given twice): one line each, for the caller to report."""


def read_settings(
    raw: Mapping[str, Any] | None,
    *,
    config_source: Path | None = None,
    extra_files: Iterable[Path] = (),
    environ: Mapping[str, str] | None = None,
) -> McpSettings:
    """The servers configured by ``raw`` (the ``[mcp]`` table) and ``extra_files``.

    Raise :class:`ConfigError` for a file that cannot be read or an entry of the wrong
    shape: that is the user's to fix, and guessing would start the wrong program.
    """
    environ = os.environ if environ is None else environ
    table = dict(raw or {})
    where = str(config_source) if config_source else "config"
    unknown = sorted(set(table) - _TOML_MCP_KEYS)
    if unknown:
        raise ConfigError(f"{where}: mcp.{unknown[0]}: unknown key")
    defaults = {
        "startup_timeout": _positive(table.get("startup_timeout", DEFAULT_STARTUP_TIMEOUT), f"{where}: mcp.startup_timeout"),
        "call_timeout": _positive(table.get("call_timeout", DEFAULT_CALL_TIMEOUT), f"{where}: mcp.call_timeout"),
    }
    serve_all = table.get("serve_tools_needing_approval", False)
    if not isinstance(serve_all, bool):
        raise ConfigError(f"{where}: mcp.serve_tools_needing_approval: expected true or false (got {serve_all!r})")
    entries: list[tuple[str, Any, str, bool]] = []
    for file in extra_files:
        entries.extend(_file_entries(Path(file).expanduser()))
    servers = table.get("servers", {})
    if not isinstance(servers, dict):
        raise ConfigError(f"{where}: mcp.servers: expected a table of servers (got {servers!r})")
    entries.extend((name, entry, where, True) for name, entry in servers.items())
    files = table.get("config_files", [])
    if not isinstance(files, list) or not all(isinstance(item, str) for item in files):
        raise ConfigError(f"{where}: mcp.config_files: expected a list of file names (got {files!r})")
    base = config_source.parent if config_source else Path.cwd()
    for item in files:
        entries.extend(_file_entries(base / Path(_expand(item, environ)[0]).expanduser()))
    chosen: dict[str, ServerConfig] = {}
    problems: list[str] = []
    for name, entry, source, strict in entries:
        server = _server(name, entry, source, strict, defaults, environ)
        if name in chosen:
            problems.append(f"MCP server {name!r} from {source} is skipped: {chosen[name].source} already defines it")
            continue
        chosen[name] = server
    return McpSettings(tuple(chosen.values()), serve_all, tuple(problems))


def _file_entries(path: Path) -> list[tuple[str, Any, str, bool]]:
    """The server entries of one JSON file in Claude Desktop's or VS Code's shape."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such MCP config file") from None
    except OSError as error:
        raise ConfigError(f"{path}: cannot read MCP config file: {error.strerror or error}") from None
    except ValueError as error:
        raise ConfigError(f"{path}: not valid JSON: {error}") from None
    if not isinstance(data, dict) or not any(key in data for key in ("mcpServers", "servers")):
        raise ConfigError(f"{path}: expected an object with \"mcpServers\" (Claude Desktop) or \"servers\" (VS Code)")
    servers = data.get("mcpServers", data.get("servers"))
    if not isinstance(servers, dict):
        raise ConfigError(f"{path}: the servers must be an object of NAME: entry")
    return [(name, entry, str(path), False) for name, entry in servers.items()]


def _server(
    name: Any, entry: Any, source: str, strict: bool, defaults: dict[str, float], environ: Mapping[str, str]
) -> ServerConfig:
    where = f"{source}: MCP server {name!r}"
    if not isinstance(name, str) or not _NAME.match(name):
        raise ConfigError(f"{where}: a server name is 1-64 letters, digits, '_', '-' or '.'")
    if not isinstance(entry, dict):
        raise ConfigError(f"{where}: expected an object/table (got {entry!r})")
    if strict:
        unknown = sorted(set(entry) - _TOML_SERVER_KEYS)
        if unknown:
            raise ConfigError(f"{where}: {unknown[0]}: unknown key")
    problems: list[str] = []

    def text(key: str) -> str | None:
        value = entry.get(key)
        if value is None:
            return None
        if not isinstance(value, str):
            raise ConfigError(f"{where}: {key}: expected a string (got {value!r})")
        expanded, problem = _expand(value, environ)
        if problem:
            problems.append(problem)
        return expanded

    def texts(key: str) -> tuple[str, ...]:
        value = entry.get(key, [])
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise ConfigError(f"{where}: {key}: expected a list of strings (got {value!r})")
        return tuple(_expanded(item, problems, environ) for item in value)

    def table(key: str) -> dict[str, str]:
        value = entry.get(key, {})
        if not isinstance(value, dict) or not all(isinstance(item, str) for item in value.values()):
            raise ConfigError(f"{where}: {key}: expected a table of strings (got {value!r})")
        return {str(k): _expanded(v, problems, environ) for k, v in value.items()}

    command, url = text("command"), text("url")
    kind = entry.get("type")
    if kind is None:
        transport: Transport | None = "http" if url is not None and command is None else "stdio"
    elif isinstance(kind, str):
        transport = _TRANSPORT_NAMES.get(kind.lower())
        if transport is None:
            problems.append(f"transport {kind!r} is not supported (chatfn speaks stdio and streamable HTTP)")
            transport = "http" if url else "stdio"
    else:
        raise ConfigError(f"{where}: type: expected a string (got {kind!r})")
    if transport == "stdio" and not command:
        raise ConfigError(f"{where}: needs a \"command\" (stdio) or a \"url\" (streamable HTTP)")
    if transport == "http" and not url:
        raise ConfigError(f"{where}: type {kind!r} needs a \"url\"")
    enabled = entry.get("enabled", not entry.get("disabled", False))
    if not isinstance(enabled, bool):
        raise ConfigError(f"{where}: enabled: expected true or false (got {enabled!r})")
    return ServerConfig(
        name=name,
        transport=transport,
        source=source,
        command=command if transport == "stdio" else None,
        args=texts("args") if transport == "stdio" else (),
        env=table("env") if transport == "stdio" else {},
        cwd=text("cwd") if transport == "stdio" else None,
        url=url if transport == "http" else None,
        headers=table("headers") if transport == "http" else {},
        enabled=enabled,
        startup_timeout=_positive(entry.get("startup_timeout", defaults["startup_timeout"]), f"{where}: startup_timeout"),
        call_timeout=_positive(entry.get("call_timeout", defaults["call_timeout"]), f"{where}: call_timeout"),
        include=texts("include"),
        exclude=texts("exclude"),
        problem="; ".join(dict.fromkeys(problems)) or None,
    )


def _expanded(value: str, problems: list[str], environ: Mapping[str, str]) -> str:
    expanded, problem = _expand(value, environ)
    if problem:
        problems.append(problem)
    return expanded


def _expand(value: str, environ: Mapping[str, str]) -> tuple[str, str | None]:
    """``value`` with ``${VAR}`` and ``${env:VAR}`` read from ``environ``; and what could not be."""
    problem: list[str] = []

    def replace(match: re.Match[str]) -> str:
        inner = match.group(1)
        name = inner[4:] if inner.startswith("env:") else inner
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            problem.append(f"cannot expand {match.group(0)} (only ${{VAR}} from the environment)")
            return match.group(0)
        if name not in environ:
            problem.append(f"environment variable {name} is not set")
            return ""
        return environ[name]

    expanded = _VARIABLE.sub(replace, value)
    return expanded, problem[0] if problem else None


def _positive(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise ConfigError(f"{where}: must be a positive number of seconds (got {value!r})")
    return float(value)


def settings_for(config: Any) -> McpSettings:
    """The MCP settings of a loaded :class:`~chatfn.settings.config.Config` (its ``[mcp]`` table and ``--mcp-config`` files)."""
    return read_settings(config.mcp, config_source=config.source, extra_files=config.mcp_files)
