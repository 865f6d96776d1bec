"""Running a round of tool calls: every failure becomes text for the model, never a crash."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from chatfn.errors import ToolError
from chatfn.events import ToolCall
from chatfn.settings.config import ToolSettings
from chatfn.tools.arguments import ArgumentError, parse_arguments, validate_arguments
from chatfn.tools.policy import needs_approval
from chatfn.tools.run import format_result, invoke_tool, run_tool_calls
from chatfn.tools.tool import make_tool


def echo(text: str, times: int = 1) -> str:
    """Repeat a text."""
    return text * times


def nap(seconds: float) -> str:
    """Sleep."""
    time.sleep(seconds)
    return f"slept {seconds}"


async def async_nap(seconds: float) -> str:
    """Sleep without blocking."""
    await asyncio.sleep(seconds)
    return f"async slept {seconds}"


def explode() -> str:
    """Fails."""
    raise RuntimeError("kaboom")


def opaque() -> Any:
    """Not JSON."""
    return {1, 2, 3}


def structured() -> Any:
    """JSON."""
    return {"städte": ["Köln"], "n": 2}


def huge() -> str:
    """Big."""
    return "x" * 50_000


TOOLS = {tool.name: tool for tool in map(make_tool, (echo, nap, async_nap, explode, opaque, structured, huge))}
TOOLS["hang"] = make_tool(nap, "hang", timeout=0.3)
TOOLS["async_hang"] = make_tool(async_nap, "async_hang", timeout=0.3)


def call(name: str, arguments: Any = None, id: str = "c1") -> ToolCall:
    raw = arguments if isinstance(arguments, str) else json.dumps(arguments or {})
    return ToolCall(id=id, name=name, arguments=raw)


def run(*calls: ToolCall, settings: ToolSettings | None = None, approve=lambda tool, args: True):
    return run_tool_calls(list(calls), TOOLS, settings or ToolSettings(), approve=approve)


def test_parse_arguments() -> None:
    assert parse_arguments("") == {} and parse_arguments("  ") == {}
    assert parse_arguments('{"a": 1}') == {"a": 1}
    with pytest.raises(ArgumentError, match="not valid JSON"):
        parse_arguments("{not json")
    with pytest.raises(ArgumentError, match="JSON object, not list"):
        parse_arguments("[1]")


def test_validation_names_the_bad_field() -> None:
    validate_arguments(TOOLS["echo"], {"text": "a"})
    with pytest.raises(ArgumentError, match="'text' is a required property"):
        validate_arguments(TOOLS["echo"], {"times": 2})
    with pytest.raises(ArgumentError, match="field 'times'.*not of type 'integer'"):
        validate_arguments(TOOLS["echo"], {"text": "a", "times": "many"})


def test_success_and_results_as_text() -> None:
    [outcome] = run(call("echo", {"text": "ab", "times": 2}))
    assert (outcome.ok, outcome.content, outcome.error, outcome.truncated) == (True, "abab", None, False)
    assert json.loads(run(call("structured"))[0].content) == {"städte": ["Köln"], "n": 2}
    assert "Köln" in run(call("structured"))[0].content  # not \\u-escaped


@pytest.mark.parametrize(
    ("the_call", "expected"),
    [
        (call("no_such_tool"), "Error: unknown tool 'no_such_tool'"),
        (call("echo", "{not json"), "Error: arguments are not valid JSON"),
        (call("echo", "[1, 2]"), "Error: arguments must be a JSON object"),
        (call("echo", {"times": 2}), "Error: invalid arguments for echo: 'text' is a required property"),
        (call("echo", {"text": "a", "times": "x"}), "Error: invalid arguments for echo: field 'times'"),
        (call("explode"), "Error: explode failed: RuntimeError: kaboom"),
        (call("hang", {"seconds": 30}), "Error: hang timed out after 0.3 s"),
        (call("async_hang", {"seconds": 30}), "Error: async_hang timed out after 0.3 s"),
    ],
    ids=["unknown", "bad-json", "not-object", "missing", "wrong-type", "raises", "timeout", "async-timeout"],
)
def test_failures_become_error_text(the_call: ToolCall, expected: str) -> None:
    [outcome] = run(the_call)
    assert not outcome.ok and outcome.content.startswith(expected), outcome.content
    assert outcome.error and outcome.content == f"Error: {outcome.error}"


def test_not_json_result_is_shown_with_a_note() -> None:
    [outcome] = run(call("opaque"))
    assert outcome.ok and "{1, 2, 3}" in outcome.content and "not JSON" in outcome.content
    assert format_result(b"bytes") == "bytes" and format_result(3) == "3"


def test_denial_and_approval_order() -> None:
    asked: list[str] = []

    def approve(tool, arguments) -> bool:
        asked.append(tool.name)
        return tool.name != "explode"

    outcomes = run(call("echo", {"text": "a"}, "1"), call("explode", {}, "2"), approve=approve)
    assert asked == ["echo", "explode"]
    assert outcomes[1].denied and outcomes[1].content == "Error: the user denied this tool call"
    assert outcomes[0].ok


def test_calls_run_concurrently_and_keep_their_order() -> None:
    """Four sync and four async calls that each wait for all the others: only concurrency passes."""
    barrier = threading.Barrier(4, timeout=10)
    arrived: list[int] = []

    def meet(n: int) -> str:
        """Wait for the other sync calls."""
        barrier.wait()
        return f"met {n}"

    async def gather(n: int) -> str:
        """Wait for the other async calls."""
        arrived.append(n)
        while len(arrived) < 4:
            await asyncio.sleep(0.01)
        return f"gathered {n}"

    tools = {"meet": make_tool(meet, timeout=20), "gather": make_tool(gather, timeout=20)}
    calls = [call("meet" if i % 2 else "gather", {"n": i}, str(i)) for i in range(8)]
    outcomes = run_tool_calls(calls, tools, ToolSettings(), approve=lambda tool, args: True)
    assert [o.call.id for o in outcomes] == [str(i) for i in range(8)]
    assert [o.content for o in outcomes] == [f"{'met' if i % 2 else 'gathered'} {i}" for i in range(8)]


def test_result_is_capped_with_a_note() -> None:
    [outcome] = run(call("huge"), settings=ToolSettings(max_result_chars=1000))
    assert outcome.truncated and outcome.content.startswith("x" * 1000)
    assert outcome.content.endswith("[truncated: 1000 of 50000 characters shown]")


def test_timeouts_from_config_win() -> None:
    settings = ToolSettings(timeout=5, timeouts={"nap": 0.2})
    [outcome] = run(call("nap", {"seconds": 5}), settings=settings)
    assert outcome.content == "Error: nap timed out after 0.2 s"


def test_a_hung_tool_is_abandoned() -> None:
    with pytest.raises(ToolError, match="timed out after 0.2 s"):
        invoke_tool(TOOLS["nap"], {"seconds": 60}, 0.2)
    hung = [thread for thread in threading.enumerate() if thread.name == "chatfn-tool-nap"]
    assert hung and all(thread.daemon for thread in hung)  # cannot block interpreter exit


def test_invoke_tool_errors() -> None:
    assert invoke_tool(TOOLS["echo"], {"text": "hi"}, 5) == "hi"
    assert invoke_tool(TOOLS["async_nap"], {"seconds": 0}, 5) == "async slept 0"
    with pytest.raises(ToolError, match="explode failed: RuntimeError: kaboom"):
        invoke_tool(TOOLS["explode"], {}, 5)
    with pytest.raises(ToolError, match="async_nap failed: TypeError"):
        invoke_tool(TOOLS["async_nap"], {"wrong": 1}, 5)


def test_needs_approval_rules() -> None:
    def shell(command: str) -> str:
        """Run."""
        return command

    shell.chatfn_needs_approval = lambda arguments: arguments["command"].startswith("rm")  # type: ignore[attr-defined]
    checked = make_tool(shell)
    flagged = make_tool(echo, needs_approval=True)
    plain = TOOLS["echo"]
    assert needs_approval(flagged, {}, ToolSettings())
    assert not needs_approval(plain, {}, ToolSettings())
    assert needs_approval(checked, {"command": "rm x"}, ToolSettings())
    assert not needs_approval(checked, {"command": "ls"}, ToolSettings())
    assert needs_approval(plain, {}, ToolSettings(require_approval=["ec*"]))
    assert not needs_approval(flagged, {}, ToolSettings(skip_approval=["echo"]))
    assert not needs_approval(checked, {"command": "rm x"}, ToolSettings(skip_approval=["*"]))


@pytest.mark.slow
def test_tool_output_goes_to_stderr(tmp_path: Path) -> None:
    """In a real process: prints and child-process output of tools never reach stdout."""
    script = tmp_path / "noisy_round.py"
    script.write_text(
        "import os, sys\n"
        "from chatfn.settings.config import ToolSettings\n"
        "from chatfn.events import ToolCall\nfrom chatfn.tools.run import run_tool_calls\n"
        "from chatfn.tools.tool import make_tool\n"
        "def noisy() -> str:\n"
        "    '''Noisy.'''\n"
        "    print('NOISE-PRINT'); sys.stdout.flush(); os.system('echo NOISE-FD1')\n"
        "    return 'quiet'\n"
        "tools = {'noisy': make_tool(noisy)}\n"
        "print('before')\n"
        "[o] = run_tool_calls([ToolCall('1', 'noisy', '')], tools, ToolSettings(), approve=lambda t, a: True)\n"
        "print('after', o.content)\n"
    )
    result = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, env=os.environ, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "before\nafter quiet\n"
    assert "NOISE-PRINT" in result.stderr and "NOISE-FD1" in result.stderr


def test_no_round_leaves_state_behind_for_the_next_session() -> None:
    """The async tools' event loop ends with its round; schema validators belong to their owner."""
    import chatfn.tools.arguments as arguments_module
    import chatfn.tools.run as run_module

    def loops() -> set[threading.Thread]:
        return {thread for thread in threading.enumerate() if thread.name == "chatfn-async-tools"}

    earlier = loops()  # loops abandoned by earlier tests' blocking coroutines may still run
    [outcome] = run(call("async_nap", {"seconds": 0.01}))
    assert outcome.ok
    deadline = time.monotonic() + 5
    while loops() - earlier and time.monotonic() < deadline:
        time.sleep(0.01)
    assert loops() - earlier == set()
    assert not hasattr(run_module, "_loop") and not hasattr(arguments_module, "_validators")
    mine, theirs = arguments_module.Validators(), arguments_module.Validators()
    tool = TOOLS["echo"]
    assert mine.for_tool(tool) is mine.for_tool(tool) and theirs.for_tool(tool) is not mine.for_tool(tool)


def test_overlapping_rounds_never_restore_stdout_under_each_other(tmp_path: Path) -> None:
    """Two sessions' rounds in two threads share the one stdout: it comes back only after the last."""
    from chatfn.tools.run import tool_output_to_stderr

    original = os.fstat(1).st_ino, sys.stdout
    first, second = tool_output_to_stderr(), tool_output_to_stderr()
    first.__enter__()
    second.__enter__()
    first.__exit__(None, None, None)  # the first round ends while the second's tools still run
    assert os.path.sameopenfile(1, 2) and sys.stdout is sys.stderr
    second.__exit__(None, None, None)
    assert (os.fstat(1).st_ino, sys.stdout) == original
