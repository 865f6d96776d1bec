"""MCP servers through the real CLI: chat end to end, tools list and its cache, mcp list, signals."""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

if importlib.util.find_spec("mcp") is None:  # found, not imported: the SDK costs a second at collection
    pytest.skip("the MCP SDK is in the test extra", allow_module_level=True)
pytestmark = pytest.mark.slow  # chatfn and server processes, each importing the SDK

from zygote import popen_chatfn

from chatfn.testing import text, tool_calls

FAULT_SERVER = str(Path(__file__).with_name("mcp_fault_server.py"))
TIME_SERVER = {"command": sys.executable, "args": ["-m", "mcp_server_time", "--local-timezone", "UTC"]}


def mcp_file(path: Path, servers: dict) -> Path:
    path.write_text(json.dumps({"mcpServers": servers}), encoding="utf-8")
    return path


def imported_sdk(stderr: str) -> bool:
    """Whether ``-X importtime`` output shows the MCP SDK imported."""
    return any(line.split("|")[-1].strip() in ("mcp", "mcp_types") for line in stderr.splitlines() if "|" in line)


def test_the_model_calls_an_mcp_tool_and_gets_the_servers_answer(chat_server, invoke_chatfn, tmp_path: Path) -> None:
    servers = mcp_file(
        tmp_path / "claude.json",
        {"time": TIME_SERVER, "broken": {"command": sys.executable, "args": [FAULT_SERVER, "exit"]}},
    )
    chat_server.script(tool_calls(("time_get_current_time", {"timezone": "Asia/Tokyo"})), text("Late in Tokyo."))
    result = invoke_chatfn("chat", "--mcp-config", str(servers), "What time is it in Tokyo?")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "Late in Tokyo.\n"
    assert "MCP server 'broken' failed: MCPError: Connection closed (stderr: fault server: refusing to start)" in result.stderr
    offered = {tool["function"]["name"]: tool["function"] for tool in chat_server.requests[0].tools}
    assert offered["time_get_current_time"]["parameters"]["required"] == ["timezone"]
    assert "get_current_time" in offered  # the built-in keeps its name
    answer = chat_server.requests[1].messages[-1]
    assert answer["role"] == "tool"
    sent = json.loads(answer["content"])
    assert sent["timezone"] == "Asia/Tokyo" and sent["datetime"].endswith("+09:00")


def test_tools_list_reads_the_cache_and_never_imports_the_sdk_then(run_chatfn, tmp_path: Path) -> None:
    servers = mcp_file(tmp_path / "servers.json", {"time": TIME_SERVER})
    importtime = {"PYTHONPROFILEIMPORTTIME": "1"}
    cold = run_chatfn("tools", "list", "--json", "--mcp-config", str(servers), env=importtime)
    assert cold.returncode == 0 and imported_sdk(cold.stderr)
    rows = {row["function"]["name"]: row for row in json.loads(cold.stdout)}
    assert rows["time_convert_time"]["mcp"] == {"server": "time", "tool": "convert_time"}
    assert rows["time_convert_time"]["plugin"] == "mcp:time" and "mcp" not in rows["get_current_date"]
    cached = run_chatfn("tools", "list", "--json", "--mcp-config", str(servers), env=importtime)
    assert cached.returncode == 0 and not imported_sdk(cached.stderr)
    assert json.loads(cached.stdout) == json.loads(cold.stdout)
    refreshed = run_chatfn("tools", "list", "--refresh", "--mcp-config", str(servers), env=importtime)
    assert imported_sdk(refreshed.stderr) and "time_get_current_time  mcp:time" in refreshed.stdout
    edited = mcp_file(tmp_path / "servers.json", {"time": {**TIME_SERVER, "env": {"EDITED": "1"}}})
    assert imported_sdk(run_chatfn("tools", "list", "--mcp-config", str(edited), env=importtime).stderr)


def test_without_servers_nothing_of_mcp_is_imported(run_chatfn) -> None:
    result = run_chatfn("tools", "list", env={"PYTHONPROFILEIMPORTTIME": "1"})
    assert result.returncode == 0
    assert "chatfn.mcp" not in result.stderr and not imported_sdk(result.stderr)


def test_tools_show_and_call(invoke_chatfn, tmp_path: Path) -> None:
    servers = mcp_file(tmp_path / "servers.json", {"time": TIME_SERVER})
    shown = json.loads(invoke_chatfn("tools", "show", "time_get_current_time", "--mcp-config", str(servers)).stdout)
    assert shown["mcp"]["server"] == "time" and shown["mcp"]["tool"] == "get_current_time"
    assert shown["mcp"]["input_schema"]["title"] == "get_current_timeArguments"
    assert shown["mcp"]["annotations"]["readOnlyHint"] is True
    called = invoke_chatfn("tools", "call", "time_get_current_time", "timezone=Europe/Oslo", "--mcp-config", str(servers))
    assert called.returncode == 0 and json.loads(called.stdout)["timezone"] == "Europe/Oslo"
    unchecked = invoke_chatfn("tools", "call", "time_get_current_time", "zone=Europe/Oslo", "--mcp-config", str(servers))
    assert unchecked.returncode == 2 and "'timezone' is a required property" in unchecked.stderr
    failed = invoke_chatfn("tools", "call", "time_get_current_time", "timezone=Atlantis", "--mcp-config", str(servers))
    assert failed.returncode == 1 and failed.stdout == ""
    assert failed.stderr.count("\n") == 1 and "Invalid timezone" in failed.stderr


