"""The public API, pinned: what each public module exports, and that ``__all__`` tells the truth.

Plugins and their tests import these names, so they change only by adding (and
adding means editing this list on purpose). As httpx does, the test also checks
that every exported name exists and that nothing a module defines publicly is left
out of its ``__all__``.
"""

from __future__ import annotations

import importlib
import inspect
import subprocess
import sys

import pytest

PUBLIC: dict[str, list[str]] = {
    "chatfn": ["__version__", "hookimpl", "PROJECT_NAME"],
    "chatfn.hookspecs": ["hookspec", "Register", "register_tools"],
    "chatfn.errors": [
        "ChatfnError", "ConfigError", "EXIT_FAILURE", "EXIT_INTERRUPTED", "EXIT_OK", "EXIT_USAGE", "HangUp",
        "LogError", "PluginError", "ProviderError", "ToolError", "UsageError",
    ],
    "chatfn.events": [
        "Delta", "Done", "Event", "Notice", "Started", "ToolCall", "ToolCallEvent", "ToolOutcome", "ToolResultEvent",
        "UsageEvent",
    ],
    "chatfn.testing": [
        "chatfn_environment", "DEFAULT_MODEL", "error", "FAKE_API_KEY", "faults", "function_call",
        "invoke_chatfn_cli", "raw", "RecordedRequest", "Response", "responses_events", "responses_failure",
        "responses_text", "responses_tool_calls", "run_chatfn_cli", "RunChatfn", "Scripted", "ScriptedServer",
        "sse", "text", "tool_calls", "ToolCallSpec",
    ],
    "chatfn.testing.fixtures": ["chat_server", "chatfn_env", "invoke_chatfn", "run_chatfn"],
    "chatfn.testing.responses": [
        "DEFAULT_MODEL", "error", "FAKE_API_KEY", "faults", "function_call", "raw", "RecordedRequest", "Response",
        "Scripted", "sse", "text", "tool_calls", "ToolCallSpec",
    ],
    "chatfn.testing.responses_api": ["responses_events", "responses_failure", "responses_text", "responses_tool_calls"],
    "chatfn.testing.runner": ["chatfn_environment", "invoke_chatfn_cli", "run_chatfn_cli", "RunChatfn"],
    "chatfn.testing.server": ["ScriptedServer"],
}


@pytest.mark.parametrize("name", sorted(PUBLIC))
def test_all_is_pinned(name: str) -> None:
    module = importlib.import_module(name)
    assert sorted(module.__all__, key=str.casefold) == PUBLIC[name]


@pytest.mark.parametrize("name", sorted(PUBLIC))
def test_all_is_honest(name: str) -> None:
    """Every exported name exists; every public class and function defined here is exported."""
    module = importlib.import_module(name)
    assert [export for export in module.__all__ if not hasattr(module, export)] == []
    defined = {
        attribute
        for attribute, value in vars(module).items()
        if not attribute.startswith(("_", "pytest_"))  # pytest's hooks are pytest's, not API
        and (inspect.isclass(value) or inspect.isfunction(value))
        and getattr(value, "__module__", None) == name
    }
    assert sorted(defined - set(module.__all__)) == []


def test_every_testing_module_is_pinned() -> None:
    import pkgutil

    import chatfn.testing

    found = {f"chatfn.testing.{info.name}" for info in pkgutil.iter_modules(chatfn.testing.__path__)}
    assert found <= set(PUBLIC)


def test_the_kit_re_exports_what_its_modules_export() -> None:
    kit = importlib.import_module("chatfn.testing")
    for name in ("chatfn.testing.responses", "chatfn.testing.responses_api", "chatfn.testing.runner", "chatfn.testing.server"):
        assert set(importlib.import_module(name).__all__) <= set(kit.__all__), name


@pytest.mark.slow
def test_star_imports_give_exactly_all() -> None:
    """``from chatfn.<module> import *`` in a fresh interpreter binds the pinned names and no more."""
    code = (
        "import json, sys\n"
        "result = {}\n"
        f"for name in {sorted(PUBLIC)!r}:\n"
        "    scope = {}\n"
        "    exec(f'from {name} import *', scope)\n"
        "    result[name] = sorted((key for key in scope if key != '__builtins__'), key=str.casefold)\n"
        "print(json.dumps(result))\n"
    )
    import json

    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert json.loads(output) == PUBLIC


def test_register_options_are_written_once() -> None:
    """register()'s options: REGISTER_OPTIONS, make_tool, the hookspec's Register and docs/plugins.md agree."""
    from pathlib import Path

    from chatfn.hookspecs import Register
    from chatfn.tools.tool import REGISTER_OPTIONS, make_tool

    bookkeeping = {"plugin", "distribution", "build_schema"}  # chatfn's own, not the plugin's

    def keywords(function: object) -> list[str]:
        return [p.name for p in inspect.signature(function).parameters.values() if p.kind is p.KEYWORD_ONLY]

    assert [name for name in keywords(make_tool) if name not in bookkeeping] == list(REGISTER_OPTIONS)
    assert keywords(Register.__call__) == list(REGISTER_OPTIONS)
    docs = (Path(__file__).resolve().parents[1] / "docs" / "plugins.md").read_text(encoding="utf-8")
    heading = next(line for line in docs.splitlines() if line.startswith("### `register("))
    assert [part.split("=")[0].strip() for part in heading.split("*,")[1].rstrip(")`").split(",")] == list(REGISTER_OPTIONS)
    assert all(f"| `{name}` |" in docs for name in REGISTER_OPTIONS)
