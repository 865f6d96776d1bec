"""Finding plugins, keeping a broken one from breaking chatfn, and loading the tools.

Built-in tools are a plugin too (:data:`DEFAULT_PLUGINS`), registered through the same
hook as a third party's. Third-party plugins come from the ``chatfn`` entry-point group;
each is imported and its hook called in isolation, so a plugin that fails to import,
raises in its hook or registers something invalid costs one stderr line, never the rest.
Loading happens once per process, on demand (:func:`load_tools`), never on import.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import importlib
import json
import os
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

import pluggy

from chatfn import PROJECT_NAME, hookspecs
from chatfn.output.console import warning
from chatfn.tools.schema import SchemaError, check_json_schema, function_schema
from chatfn.tools.schemacache import SchemaCache, default_cache
from chatfn.tools.tool import (
    BUILTIN,
    REGISTER_OPTIONS,
    PluginInfo,
    Tool,
    ToolSet,
    make_tool,
)

if TYPE_CHECKING:
    from importlib.metadata import EntryPoint

    from chatfn.settings.config import Config

DEFAULT_PLUGINS = ("chatfn.plugins.builtin",)
"""Modules registered as plugins before any third-party one."""

ENTRY_POINT_GROUP = PROJECT_NAME
LOAD_PLUGINS_ENV = "CHATFN_LOAD_PLUGINS"
"""Comma-separated distribution or entry-point names: only these third-party plugins load."""

Report = Callable[[str], None]

_cache: dict[str, ToolSet] = {}
"""Tool sets by configuration: loaded once per process, never changed once here."""


class PluginHost:
    """pluggy's plugin manager with chatfn's hook specs; pluggy itself checks each plugin against them.

    A plugin whose hooks do not fit the specs (a misspelt hook name, an argument the
    hook does not have) is refused when it is registered and left out, so the
    others still load; the error names the plugin's hooks that chatfn does not have.
    """

    def __init__(self) -> None:
        self.manager = pluggy.PluginManager(PROJECT_NAME)
        self.manager.add_hookspecs(hookspecs)

    def register(self, plugin: object, name: str) -> None:
        """Register ``plugin``; :class:`pluggy.PluginValidationError` if its hooks break the specs."""
        self.manager.register(plugin, name=name)  # checks the arguments of hooks that have a spec
        try:
            self.manager.check_pending()  # hooks that have none
        except pluggy.PluginValidationError:
            unknown = [caller.name for caller in self.manager.get_hookcallers(plugin) or [] if not caller.has_spec()]
            self.manager.unregister(plugin)
            known = ", ".join(sorted(name for name in dir(hookspecs) if hasattr(getattr(hookspecs, name), "chatfn_spec")))
            raise pluggy.PluginValidationError(plugin, f"unknown hook {', '.join(unknown)} (chatfn has {known})") from None

    def register_tools_hooks(self, plugin: object) -> list[pluggy.HookImpl]:
        """``plugin``'s implementations of ``register_tools``, to be called one plugin at a time."""
        return [impl for impl in self.manager.hook.register_tools.get_hookimpls() if impl.plugin is plugin]


def get_plugin_manager() -> pluggy.PluginManager:
    """A plugin manager that knows chatfn's hook specs and nothing else yet."""
    return PluginHost().manager


def load_tools(config: Config | None = None, *, report: Report = warning, check_schemas: bool = True) -> ToolSet:
    """The tools on offer under ``config``, loading plugins the first time it is asked.

    ``check_schemas=False`` skips the full JSON Schema check of every tool (which needs
    jsonschema, slow to import) for listings; the cheap structural check always runs.
    """
    if config is None:
        from chatfn.settings.config import Config

        config = Config()
    key = json.dumps(
        [
            asdict(config.tools),
            config.disabled_plugins,
            config.plugins,
            config.mcp,
            config.mcp_files,
            os.environ.get(LOAD_PLUGINS_ENV),
        ],
        sort_keys=True,
        default=str,
    )
    toolset = _cache.get(key)
    if toolset is None:
        toolset = _cache[key] = _load(config, report)
    if check_schemas and not toolset.schemas_checked:
        toolset = _cache[key] = verify_schemas(toolset, report)
    return toolset