def test_mcp_list(invoke_chatfn, tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        "[mcp.servers.time]\n"
        f"command = {json.dumps(sys.executable)}\nargs = {json.dumps(TIME_SERVER['args'])}\n"
        "[mcp.servers.off]\ncommand = 'nothing'\nenabled = false\n"
        "[mcp.servers.broken]\ncommand = '/nonexistent/mcp-server'\n",
        encoding="utf-8",
    )
    listed = invoke_chatfn("mcp", "list", "--json", env={"CHATFN_CONFIG": str(config)})
    assert listed.returncode == 0, listed.stderr
    rows = {row["name"]: row for row in json.loads(listed.stdout)}
    assert rows["time"]["status"] == "connected" and rows["time"]["transport"] == "stdio"
    assert {"name": "time_convert_time", "tool": "convert_time"} in rows["time"]["tools"]
    assert rows["off"]["status"] == "disabled"
    assert rows["broken"]["status"] == "failed" and "command not found" in rows["broken"]["reason"]
    plain = invoke_chatfn("mcp", "list", env={"CHATFN_CONFIG": str(config)})
    assert "time  stdio  connected" in plain.stdout and "broken  stdio  failed: command not found" in plain.stdout


@pytest.mark.parametrize(
    "signum", [None, signal.SIGINT, signal.SIGTERM, signal.SIGHUP], ids=["exit", "SIGINT", "SIGTERM", "SIGHUP"]
)
def test_no_server_outlives_chatfn(
    chatfn_env: dict[str, str], tmp_path: Path, signum: int | None, processes_with: Any
) -> None:
    """Servers that ignore their closed stdin (--linger) are stopped all the same."""
    marker = str(tmp_path / "marker")
    called = tmp_path / "called"
    servers = mcp_file(
        tmp_path / "servers.json",
        {
            "hang": {
                "command": sys.executable,
                "args": [FAULT_SERVER, "hang", "--linger", "--token", marker, "--called", str(called)],
            },
            "ok": {"command": sys.executable, "args": [FAULT_SERVER, "ok", "--linger", "--token", marker]},
        },
    )
    call = ["ok_echo", "text=bye"] if signum is None else ["hang_wait_forever"]
    chatfn = popen_chatfn(
        "tools", "call", *call, "--mcp-config", str(servers),
        env=chatfn_env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while len(processes_with(marker)) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert len(processes_with(marker)) == 2, "the servers did not start"
        if signum is not None:
            while not called.exists() and time.monotonic() < deadline:  # the call is in flight
                time.sleep(0.05)
            assert called.exists(), "the call never reached the server"
            chatfn.send_signal(signum)
        stdout, stderr = chatfn.communicate(timeout=60)
    finally:
        if chatfn.poll() is None:
            chatfn.kill()
    assert b"Traceback" not in stderr
    if signum is None:
        assert chatfn.returncode == 0 and stdout == b"echo: bye\n"
    else:
        assert chatfn.returncode != 0
    deadline = time.monotonic() + 20
    while processes_with(marker) and time.monotonic() < deadline:
        time.sleep(0.1)
    left = processes_with(marker)
    for pid in left:  # so a failing run leaves nothing behind either
        os.kill(pid, signal.SIGKILL)
    assert left == []


def test_a_missing_sdk_is_one_line_with_the_install_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from chatfn.errors import ConfigError
    from chatfn.plugins.host import load_tools
    from chatfn.settings.config import Config

    monkeypatch.setitem(sys.modules, "mcp", None)  # what an install without the extra looks like to import
    config = Config(mcp={"servers": {"time": TIME_SERVER}})
    with pytest.raises(ConfigError) as raised:
        load_tools(config)
    assert str(raised.value) == "MCP servers are configured, but the MCP SDK is not installed"
    assert raised.value.hint == "pip install 'chatfn[mcp]'"


def test_an_open_world_mcp_tool_asks_once_the_conversation_holds_private_data(
    chat_server, invoke_chatfn, chatfn_env: dict[str, str], tmp_path: Path
) -> None:
    servers = mcp_file(
        tmp_path / "servers.json",
        {"time": TIME_SERVER, "image": {"command": sys.executable, "args": [FAULT_SERVER, "image"]}},
    )
    script = (
        tool_calls(("time_get_current_time", {"timezone": "UTC"})),
        tool_calls(("image_picture", {})),
        text("Done."),
    )
    chat_server.script(*script)
    plain = invoke_chatfn("chat", "--mcp-config", str(servers), "time, then a picture")
    assert plain.returncode == 0 and "[image: image/png" in chat_server.requests[2].messages[-1]["content"]
    Path(chatfn_env["CHATFN_CONFIG"]).write_text('[tools]\nprivate_data = ["time_*"]\n', encoding="utf-8")
    chat_server.script(*script)
    guarded = invoke_chatfn("chat", "--mcp-config", str(servers), "time, then a picture")
    assert guarded.returncode == 0
    denied = chat_server.requests[5].messages[-1]["content"]
    assert denied.startswith("Error: not run: denied") and "private data" in denied
