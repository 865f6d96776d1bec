"""The chat loop in-process, against the scripted server: history stays valid whatever stops it."""

from __future__ import annotations

from contextlib import closing

import pytest

from chatfn.chat import ChatOptions, ChatSession
from chatfn.events import ToolCallEvent
from chatfn.settings.config import parse_config
from chatfn.testing import ScriptedServer, text, tool_calls
from chatfn.tools.tool import make_tool
from chatfn.wire.endpoint import resolve_endpoint


def echo(text: str) -> str:
    """Repeat a text.

    Args:
        text: What to repeat.
    """
    return text


@pytest.fixture
def session(chat_server: ScriptedServer) -> ChatSession:
    config = parse_config(f'[profiles.t]\nbase_url = "{chat_server.base_url}"\nmodel = "m"\n'.encode(), "t.toml")
    endpoint = resolve_endpoint(config)
    tool = make_tool(echo, plugin="test")
    return ChatSession(endpoint, [tool], ChatOptions(approve=lambda tool, arguments: True))


def test_interrupt_while_the_consumer_renders_keeps_the_partial_answer(chat_server, session) -> None:
    chat_server.script(text("one two three four five"), text("Next."))
    with pytest.raises(KeyboardInterrupt), closing(session.send("count")) as events:
        for event in events:
            if getattr(event, "kind", None) == "text":
                raise KeyboardInterrupt  # Ctrl-C lands in the renderer, not in the loop
    assert session.messages[-1]["role"] == "assistant"
    assert session.messages[-1]["content"].startswith("one")
    list(session.send("again"))
    assert [m["role"] for m in chat_server.requests[1].messages] == ["system", "user", "assistant", "user"]


def test_interrupt_before_tools_run_answers_every_call(chat_server, session) -> None:
    chat_server.script(tool_calls(("echo", {"text": "a"}), ("echo", {"text": "b"})), text("Fine."))
    with pytest.raises(KeyboardInterrupt), closing(session.send("go")) as events:
        for event in events:
            if isinstance(event, ToolCallEvent):
                raise KeyboardInterrupt
    answers = [m for m in session.messages if m["role"] == "tool"]
    ids = [call["id"] for call in session.messages[-3]["tool_calls"]]
    assert [a["tool_call_id"] for a in answers] == ids
    assert all(a["content"] == "Error: interrupted by the user" for a in answers)
    list(session.send("continue"))
    assert chat_server.requests[1].messages[-1] == {"role": "user", "content": "continue"}


def test_abandoned_generator_is_repaired_when_closed(chat_server, session) -> None:
    chat_server.script(tool_calls(("echo", {"text": "a"})))
    events = session.send("go")
    for event in events:
        if isinstance(event, ToolCallEvent):
            break
    events.close()
    assert session.messages[-1]["role"] == "tool" and "interrupted" in session.messages[-1]["content"]


def test_clear_keeps_only_the_system_prompt(chat_server) -> None:
    config = parse_config(
        f'system_prompt = "Be brief."\n[profiles.t]\nbase_url = "{chat_server.base_url}"\nmodel = "m"\n'.encode(), "t"
    )
    chat = ChatSession(resolve_endpoint(config))
    chat_server.script(text("Hi."))
    list(chat.send("hello"))
    chat.clear()
    assert chat.messages == [{"role": "system", "content": "Be brief."}]
