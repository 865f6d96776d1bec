"""`chatfn mcp serve`, driven by the MCP SDK's own client over stdio and streamable HTTP."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if importlib.util.find_spec("mcp") is None:  # found, not imported: the SDK costs a second at collection
    pytest.skip("the MCP SDK is in the test extra", allow_module_level=True)
pytestmark = pytest.mark.slow  # a chatfn server process per test, importing the SDK

from plugin_factory import make_plugin, plugin_env

if TYPE_CHECKING:
    import mcp

TOOLS = '''
import sys, time
import chatfn

def slow(seconds: float) -> str:
    """Sleep, printing to stdout first."""
    print("a stray print that must not reach the protocol")
    time.sleep(seconds)
    return "woke up"

def boom() -> str:
    """Always fails."""
    raise RuntimeError("it broke")

def echo(text: str) -> str:
    """Say it back."""
    return "echo: " + text

def big() -> str:
    """A long answer."""
    return "x" * 5000

def remove_everything(path: str) -> str:
    """Pretend to delete."""
    return "deleted " + path

@chatfn.hookimpl
def register_tools(register):
    register(slow, timeout=1)
    register(boom)
    register(big)
    register(echo, read_only_hint=True, open_world_hint=False)
    register(remove_everything, needs_approval=True)
'''


@pytest.fixture
def serve_env(tmp_path: Path) -> dict[str, str]:
    site = make_plugin(tmp_path / "site", TOOLS, module="chatfn_serve_tools", distribution="chatfn-serve-tools", entry_point="served")
    config = tmp_path / "config.toml"
    config.write_text("[tools]\nmax_result_chars = 1000\n", encoding="utf-8")
    env = plugin_env(site, load="served")
    env["CHATFN_CONFIG"] = str(config)
    return env


def call(parameters: Any, work: Any) -> Any:
    import anyio
    import mcp

    async def main() -> Any:
        async with mcp.Client(parameters, read_timeout_seconds=60) as client:
            return await work(client)

    return anyio.run(main)


def stdio(env: dict[str, str]) -> mcp.StdioServerParameters:
    import mcp

    return mcp.StdioServerParameters(command=sys.executable, args=["-m", "chatfn", "mcp", "serve"], env=env)


def test_stdio_serves_chatfn_tools_with_their_schemas(serve_env: dict[str, str]) -> None:
    async def work(client: mcp.Client) -> Any:
        listed = (await client.list_tools()).tools
        results = {
            "echo": await client.call_tool("echo", {"text": "Paris"}),
            "slow": await client.call_tool("slow", {"seconds": 5}),
            "boom": await client.call_tool("boom", {}),
            "bad": await client.call_tool("slow", {"seconds": "soon"}),
            "big": await client.call_tool("big", {}),
            "after": await client.call_tool("slow", {"seconds": 0}),
        }
        return listed, results, client.server_info

    listed, results, info = call(stdio(serve_env), work)
    tools = {tool.name: tool for tool in listed}
    assert info.name == "chatfn"
    assert {"get_current_date", "get_current_weather", "slow", "boom", "big", "echo"} <= set(tools)
    assert "remove_everything" not in tools  # it would ask for approval in chatfn
    assert tools["slow"].input_schema["properties"]["seconds"]["type"] == "number"
    assert tools["echo"].annotations.read_only_hint is True and tools["echo"].annotations.open_world_hint is False
    assert tools["echo"].annotations.destructive_hint is None and tools["boom"].annotations is None
    assert results["echo"].content[0].text == "echo: Paris" and not results["echo"].is_error
    assert results["slow"].is_error and "timed out after 1 s" in results["slow"].content[0].text
    assert results["boom"].is_error and "RuntimeError: it broke" in results["boom"].content[0].text
    assert results["bad"].is_error and "seconds" in results["bad"].content[0].text
    assert results["big"].content[0].text.startswith("x" * 1000 + "\n[truncated: 1000 of 5000")
    assert results["after"].content[0].text == "woke up" and not results["after"].is_error


def test_tools_needing_approval_are_served_when_config_says_so(serve_env: dict[str, str], tmp_path: Path) -> None:
    Path(serve_env["CHATFN_CONFIG"]).write_text("[mcp]\nserve_tools_needing_approval = true\n", encoding="utf-8")

    async def work(client: mcp.Client) -> Any:
        names = {tool.name for tool in (await client.list_tools()).tools}
        return names, await client.call_tool("remove_everything", {"path": "/tmp/x"})

    names, result = call(stdio(serve_env), work)
    assert "remove_everything" in names and result.content[0].text == "deleted /tmp/x"


def test_streamable_http_on_localhost(serve_env: dict[str, str], local_port: Any) -> None:
    port = local_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "chatfn", "mcp", "serve", "--http", "--port", str(port)],
        env=serve_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        local_port.wait(port)

        async def work(client: mcp.Client) -> Any:
            return await client.call_tool("echo", {"text": "Oslo"})

        result = call(f"http://127.0.0.1:{port}/mcp", work)
        assert result.content[0].text == "echo: Oslo" and not result.is_error
    finally:
        server.terminate()
        _, stderr = server.communicate(timeout=15)
    assert "serving" in stderr and f"http://127.0.0.1:{port}/mcp" in stderr
    assert "Traceback" not in stderr
