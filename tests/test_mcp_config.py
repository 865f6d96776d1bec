"""MCP server entries from chatfn's TOML and other clients' JSON files; the naming rule; the caches."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from chatfn.errors import ConfigError
from chatfn.mcp.cache import ToolListCache
from chatfn.mcp.config import read_settings, settings_for
from chatfn.mcp.names import NAME_PATTERN, tool_name
from chatfn.mcp.tools import effect_hints
from chatfn.mcp.trust import ApprovedDefinitions, changes, fingerprint
from chatfn.settings.config import load_config, redacted


def write_json(path: Path, data: object) -> Path:
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_toml_tables_become_servers(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        """
[mcp]
call_timeout = 5
[mcp.servers.time]
command = "mcp-server-time"
args = ["--local-timezone", "UTC"]
env = { TZ_HINT = "${HOME}" }
include = ["get_*"]
[mcp.servers.remote]
url = "http://127.0.0.1:9/mcp"
headers = { Authorization = "Bearer ${MCP_TEST_TOKEN}" }
enabled = false
""",
        encoding="utf-8",
    )
    settings = settings_for(load_config(config))
    time, remote = settings.servers
    assert (time.name, time.transport, time.command, time.args) == ("time", "stdio", "mcp-server-time", ("--local-timezone", "UTC"))
    assert time.env == {"TZ_HINT": str(Path.home())} and time.include == ("get_*",)
    assert time.call_timeout == 5.0 and time.problem is None
    assert remote.transport == "http" and not remote.enabled and remote.url == "http://127.0.0.1:9/mcp"
    assert remote.problem == "environment variable MCP_TEST_TOKEN is not set"


def test_claude_desktop_and_vs_code_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MCP_TEST_TOKEN", "s3cret-token")
    claude = write_json(
        tmp_path / "claude.json",
        {
            "mcpServers": {
                "git": {"command": "uvx", "args": ["mcp-server-git"], "env": {"A": "1"}, "autoApprove": []},
                "remote": {"url": "http://127.0.0.1:9/mcp", "headers": {"Authorization": "Bearer ${MCP_TEST_TOKEN}"}},
            }
        },
    )
    vscode = write_json(
        tmp_path / "mcp.json",
        {
            "inputs": [],
            "servers": {
                "web": {"type": "http", "url": "http://127.0.0.1:9/web"},
                "old": {"type": "sse", "url": "http://127.0.0.1:9/sse"},
                "ask": {"type": "stdio", "command": "x", "args": ["${input:token}", "${env:MCP_TEST_TOKEN}"]},
            },
        },
    )
    settings = read_settings({}, extra_files=[claude, vscode])
    servers = {server.name: server for server in settings.servers}
    assert servers["git"].args == ("mcp-server-git",) and servers["git"].source == str(claude)
    assert servers["remote"].transport == "http"
    assert servers["remote"].headers == {"Authorization": "Bearer s3cret-token"}
    assert servers["web"].transport == "http"
    assert servers["old"].problem and "'sse' is not supported" in servers["old"].problem
    assert servers["ask"].args[1] == "s3cret-token"
    assert servers["ask"].problem == "cannot expand ${input:token} (only ${VAR} from the environment)"


def test_first_entry_of_a_name_wins_and_the_other_is_reported(tmp_path: Path) -> None:
    listed = write_json(tmp_path / "listed.json", {"mcpServers": {"time": {"command": "from-listed"}}})
    named = write_json(tmp_path / "named.json", {"mcpServers": {"time": {"command": "from-flag"}}})
    raw = {"config_files": [str(listed)], "servers": {"time": {"command": "from-toml"}}}
    settings = read_settings(raw, extra_files=[named])
    assert [server.command for server in settings.servers] == ["from-flag"]
    assert len(settings.problems) == 2 and all("'time'" in line and "skipped" in line for line in settings.problems)


def test_config_files_are_relative_to_the_config(tmp_path: Path) -> None:
    write_json(tmp_path / "servers.json", {"servers": {"one": {"command": "x"}}})
    config = tmp_path / "config.toml"
    config.write_text('[mcp]\nconfig_files = ["servers.json"]\n', encoding="utf-8")
    assert [server.name for server in settings_for(load_config(config)).servers] == ["one"]


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"servers": {"x": {"command": "a", "colour": "red"}}}, "colour: unknown key"),
        ({"servers": {"x": {"args": ["a"]}}}, 'needs a "command"'),
        ({"servers": {"x": {"command": "a", "args": "not a list"}}}, "args: expected a list of strings"),
        ({"servers": {"bad name!": {"command": "a"}}}, "a server name is"),
        ({"servers": {"x": {"command": "a", "call_timeout": 0}}}, "call_timeout: must be a positive number"),
        ({"serve": True}, "mcp.serve: unknown key"),
        ({"config_files": ["missing.json"]}, "no such MCP config file"),
    ],
)
def test_wrong_entries_are_one_config_error(raw: dict, message: str, tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as raised:
        read_settings(raw, config_source=tmp_path / "config.toml")
    assert message in str(raised.value)


def test_a_json_file_of_another_shape_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="mcpServers"):
        read_settings({}, extra_files=[write_json(tmp_path / "x.json", {"tools": {}})])
    (tmp_path / "broken.json").write_text("{", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid JSON"):
        read_settings({}, extra_files=[tmp_path / "broken.json"])


def test_config_show_redacts_mcp_secrets(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        '[mcp.servers.gh]\ncommand = "gh-mcp"\nenv = { GITHUB_TOKEN = "ghp_secret" }\n'
        '[mcp.servers.web]\nurl = "http://127.0.0.1:9/mcp"\nheaders = { Authorization = "Bearer abc" }\n',
        encoding="utf-8",
    )
    shown = json.dumps(redacted(load_config(config)))
    assert "ghp_secret" not in shown and "Bearer abc" not in shown and "gh-mcp" in shown


def test_the_cache_key_follows_the_entry() -> None:
    (one,) = read_settings({"servers": {"s": {"command": "a", "args": ["1"]}}}).servers
    (same,) = read_settings({"servers": {"s": {"command": "a", "args": ["1"], "call_timeout": 9}}}).servers
    (other,) = read_settings({"servers": {"s": {"command": "a", "args": ["2"]}}}).servers
    assert one.key == same.key != other.key


# -- names ---------------------------------------------------------------------------


def test_names_are_server_and_tool_made_valid() -> None:
    assert tool_name("time", "get_current_time", set()) == "time_get_current_time"
    assert tool_name("my.server", "read file/now", set()) == "my_server_read_file_now"


def test_long_and_clashing_names_get_a_stable_suffix() -> None:
    long = tool_name("server", "x" * 100, set())
    assert len(long) == 64 and NAME_PATTERN.match(long) and long.startswith("server_xxx")
    assert long == tool_name("server", "x" * 100, {"unrelated"})
    first = tool_name("a", "b_c", set())
    second = tool_name("a_b", "c", {first})
    assert first == "a_b_c" and second != first and second.startswith("a_b_c_") and len(second) == 12
    assert second == tool_name("a_b", "c", {first, "other"})


# -- caches --------------------------------------------------------------------------


def test_tool_list_cache_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "cache" / "mcp-tools.json"
    ToolListCache(path).put("k", "server", [{"name": "t", "inputSchema": {"type": "object"}}])
    assert ToolListCache(path).get("k") == [{"name": "t", "inputSchema": {"type": "object"}}]
    assert path.stat().st_mode & 0o777 == 0o600
    ToolListCache(path).forget(["k"])
    assert ToolListCache(path).get("k") is None
    path.write_text("not json", encoding="utf-8")
    assert ToolListCache(path).get("k") is None


def test_approved_definitions_notice_changes(tmp_path: Path) -> None:
    old = {"name": "t", "description": "Reads.", "inputSchema": {"type": "object"}}
    new = {**old, "description": "Reads, and sends your files away."}
    store = ApprovedDefinitions(tmp_path / "approved.json")
    assert store.approved("k", "t") is None
    store.record("k", "t", fingerprint(old))
    assert ApprovedDefinitions(tmp_path / "approved.json").approved("k", "t") == fingerprint(old) != fingerprint(new)
    assert changes(old, new) == ["description"]


def test_annotations_become_effect_hints_with_the_protocols_cautious_defaults() -> None:
    assert effect_hints({}) == {
        "read_only_hint": False,
        "destructive_hint": True,
        "idempotent_hint": False,
        "open_world_hint": True,
    }
    assert effect_hints({"readOnlyHint": True, "openWorldHint": False, "destructiveHint": True}) == {
        "read_only_hint": True,
        "destructive_hint": None,
        "idempotent_hint": False,
        "open_world_hint": False,
    }
    assert effect_hints({"destructiveHint": False, "idempotentHint": True, "readOnlyHint": "yes"})["destructive_hint"] is False
