"""Tools registered with ``isolated=True`` run in a worker process that chatfn can kill."""

from __future__ import annotations

import os
import re
import signal
import threading
import time

import pytest

from chatfn.events import ToolCall
from chatfn.settings.config import ToolSettings
from chatfn.tools.run import run_tool_calls
from chatfn.tools.tool import make_tool


def backtrack(text: str) -> str:
    """Match a pattern that backtracks catastrophically: ``re`` holds the GIL meanwhile."""
    return str(bool(re.match(r"(a+)+$", text)))


def whoami() -> str:
    """The process the call ran in."""
    return str(os.getpid())


def explode() -> str:
    """Fail."""
    raise ValueError("no luck")


def die() -> str:
    """Leave without a word."""
    os._exit(3)


def _run(function, arguments: str = "{}", timeout: float = 5.0):
    tool = make_tool(function, isolated=True, timeout=timeout)
    call = ToolCall("call_1", tool.name, arguments)
    return run_tool_calls([call], {tool.name: tool}, ToolSettings(), approve=lambda tool, arguments: True)[0]


@pytest.mark.slow
def test_an_isolated_call_runs_in_another_process_and_returns_its_value() -> None:
    outcome = _run(whoami)
    assert outcome.ok and outcome.content.isdigit() and int(outcome.content) != os.getpid()


@pytest.mark.slow
def test_a_call_stuck_holding_the_gil_is_stopped_at_its_timeout_and_the_process_goes_on() -> None:
    ticks: list[float] = []
    stop = threading.Event()

    def tick() -> None:  # proves the main process keeps running while the worker is stuck
        while not stop.is_set():
            ticks.append(time.monotonic())
            time.sleep(0.05)

    ticker = threading.Thread(target=tick, daemon=True)
    ticker.start()
    outcome = _run(backtrack, '{"text": "' + "a" * 40 + '!"}', timeout=1.0)
    stop.set()
    assert not outcome.ok
    assert outcome.error == "backtrack timed out after 1 s (its worker process was stopped)"
    assert len(ticks) >= 10


@pytest.mark.slow
def test_exceptions_and_a_dying_worker_become_errors_for_the_model() -> None:
    assert _run(explode).content == "Error: explode failed: ValueError: no luck"
    died = _run(die)
    assert not died.ok and "worker process died (exit code 3)" in died.content


@pytest.mark.slow
def test_ctrl_c_while_waiting_kills_the_worker() -> None:
    from chatfn.tools import isolation

    tool = make_tool(backtrack, isolated=True, timeout=30)
    call = ToolCall("call_1", tool.name, '{"text": "' + "a" * 40 + '!"}')
    timer = threading.Timer(0.5, lambda: os.kill(os.getpid(), signal.SIGINT))
    timer.start()
    with pytest.raises(KeyboardInterrupt):
        run_tool_calls([call], {tool.name: tool}, ToolSettings(), approve=lambda tool, arguments: True)
    assert not isolation._live


def test_isolated_needs_a_sync_function() -> None:
    from chatfn.tools.schema import SchemaError

    async def later() -> str:
        """Later."""
        return "x"

    with pytest.raises(SchemaError, match="isolated=True needs a sync function"):
        make_tool(later, isolated=True)


STUCK_PLUGIN = '''
import re

import chatfn


def count_matches(text: str) -> str:
    """Count a backtracking pattern's matches: re holds the GIL while it works."""
    return str(len(re.findall(r"(a+)+$", text)))


@chatfn.hookimpl
def register_tools(register):
    register(count_matches, timeout=1)
'''


@pytest.mark.slow
def test_config_isolates_a_plugins_tool_that_would_freeze_chatfn(run_chatfn, chatfn_env, tmp_path) -> None:
    """``[tools] isolated`` opts a tool into a worker process with no change to its plugin."""
    from pathlib import Path

    from plugin_factory import make_plugin, plugin_env

    env = plugin_env(make_plugin(tmp_path / "site", STUCK_PLUGIN), load="chatfn_test_plugin", base=chatfn_env)
    Path(env["CHATFN_CONFIG"]).write_text('[tools]\nisolated = ["count_*"]\n', encoding="utf-8")
    started = time.monotonic()
    result = run_chatfn("tools", "call", "count_matches", "text=" + "a" * 40 + "!", env=env, timeout=30)
    assert result.returncode == 1
    assert result.stderr.strip().endswith("count_matches timed out after 1 s (its worker process was stopped)")
    assert time.monotonic() - started < 15  # not the minutes the regex would take


def test_config_isolates_the_tools_it_names(monkeypatch) -> None:
    from chatfn.plugins.host import load_tools
    from chatfn.settings.config import Config, ToolSettings

    monkeypatch.setenv("CHATFN_LOAD_PLUGINS", "")
    problems: list[str] = []
    toolset = load_tools(Config(tools=ToolSettings(isolated=["get_current_d*", "get_current_time"])), report=problems.append)
    assert all(toolset.tools[name].isolated for name in ("get_current_date", "get_current_time"))
    assert not toolset.tools["get_current_weather"].isolated
    assert problems == []