def clear_cache() -> None:
    """Forget loaded tool sets, so the next :func:`load_tools` discovers plugins again."""
    _cache.clear()


def verify_schemas(toolset: ToolSet, report: Report = warning) -> ToolSet:
    """``toolset`` without (and reporting) tools whose parameters are not valid JSON Schema.

    A new tool set: whoever holds ``toolset`` (a listing, a chat session) sees it unchanged.
    A schema found valid once is not checked again (:meth:`SchemaCache.checked`).
    """
    checked = _copy(toolset)
    schemas = default_cache()
    for tool in list(checked.tools.values()):
        if schemas.checked(tool.parameters):
            continue
        try:
            check_json_schema(tool.parameters, tool.name)
            schemas.mark_checked(tool.parameters)
        except SchemaError as error:
            info = checked.plugin(tool.plugin)
            _problem(checked, info, f"plugin {info.label if info else repr(tool.plugin)} registered an invalid tool: {error}", report)
            del checked.tools[tool.name]
            if info is not None and tool.name in info.tools:
                info.tools.remove(tool.name)
    schemas.save()
    checked.schemas_checked = True
    return checked


def _copy(toolset: ToolSet) -> ToolSet:
    """A copy whose lists, dicts and plugin records can change without touching ``toolset``'s."""
    copied = {
        field.name: _copy_value(getattr(toolset, field.name)) for field in dataclasses.fields(toolset) if field.init
    }
    return ToolSet(**copied)


def _copy_value(value: Any) -> Any:
    if isinstance(value, PluginInfo):
        return dataclasses.replace(value, tools=list(value.tools), problems=list(value.problems))
    if isinstance(value, list):
        return [_copy_value(item) for item in value]
    if isinstance(value, dict):
        return {key: _copy_value(item) for key, item in value.items()}
    return value


# -- loading ----------------------------------------------------------------------


def _load(config: Config, report: Report) -> ToolSet:
    toolset = ToolSet()
    host = PluginHost()
    registered: list[tuple[PluginInfo, object]] = []
    for module_name in DEFAULT_PLUGINS:
        name = BUILTIN if module_name == DEFAULT_PLUGINS[0] else module_name
        info = PluginInfo(name=name, distribution="chatfn", version=_own_version(), entry_point=module_name)
        toolset.plugins.append(info)
        if _is_listed(config.disabled_plugins, name, None):
            info.status, info.reason = "disabled", "disabled in config (disabled_plugins)"
            continue
        started = time.perf_counter()
        plugin = _register(host, info, lambda module_name=module_name: importlib.import_module(module_name), toolset, report)
        info.load_time = time.perf_counter() - started
        if plugin is not None:
            registered.append((info, plugin))
    for entry_point in _entry_points():
        info = _entry_point_info(entry_point)
        toolset.plugins.append(info)
        skipped = _skip_reason(entry_point, info, config)
        if skipped:
            info.status, info.reason = "disabled", skipped
            continue
        started = time.perf_counter()
        plugin = _register(host, info, entry_point.load, toolset, report)
        info.load_time = time.perf_counter() - started
        if plugin is not None:
            registered.append((info, plugin))
    offered: dict[str, list[Tool]] = {}
    schemas = default_cache()
    for info, plugin in registered:
        started = time.perf_counter()
        for tool in _call_hook(host, plugin, info, config, toolset, report, schemas):
            offered.setdefault(tool.name, []).append(tool)
        info.load_time += time.perf_counter() - started
    schemas.save()
    _merge(offered, toolset, config, report)
    _add_mcp_tools(toolset, config, report)
    _apply_selection(toolset, config)
    _apply_isolation(toolset, config, report)
    return toolset


