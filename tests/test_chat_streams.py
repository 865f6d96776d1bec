"""Every recorded real-server stream, replayed byte for byte through the real CLI."""

from __future__ import annotations

import json

import pytest
from streams import STREAM_NAMES, needs_streams, read_stream

from chatfn.testing import raw, text
from chatfn.wire.assemble import StreamAssembler
from chatfn.wire.sse import SSEDecoder


def assembled(body: bytes):
    decoder, assembler = SSEDecoder(), StreamAssembler()
    for chunk in decoder.feed(body) + decoder.finish():
        assembler.feed(chunk)
    return assembler.result()


@needs_streams
@pytest.mark.parametrize("name", STREAM_NAMES)
def test_recorded_stream_through_the_cli(chat_server, invoke_chatfn, name: str) -> None:
    body = read_stream(name)
    expected = assembled(body)
    chat_server.script(raw(body, headers={"Content-Type": "text/event-stream"}), text("Final answer."))
    result = invoke_chatfn("chat", "--json", "replay")
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    events = [json.loads(line) for line in result.stdout.splitlines()]
    shown = "".join(event["text"] for event in events if event["type"] in ("text", "refusal"))
    assert events[-1]["type"] == "done"
    if not expected.tool_calls:
        assert shown == expected.content and len(chat_server.requests) == 1
        if expected.finish_reason == "length":
            assert [e["type"] for e in events].count("notice") == 1
        return
    # The model asked for tools: each call was answered, in order, and the loop went on.
    assert shown == expected.content + "Final answer."
    calls = [event for event in events if event["type"] == "tool_call"]
    assert [call["name"] for call in calls] == [call.name for call in expected.tool_calls]
    follow_up = chat_server.requests[1].messages
    answers = follow_up[-len(expected.tool_calls):]
    assistant = follow_up[-len(expected.tool_calls) - 1]
    assert assistant["role"] == "assistant"
    if expected.legacy_function_call:
        assert assistant["function_call"]["name"] == expected.tool_calls[0].name
        assert answers[0]["role"] == "function" and answers[0]["name"] == expected.tool_calls[0].name
    else:
        ids = [call["id"] for call in assistant["tool_calls"]]
        assert [answer["tool_call_id"] for answer in answers] == ids
        assert len(set(ids)) == len(ids) and all(ids)
        for call in assistant["tool_calls"]:
            json.loads(call["function"]["arguments"])  # always valid JSON text on the way back
    for answer in answers:
        assert answer["content"].startswith("Error: ")  # these tools do not exist here
