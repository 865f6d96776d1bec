"""`chatfn tools list | show | call` as a user runs them, in a subprocess."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from plugin_factory import make_plugin, plugin_env

MATHS = '''
import chatfn

def add(a: int, b: float = 1.5, exact: bool = False, tags: list[str] = [], note: str = "") -> dict:
    """Add two numbers.

    Args:
        a: The first number.
        b: The second number.
    """
    print("this print must not reach stdout")
    return {"sum": a + b, "exact": exact, "tags": tags, "note": note}

def fail(reason: str) -> str:
    """Always fails."""
    raise ValueError(reason)

@chatfn.hookimpl
def register_tools(register):
    register(add)
    register(fail)
    register(add, name="get_current_time", description="Not really the time.", needs_approval=True, timeout=7)
'''


@pytest.fixture
def maths_env(tmp_path: Path) -> dict[str, str]:
    site = make_plugin(tmp_path / "site", MATHS, module="chatfn_maths", distribution="chatfn-maths", version="2.0", entry_point="maths")
    return plugin_env(site, load="maths")


def test_list_builtins(cli) -> None:
    result = cli("tools", "list")
    assert result.returncode == 0 and result.stderr == ""
    lines = result.stdout.splitlines()
    assert [line.split()[:2] for line in lines] == [
        ["get_current_date", "builtin"],
        ["get_current_time", "builtin"],
        ["get_current_weather", "builtin"],
    ]
    assert "Get the current weather in a given location" in lines[2]


def test_list_with_a_plugin_and_json(cli, maths_env) -> None:
    result = cli("tools", "list", env=maths_env)
    assert result.returncode == 0, result.stderr
    rows = {line.split()[0]: line for line in result.stdout.splitlines()}
    assert rows["add"].split()[1] == "maths" and "Add two numbers." in rows["add"]
    assert "replaces the built-in" in rows["get_current_time"]
    tools = json.loads(cli("tools", "list", "--json", env=maths_env).stdout)
    add = next(tool for tool in tools if tool["function"]["name"] == "add")
    assert add["type"] == "function" and add["plugin"] == "maths"
    assert add["function"]["parameters"]["properties"]["a"] == {"type": "integer", "description": "The first number."}


def test_show(cli, maths_env) -> None:
    result = cli("tools", "show", "get_current_time", env=maths_env)
    assert result.returncode == 0, result.stderr
    shown = json.loads(result.stdout)
    assert (shown["plugin"], shown["distribution"], shown["version"]) == ("maths", "chatfn-maths", "2.0")
    assert shown["needs_approval"] == "always" and shown["timeout"] == 7 and shown["replaces_builtin"]
    assert shown["parameters"]["required"] == ["a"]


def test_show_unknown_names_close_matches(cli) -> None:
    result = cli("tools", "show", "get_current_wether")
    assert result.returncode == 2 and result.stdout == ""
    assert "no tool named 'get_current_wether'" in result.stderr and "get_current_weather" in result.stderr
    assert "Traceback" not in result.stderr


def test_call_parses_values_by_schema_type(cli, maths_env) -> None:
    result = cli("tools", "call", "add", "a=2", "b=0.5", "exact=true", 'tags=["x","y"]', "note=12", env=maths_env)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"sum": 2.5, "exact": True, "tags": ["x", "y"], "note": "12"}
    assert "this print must not reach stdout" in result.stderr
    merged = cli("tools", "call", "add", "--args", '{"a": 1, "b": 1}', "b=2", env=maths_env)
    assert json.loads(merged.stdout)["sum"] == 3


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["add", "a=two"], "a=two: not a valid integer"),
        (["add", "b=1"], "'a' is a required property"),
        (["add", "--args", "[1]"], "--args: arguments must be a JSON object"),
        (["add", "novalue"], "'novalue' is not KEY=VALUE"),
        (["nope"], "no tool named 'nope'"),
    ],
)
def test_call_usage_errors(cli, maths_env, args: list[str], message: str) -> None:
    result = cli("tools", "call", *args, env=maths_env)
    assert result.returncode == 2 and message in result.stderr, result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""


def test_call_failure_is_one_line_exit_1(cli, maths_env) -> None:
    result = cli("tools", "call", "fail", "reason=out of cheese", env=maths_env)
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.strip() == "error: fail failed: ValueError: out of cheese"


def test_call_builtin_time(cli) -> None:
    result = cli("tools", "call", "get_current_time", "timezone=UTC")
    assert result.returncode == 0 and len(result.stdout.strip()) == 5
    bad = cli("tools", "call", "get_current_time", "timezone=Nowhere/Special")
    assert bad.returncode == 1 and "unknown time zone 'Nowhere/Special'" in bad.stderr


def test_config_turns_tools_off(cli, tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[tools]\ndisabled = ["get_current_weather"]\n', encoding="utf-8")
    listed = cli("tools", "list", "--config", str(config))
    assert "get_current_weather" not in listed.stdout and "turned off by config" in listed.stderr
    env_config = cli("tools", "show", "get_current_weather", env={**__import__("os").environ, "CHATFN_CONFIG": str(config)})
    assert env_config.returncode == 2 and "turned off by config" in env_config.stderr


def test_bad_config_is_a_config_error(cli, tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text("[tools]\ntimeout = 'soon'\n", encoding="utf-8")
    result = cli("tools", "list", "--config", str(config))
    assert result.returncode == 2 and "tools.timeout" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.slow
@pytest.mark.parametrize("command", [["--version"], ["tools", "list"], ["tools", "list", "--json"]])
def test_fast_commands_import_neither_openai_nor_jsonschema(command: list[str]) -> None:
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-X", "importtime", "-m", "chatfn", *command], capture_output=True, text=True, check=False)
    assert result.returncode == 0
    imported = {line.rsplit("|", 1)[-1].strip() for line in result.stderr.splitlines() if line.startswith("import time:")}
    assert "chatfn" in imported
    assert not {name for name in imported if name.split(".")[0] in ("openai", "jsonschema", "httpx", "rich")}