def _register(
    host: PluginHost, info: PluginInfo, load: Callable[[], object], toolset: ToolSet, report: Report
) -> object | None:
    """Import one plugin and register it; on failure mark it failed and report one line."""
    try:
        plugin = load()
        host.register(plugin, info.name)
    except BaseException as error:
        if isinstance(error, KeyboardInterrupt):
            raise
        _fail(toolset, info, "failed to load", error, report)
        return None
    return plugin


def _call_hook(
    host: PluginHost,
    plugin: object,
    info: PluginInfo,
    config: Config,
    toolset: ToolSet,
    report: Report,
    schemas: SchemaCache,
) -> list[Tool]:
    """Run one plugin's ``register_tools``; an exception discards that plugin's tools."""
    tools: list[Tool] = []

    def build(function: Any, name: str | None, description: str | None) -> dict[str, Any]:
        return schemas.schema(function, name, description, function_schema)

    def register(function: Any, name: str | None = None, **options: Any) -> None:
        unknown = sorted(set(options).difference(REGISTER_OPTIONS))
        if unknown:
            _problem(toolset, info, f"plugin {info.label} passed unknown register() options {unknown}", report)
            return
        try:
            tool = make_tool(
                function, name, plugin=info.name, distribution=info.distribution, build_schema=build, **options
            )
        except (SchemaError, TypeError) as error:
            _problem(toolset, info, f"plugin {info.label} registered an invalid tool: {error}", report)
            return
        if any(existing.name == tool.name for existing in tools):
            _problem(toolset, info, f"plugin {info.label} registered {tool.name!r} twice; the first is kept", report)
            return
        tools.append(tool)

    arguments = {"register": register, "plugin_config": config.plugins}
    hooks = host.register_tools_hooks(plugin)
    for impl in hooks:
        try:
            impl.function(**{name: arguments[name] for name in impl.argnames})
        except BaseException as error:
            if isinstance(error, KeyboardInterrupt):
                raise
            _fail(toolset, info, "failed to load", error, report)
            return []
    info.tools = [tool.name for tool in tools]
    if not hooks and info.name != BUILTIN:
        unmarked = callable(getattr(plugin, "register_tools", None))
        _problem(
            toolset,
            info,
            f"plugin {info.label} has no register_tools hook"
            + ("; its register_tools is not marked with @chatfn.hookimpl" if unmarked else ""),
            report,
        )
    elif not tools and not info.problems:
        _problem(toolset, info, f"plugin {info.label} registered no tools", report)
    return tools


def _merge(offered: dict[str, list[Tool]], toolset: ToolSet, config: Config, report: Report) -> None:
    """Built-ins first; a third party replaces a built-in; two third parties need ``[tools.prefer]``."""
    for name, candidates in offered.items():
        builtin = next((tool for tool in candidates if tool.plugin == BUILTIN), None)
        others = [tool for tool in candidates if tool.plugin != BUILTIN]
        preferred = config.tools.prefer.get(name)
        chosen: Tool | None
        if preferred is not None and any(tool.plugin == preferred for tool in candidates):
            chosen = next(tool for tool in candidates if tool.plugin == preferred)
        elif len(others) > 1:
            labels = [_label(toolset, tool.plugin) for tool in others]
            toolset.conflicts[name] = [tool.plugin for tool in others]
            _problem(
                toolset,
                None,
                f"tool {name!r} is offered by plugins {' and '.join(labels)}; it is left out until you pick one "
                f'in config: [tools.prefer] {name} = "{others[0].plugin}"',
                report,
            )
            continue
        else:
            chosen = others[0] if others else builtin
        if chosen is None:
            continue
        if builtin is not None and chosen is not builtin:
            toolset.replaced[name] = chosen.plugin
        toolset.tools[name] = chosen


