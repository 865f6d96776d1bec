"""Rendering events: plain text, JSON lines, and Markdown whose cost per chunk stays flat."""

from __future__ import annotations

import io
import json

from rich.console import Console

from chatfn.events import (
    Delta,
    Done,
    Notice,
    ToolCall,
    ToolCallEvent,
    ToolOutcome,
    ToolResultEvent,
    UsageEvent,
)
from chatfn.terminal.render import (
    JsonRenderer,
    MarkdownRenderer,
    PlainRenderer,
    event_json,
)

OUTCOME = ToolOutcome(ToolCall("call_1", "echo", '{"text": "hi"}'), "hi", True, duration=0.25)


def test_plain_renderer_keeps_stdout_for_the_answer() -> None:
    out, err = io.StringIO(), io.StringIO()
    renderer = PlainRenderer(out, err)
    for event in (
        Delta("reasoning", "thinking"),
        Delta("text", "Hello"),
        ToolResultEvent(OUTCOME),
        Delta("text", " world"),
        Notice("cut off"),
        Done("stop", 1),
    ):
        renderer.event(event)
    assert out.getvalue() == "Hello world\n"
    assert "thinking" in err.getvalue() and "⚙ echo(" in err.getvalue() and "(0.25 s)" in err.getvalue()
    assert "cut off" in err.getvalue()


def test_quiet_hides_traces_and_reasoning() -> None:
    out, err = io.StringIO(), io.StringIO()
    renderer = PlainRenderer(out, err, quiet=True)
    for event in (Delta("reasoning", "hmm"), ToolResultEvent(OUTCOME), Delta("text", "ok"), Done("stop", 0)):
        renderer.event(event)
    assert out.getvalue() == "ok\n" and err.getvalue() == ""


def test_every_event_has_a_json_form() -> None:
    events = [
        Delta("text", "a"),
        Delta("reasoning", "b"),
        Delta("refusal", "c"),
        ToolCallEvent(OUTCOME.call),
        ToolResultEvent(OUTCOME),
        UsageEvent({"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3}),
        Notice("n"),
        Done("stop", 2),
    ]
    out = io.StringIO()
    renderer = JsonRenderer(out)
    for event in events:
        renderer.event(event)
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [line["type"] for line in lines] == [
        "text", "reasoning", "refusal", "tool_call", "tool_result", "usage", "notice", "done"
    ]
    assert lines[4]["content"] == "hi" and lines[4]["id"] == "call_1"
    assert event_json(Done(None, 0)) == {"type": "done", "finish_reason": None, "rounds": 0}


def terminal_renderer(height: int = 20) -> tuple[MarkdownRenderer, io.StringIO]:
    screen = io.StringIO()
    console = Console(file=screen, force_terminal=True, width=80, height=height, color_system=None)
    return MarkdownRenderer(screen, io.StringIO(), console=console), screen


def test_markdown_prints_finished_blocks_and_the_rest_at_the_end() -> None:
    renderer, screen = terminal_renderer()
    answer = "# Title\n\nFirst paragraph.\n\n```python\nx = 1\n\ny = 2\n```\n\n- one\n- two\n\nLast words."
    for character in answer:
        renderer.event(Delta("text", character))
    renderer.event(Done("stop", 0))
    shown = screen.getvalue()
    for piece in ("Title", "First paragraph.", "x = 1", "y = 2", "one", "two", "Last words."):
        assert piece in shown
    assert renderer._block == "" and renderer._fence is None


def test_a_blank_line_inside_a_code_fence_does_not_end_the_block() -> None:
    renderer, _ = terminal_renderer()
    renderer.event(Delta("text", "```\na\n\nb\n"))
    assert renderer._block == "```\na\n\nb\n" and renderer._fence == "```"
    renderer.event(Delta("text", "```\n\nafter"))
    assert renderer._block == "after" and renderer._fence is None


def test_the_live_view_renders_at_most_a_screenful() -> None:
    renderer, screen = terminal_renderer(height=12)
    renderer.event(Delta("text", "```python\n" + "".join(f"line_{n} = {n}\n" for n in range(500)) + "line_500"))
    renderer._refresh()
    lines = renderer._live.get_renderable().lines
    shown = "\n".join("".join(segment.text for segment in line) for line in lines)
    assert "line_500" in shown and "line_100" not in shown
    assert len(lines) <= 12
    assert screen.getvalue().count("line_100 ") == 1  # the finished top is printed for good, once
    renderer.finish()


def test_text_before_a_tool_call_is_settled_before_the_trace() -> None:
    renderer, screen = terminal_renderer()
    renderer.event(Delta("text", "Let me check"))
    renderer.event(ToolCallEvent(OUTCOME.call))
    assert renderer._live is None and renderer._block == ""
    assert "Let me check" in screen.getvalue()
    renderer.event(ToolResultEvent(OUTCOME))
    renderer.event(Delta("text", "Done."))
    renderer.event(Done("stop", 1))
    assert "Done." in screen.getvalue()
