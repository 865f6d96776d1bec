"""Lines for a person fit the terminal: cut at a word boundary, never wrapped mid-word."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from screen import Screen

from chatfn.output.fit import fit
from chatfn.testing import ScriptedServer, responses
from chatfn.testing.runner import chatfn_environment

pytestmark = pytest.mark.slow


def _environment(server: ScriptedServer, tmp_path: Path) -> dict[str, str]:
    env = chatfn_environment(server, tmp_path / "env")
    env.pop("CHATFN_LOAD_PLUGINS", None)  # the tool packages too: their summaries are long
    return env


def _fits(shown: str, full: str, width: int) -> None:
    """``shown`` is ``full`` or its start cut at a word boundary with an ellipsis, within ``width``."""
    assert len(shown) < width, shown
    if shown != full:
        assert shown.endswith("…"), shown
        start = shown[:-1]
        assert full.startswith(start) and full[len(start)] == " ", (shown, full)


@pytest.mark.parametrize("width", [80, 120])
def test_tools_list_fits_the_terminal(width: int, tmp_path: Path) -> None:
    with ScriptedServer() as server:
        env = _environment(server, tmp_path)
        piped = subprocess.run([sys.executable, "-m", "chatfn", "tools", "list"], env=env, capture_output=True, text=True)
        full = piped.stdout.splitlines()
        assert max(len(line) for line in full) > 120  # something to cut at both widths
        screen = Screen("tools", "list", env=env, columns=width)
        try:
            assert screen.wait() == 0
            shown = screen.text().splitlines()
        finally:
            screen.close()
    assert len(shown) == len(full)
    for line, whole in zip(shown, full):
        _fits(line, whole, width)


@pytest.mark.parametrize("width", [80, 120])
def test_session_tools_and_traces_fit_the_terminal(width: int, tmp_path: Path) -> None:
    zone = "Nowhere/" + "Very_Long_Region_Name_" * 8
    with ScriptedServer() as server:
        server.script(responses.tool_calls(("get_current_time", {"timezone": zone})), responses.text("Done."))
        env = _environment(server, tmp_path)
        screen = Screen("chat", "-y", env=env, columns=width)
        try:
            screen.wait_for("^User:$")
            screen.type("/tools\r")
            screen.wait_for("(?s)/tools.*^User:$")
            screen.type("what time is it?\r")
            screen.wait_for("(?s)Done\\..*^User:$")
            screen.type("\r")
            assert screen.wait() == 0
            lines = screen.text().splitlines()
        finally:
            screen.close()
    listed = lines[lines.index("User: /tools") + 1 : lines.index("User: what time is it?")]
    assert len([line for line in listed if line]) > 4
    for line in listed:
        assert len(line) < width and (" " in line or not line), line
    (trace,) = [line for line in lines if line.startswith("⚙ get_current_time")]
    assert trace.endswith(" s)") and len(trace) < width and "…" in trace


def test_fit_keeps_the_end_and_cuts_at_a_space() -> None:
    assert fit("short", 80) == "short"
    assert fit("word " * 30, 40) == "word word word word word word word…"
    assert fit("⚙ tool(x) → " + "result " * 20, 30, keep=" (0.00 s)").endswith("… (0.00 s)")
    assert fit("x" * 100, None) == "x" * 100  # not a terminal: nothing is cut