def _add_mcp_tools(toolset: ToolSet, config: Config, report: Report) -> None:
    """MCP servers' tools, after the plugins' (whose names they never take); nothing is imported without servers."""
    if not (config.mcp.get("servers") or config.mcp.get("config_files") or config.mcp_files):
        return
    from chatfn.mcp.config import settings_for
    from chatfn.mcp.tools import server_tools

    for tool in server_tools(settings_for(config), toolset.tools, report):
        toolset.tools[tool.name] = tool


def _apply_selection(toolset: ToolSet, config: Config) -> None:
    """``[tools] enabled`` (only these, when set) and ``disabled`` (names or globs)."""
    for name in list(toolset.tools):
        if config.tools.enabled and not _matches(name, config.tools.enabled):
            toolset.hidden[name] = "not in [tools] enabled"
        elif _matches(name, config.tools.disabled):
            toolset.hidden[name] = "in [tools] disabled"
        else:
            continue
        del toolset.tools[name]


def _apply_isolation(toolset: ToolSet, config: Config, report: Report) -> None:
    """``[tools] isolated``: these sync tools run in a worker process, as ``register(..., isolated=True)``."""
    for name, tool in list(toolset.tools.items()):
        if tool.isolated or tool.mcp is not None or not _matches(name, config.tools.isolated):
            continue
        if tool.is_async:
            _problem(toolset, toolset.plugin(tool.plugin), f"{name} cannot run isolated ([tools] isolated): it is async", report)
            continue
        toolset.tools[name] = dataclasses.replace(tool, isolated=True)


def _matches(name: str, patterns: Iterable[str]) -> bool:
    return any(fnmatch.fnmatchcase(name, pattern) for pattern in patterns)


# -- entry points and names ---------------------------------------------------------


def _entry_points() -> list[EntryPoint]:
    from importlib.metadata import entry_points

    return sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda entry_point: entry_point.name)


def _entry_point_info(entry_point: EntryPoint) -> PluginInfo:
    dist = getattr(entry_point, "dist", None)
    name = version = None
    if dist is not None:
        try:
            name, version = dist.metadata["Name"], dist.version
        except Exception:  # broken metadata must not stop discovery
            pass
    return PluginInfo(name=entry_point.name, distribution=name, version=version, entry_point=entry_point.value)


def _skip_reason(entry_point: EntryPoint, info: PluginInfo, config: Config) -> str | None:
    selected = os.environ.get(LOAD_PLUGINS_ENV)
    if selected is not None:
        wanted = [part.strip() for part in selected.split(",") if part.strip()]
        if not _is_listed(wanted, entry_point.name, info.distribution):
            return f"not in {LOAD_PLUGINS_ENV}"
    if _is_listed(config.disabled_plugins, entry_point.name, info.distribution):
        return "disabled in config (disabled_plugins)"
    return None


def _is_listed(names: Iterable[str], entry_point_name: str, distribution: str | None) -> bool:
    wanted = {_normalise(name) for name in names}
    return _normalise(entry_point_name) in wanted or (distribution is not None and _normalise(distribution) in wanted)


def _normalise(name: str) -> str:
    """PEP 503 name normalisation, so ``chatfn_files`` and ``chatfn-files`` are one name."""
    import re

    return re.sub(r"[-_.]+", "-", name).lower()


def _own_version() -> str:
    from chatfn import __version__

    return __version__


def _label(toolset: ToolSet, plugin: str) -> str:
    info = toolset.plugin(plugin)
    return info.label if info else repr(plugin)


def _fail(toolset: ToolSet, info: PluginInfo, what: str, error: BaseException, report: Report) -> None:
    detail = " ".join(str(error).split()) or "(no message)"
    info.status, info.reason, info.tools = "failed", f"{type(error).__name__}: {detail}", []
    _problem(toolset, info, f"plugin {info.label} {what}: {info.reason}", report)


def _problem(toolset: ToolSet, info: PluginInfo | None, message: str, report: Report) -> None:
    toolset.problems.append(message)
    if info is not None:
        info.problems.append(message)
    report(message)
