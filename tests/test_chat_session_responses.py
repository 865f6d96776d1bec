"""The chat loop over the Responses API, in-process: the items sent back stay valid whatever stops it."""

from __future__ import annotations

from contextlib import closing
from typing import Any

import pytest

from chatfn.chat import ChatOptions, ChatSession
from chatfn.errors import ProviderError
from chatfn.events import ToolCallEvent
from chatfn.settings.config import parse_config
from chatfn.testing import ScriptedServer, error, responses_text, responses_tool_calls
from chatfn.tools.tool import make_tool
from chatfn.wire.endpoint import resolve_endpoint


def echo(text: str) -> str:
    """Repeat a text.

    Args:
        text: What to repeat.
    """
    return text


def make_session(server: ScriptedServer, *, store: bool = False) -> ChatSession:
    profile = f'[profiles.r]\nbase_url = "{server.base_url}"\nmodel = "m"\napi = "responses"\nmax_retries = 0\n'
    profile += f"store = {str(store).lower()}\n"
    endpoint = resolve_endpoint(parse_config(profile.encode(), "r.toml"))
    return ChatSession(endpoint, [make_tool(echo, plugin="test")], ChatOptions(approve=lambda tool, arguments: True))


def types(items: list[dict[str, Any]]) -> list[str]:
    return [item.get("type") or item["role"] for item in items]


def test_interrupt_while_rendering_keeps_the_partial_answer_and_the_next_request_is_valid(chat_server) -> None:
    session = make_session(chat_server)
    chat_server.script(responses_text("one two three four five"), responses_text("Next."))
    with pytest.raises(KeyboardInterrupt), closing(session.send("count")) as events:
        for event in events:
            if getattr(event, "kind", None) == "text":
                raise KeyboardInterrupt
    assert session.messages[-1]["content"].startswith("one") and "responses" not in session.messages[-1]
    list(session.send("again"))
    assert types(chat_server.requests[1].input) == ["system", "user", "assistant", "user"]


def test_interrupt_before_tools_run_answers_every_call_by_call_id(chat_server) -> None:
    session = make_session(chat_server)
    chat_server.script(responses_tool_calls(("echo", {"text": "a"}), ("echo", {"text": "b"})), responses_text("Fine."))
    with pytest.raises(KeyboardInterrupt), closing(session.send("go")) as events:
        for event in events:
            if isinstance(event, ToolCallEvent):
                raise KeyboardInterrupt
    list(session.send("continue"))
    sent = chat_server.requests[1].input
    assert types(sent) == ["system", "user", "function_call", "function_call", "function_call_output", "function_call_output", "user"]
    assert [item["call_id"] for item in sent[2:6]] == ["call_1", "call_2", "call_1", "call_2"]
    assert all(item["output"] == "Error: interrupted by the user" for item in sent[4:6])


def test_stored_conversation_sends_only_the_new_items_each_round(chat_server) -> None:
    session = make_session(chat_server, store=True)
    chat_server.script(responses_tool_calls(("echo", {"text": "x"})), responses_text("One."), responses_text("Two."))
    list(session.send("first"))
    list(session.send("second"))
    bodies = [request.body for request in chat_server.requests]
    assert [body.get("previous_response_id") for body in bodies] == [None, "resp_scripted1", "resp_scripted2"]
    assert [types(body["input"]) for body in bodies] == [["system", "user"], ["function_call_output"], ["user"]]


def test_a_lost_stored_response_says_to_send_the_whole_history(chat_server) -> None:
    session = make_session(chat_server, store=True)
    chat_server.script(responses_text("One."), error(400, "Previous response with id 'resp_scripted1' not found.", code="previous_response_not_found"))
    list(session.send("first"))
    with pytest.raises(ProviderError) as caught:
        list(session.send("second"))
    assert "store = false" in (caught.value.hint or "")
    assert "HTTP 400" in caught.value.message and "\n" not in caught.value.message


def test_clear_starts_the_input_over(chat_server) -> None:
    session = make_session(chat_server)
    chat_server.script(responses_text("One."), responses_text("Two."))
    list(session.send("first"))
    session.clear()
    list(session.send("second"))
    assert chat_server.requests[1].input == [
        {"role": "system", "content": "You are a helpful AI assistant."},
        {"role": "user", "content": "second"},
    ]


def test_a_model_without_encrypted_reasoning_is_asked_again_without_it(chat_server) -> None:
    """OpenAI's non-reasoning models (gpt-4o, gpt-4.1) refuse include=reasoning.encrypted_content with a 400."""
    session = make_session(chat_server)
    refusal = error(400, "Encrypted content is not supported with this model.")
    chat_server.script(refusal, responses_tool_calls(("echo", {"text": "x"})), responses_text("Done."))
    events = list(session.send("go"))
    assert events[-1].kind == "done"
    includes = [request.body.get("include") for request in chat_server.requests]
    assert includes == [["reasoning.encrypted_content"], None, None]  # remembered for the session
    assert session.messages[-1]["content"] == "Done."
