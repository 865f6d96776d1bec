"""The Responses stream assembler, on recorded real streams and on every quirk servers have."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from streams import (
    RESPONSES_STREAM_NAMES,
    needs_responses_streams,
    read_responses_stream,
)

from chatfn.errors import ProviderError
from chatfn.events import Delta
from chatfn.testing import RecordedRequest, Response
from chatfn.testing.responses_api import (
    responses_events,
    responses_failure,
    responses_text,
    responses_tool_calls,
)
from chatfn.wire.items import chat_messages, input_items
from chatfn.wire.responses import ResponsesAssembler, ResponsesMessage
from chatfn.wire.sse import SSEDecoder


def decode(body: bytes) -> list[dict[str, Any]]:
    decoder = SSEDecoder()
    return decoder.feed(body) + decoder.finish()


def parse(body: bytes) -> list[dict[str, Any]]:
    """Every data line's JSON, without the decoder's own stop at an error event (to test the assembler's)."""
    lines = [line[5:].strip() for line in body.decode().splitlines() if line.startswith("data:")]
    return [json.loads(line) for line in lines if line != "[DONE]"]


def assemble(events: list[dict[str, Any]]) -> tuple[ResponsesAssembler, list[Delta]]:
    assembler = ResponsesAssembler()
    shown: list[Delta] = []
    for event in events:
        shown += assembler.feed(event)
    return assembler, shown


def body_of(response: Response) -> bytes:
    request = RecordedRequest(1, "POST", "/v1/responses", {}, {}, b"", {"model": "m", "input": []})
    return b"".join(response.render(request))


def run(response: Response) -> tuple[ResponsesMessage, list[Delta]]:
    assembler, shown = assemble(decode(body_of(response)))
    return assembler.result(), shown


def text_of(shown: list[Delta], kind: str = "text") -> str:
    return "".join(delta.text for delta in shown if delta.kind == kind)


def completed_output(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return next(event["response"]["output"] for event in events if event.get("type") == "response.completed")


# -- recorded real streams ------------------------------------------------------------


@needs_responses_streams
@pytest.mark.parametrize("name", [n for n in RESPONSES_STREAM_NAMES if "error" not in n])
def test_recorded_stream_assembles_to_its_completed_output(name: str) -> None:
    events = decode(read_responses_stream(name))
    assembler, shown = assemble(events)
    message = assembler.result()
    output = completed_output(events)
    assert assembler.finished
    assert message.items == output  # the final output, not what output_item.added said
    calls = [item for item in output if item["type"] == "function_call"]
    assert [(c.id, c.name, c.arguments) for c in message.tool_calls] == [
        (item["call_id"], item["name"], item["arguments"]) for item in calls
    ]
    assert all(c.id.startswith("call_") for c in message.tool_calls)  # call ids, never fc_ item ids
    assert text_of(shown) == message.content
    assert message.finish_reason == ("tool_calls" if calls else "stop")
    usage = next(e for e in events if e.get("type") == "response.completed")["response"]["usage"]
    assert message.usage is not None
    assert message.usage["prompt_tokens"] == usage["input_tokens"]
    assert message.usage["completion_tokens"] == usage["output_tokens"]
    assert message.usage["total_tokens"] == usage["total_tokens"]


@needs_responses_streams
def test_recorded_text_stream_shows_the_text() -> None:
    message, shown = run_recorded("openai_gpt4omini_text")
    assert message.content == 'Hi in Portuguese is "Oi!"'
    assert text_of(shown) == message.content
    assert message.response_id == "resp_0a6fc3349e38704d016a3c120ac63c819e941b6f18b7170ff4"


@needs_responses_streams
def test_recorded_reasoning_keeps_the_final_encrypted_content_not_the_added_one() -> None:
    events = decode(read_responses_stream("openai_gpt5_summary_encrypted_then_call"))
    added = next(e["item"] for e in events if e.get("type") == "response.output_item.added" and e["item"]["type"] == "reasoning")
    final = completed_output(events)[0]
    assembler, shown = assemble(events)
    message = assembler.result()
    reasoning = message.items[0]
    assert reasoning["encrypted_content"] == final["encrypted_content"] != added["encrypted_content"]
    assert len(reasoning["encrypted_content"]) > len(added["encrypted_content"])
    assert text_of(shown, "reasoning").startswith("**Getting weather info**")
    assert message.reasoning == final["summary"][0]["text"]
    # What goes back to the server: reasoning with its final encrypted content, then the call by call id.
    sent = input_items([{"role": "user", "content": "weather?"}, message.to_message()])
    assert sent[1] == {
        "type": "reasoning",
        "id": final["id"],
        "summary": final["summary"],
        "encrypted_content": final["encrypted_content"],
    }
    assert sent[2] == {
        "type": "function_call",
        "call_id": "call_zgUaIBRPTwxxOusyyKw5NVMH",
        "name": "weather",
        "arguments": '{"location":"Florence, Italy"}',
    }


@needs_responses_streams
def test_recorded_azure_reasoning_without_encrypted_content_is_not_sent_back() -> None:
    message, _ = run_recorded("azure_gpt5mini_function_call")
    assert [item["type"] for item in message.items] == ["reasoning", "function_call"]
    sent = input_items([message.to_message()])
    assert [item["type"] for item in sent] == ["function_call"]  # an id alone names nothing when stateless


@needs_responses_streams
def test_recorded_parallel_calls_keep_their_order_and_call_ids() -> None:
    message, _ = run_recorded("openai_gpt4omini_parallel_calls")
    assert [(c.name, c.id) for c in message.tool_calls] == [
        ("add", "call_ZckkKeJQwcJPC27VXT61xFLf"),
        ("multiply", "call_M9h2AZgoLEv6q5gkex1QMtm2"),
    ]


@needs_responses_streams
def test_recorded_error_on_http_200_is_one_provider_error() -> None:
    events: list[dict[str, Any]] = []
    with pytest.raises(ProviderError) as caught:
        decoder = SSEDecoder()
        assembler = ResponsesAssembler()
        for event in decoder.feed(read_responses_stream("openai_gpt5nano_error_insufficient_quota")):
            events.append(event)
            assembler.feed(event)
    assert "You exceeded your current quota" in caught.value.message
    assert "insufficient_quota" in caught.value.message
    assert "\n" not in caught.value.message
    assert assembler.result().tool_calls == []


def run_recorded(name: str) -> tuple[ResponsesMessage, list[Delta]]:
    assembler, shown = assemble(decode(read_responses_stream(name)))
    return assembler.result(), shown


# -- our own streams, one per quirk ----------------------------------------------------


@pytest.mark.parametrize("framing", ["event_first", "data_only", "data_first"])
@pytest.mark.parametrize("done", [False, True])
def test_framing_does_not_matter(framing: str, done: bool) -> None:
    message, shown = run(responses_text("Hello there, world.", framing=framing, done=done))  # type: ignore[arg-type]
    assert message.content == text_of(shown) == "Hello there, world."
    assert message.finish_reason == "stop"


def test_comment_lines_and_a_trailing_done_are_ignored() -> None:
    events = decode(body_of(responses_tool_calls(("add", {"a": 1}))))
    message, shown = run(responses_events(events, framing="data_only", comments=True, done=True))
    assert [(c.name, c.arguments) for c in message.tool_calls] == [("add", '{"a":1}')]


@pytest.mark.parametrize("arguments_in", ["deltas", "done", "whole"])
def test_arguments_in_deltas_only_in_done_or_all_at_once(arguments_in: str) -> None:
    message, _ = run(responses_tool_calls(("add", {"a": 2, "b": 3}), ("neg", {"x": 1}), arguments_in=arguments_in))  # type: ignore[arg-type]
    assert [(c.id, c.name, json.loads(c.arguments)) for c in message.tool_calls] == [
        ("call_1", "add", {"a": 2, "b": 3}),
        ("call_2", "neg", {"x": 1}),
    ]
    assert message.finish_reason == "tool_calls"


def without_final_output(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The events with an empty output in response.completed, as some servers send it."""
    out = []
    for event in events:
        if event.get("type") == "response.completed":
            event = {**event, "response": {**event["response"], "output": []}}
        out.append(event)
    return out


def test_item_ids_that_change_on_every_event_are_one_item_by_output_index() -> None:
    events = decode(body_of(responses_tool_calls(("add", {"a": 2, "b": 3}), content="Adding.")))
    for number, event in enumerate(events):
        if "item_id" in event:
            event["item_id"] = f"changing_{number}"
        if "item" in event:
            event["item"] = {**event["item"], "id": f"changing_{number}"}
    assembler, shown = assemble(without_final_output(events))
    message = assembler.result()
    assert text_of(shown) == message.content == "Adding."
    assert [(c.id, c.arguments) for c in message.tool_calls] == [("call_1", '{"a":2,"b":3}')]


def test_events_without_output_index_follow_their_item_id() -> None:
    events = decode(body_of(responses_tool_calls(("add", {"a": 1}), ("neg", {"b": 2}))))
    for event in events:
        if "item_id" in event:
            event.pop("output_index", None)
    message = assemble(without_final_output(events))[0].result()
    assert [(c.name, c.arguments) for c in message.tool_calls] == [("add", '{"a":1}'), ("neg", '{"b":2}')]


def test_a_response_id_that_changes_after_created_takes_the_last() -> None:
    events = decode(body_of(responses_text("Hi.")))
    events[0]["response"]["id"] = "resp_first"
    message = assemble(events)[0].result()
    assert message.response_id == events[-1]["response"]["id"] != "resp_first"


def test_error_then_failed_keeps_the_partial_text_and_raises_once() -> None:
    events = parse(body_of(responses_failure("The server is overloaded.", code="server_error", partial="Half an")))
    assembler = ResponsesAssembler()
    shown: list[Delta] = []
    with pytest.raises(ProviderError) as caught:
        for event in events:
            shown += assembler.feed(event)
    assert caught.value.message == "The server is overloaded. (server_error)"
    assert text_of(shown) == assembler.result().content == "Half an"
    assert assembler.result().tool_calls == []


def test_response_failed_alone_is_an_error_with_the_servers_words() -> None:
    events = parse(body_of(responses_failure("Model crashed.", code="server_error")))
    events = [event for event in events if event.get("type") != "error"]
    with pytest.raises(ProviderError, match=r"^Model crashed\. \(server_error\)$"):
        assemble(events)


def test_incomplete_is_length() -> None:
    message, shown = run(responses_text("Cut off here", incomplete="max_output_tokens"))
    assert message.finish_reason == "length"
    assert message.incomplete_reason == "max_output_tokens"
    assert text_of(shown) == message.content == "Cut off here"


def test_added_encrypted_content_is_never_used() -> None:
    events = decode(body_of(responses_tool_calls(("add", {}), reasoning="Think.", encrypted_content="E" * 40)))
    added = next(e for e in events if e.get("type") == "response.output_item.added")
    assert added["item"]["encrypted_content"] == "E" * 20
    for stream in (events, without_final_output(events)):
        assert assemble(stream)[0].result().items[0]["encrypted_content"] == "E" * 40
    # Without a done event or a final output the added value is all there is: it is dropped, not sent.
    cut = [e for e in without_final_output(events) if not (e.get("type") == "response.output_item.done" and e["item"]["type"] == "reasoning")]
    message = assemble(cut)[0].result()
    assert "encrypted_content" not in message.items[0]
    assert [item["type"] for item in input_items([message.to_message()])] == ["function_call"]


def test_reasoning_summary_is_shown_as_reasoning() -> None:
    message, shown = run(responses_text("Answer.", reasoning="First I think."))
    assert text_of(shown, "reasoning") == message.reasoning == "First I think."
    assert text_of(shown) == "Answer."


def test_text_that_only_the_done_event_or_the_final_output_holds_is_shown() -> None:
    events = decode(body_of(responses_text("Whole answer.")))
    no_deltas = [e for e in events if e.get("type") != "response.output_text.delta"]
    message, shown = assemble(no_deltas)[0].result(), assemble(no_deltas)[1]
    assert text_of(shown) == message.content == "Whole answer."
    only_final = [e for e in events if e.get("type") in ("response.created", "response.completed")]
    assembler, shown = assemble(only_final)
    assert text_of(shown) == assembler.result().content == "Whole answer."


def test_a_chat_completions_chunk_on_the_responses_route_says_which_api() -> None:
    chunk = {"id": "x", "object": "chat.completion.chunk", "choices": [{"index": 0, "delta": {"content": "hi"}}]}
    with pytest.raises(ProviderError) as caught:
        ResponsesAssembler().feed(chunk)
    assert 'api = "tools"' in (caught.value.hint or "")


def test_a_stream_cut_short_has_no_finish_reason() -> None:
    events = decode(body_of(responses_text("Never finished.")))[:-1]
    assembler, shown = assemble(events)
    assert not assembler.finished
    assert assembler.result().finish_reason is None
    assert text_of(shown) == "Never finished."


def test_the_assistant_message_round_trips_to_chat_completions() -> None:
    message, _ = run(responses_tool_calls(("add", {"a": 1}), content="Let me add.", reasoning="Hm.", encrypted_content="ENC"))
    stored = message.to_message()
    assert stored["content"] == "Let me add."
    assert stored["tool_calls"] == [{"id": "call_1", "type": "function", "function": {"name": "add", "arguments": '{"a":1}'}}]
    plain, dropped = chat_messages([stored])
    assert dropped == 1
    assert "responses" not in plain[0] and plain[0]["tool_calls"] == stored["tool_calls"]


# -- properties ----------------------------------------------------------------------------

PROPERTY = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SAMPLE = parse(body_of(responses_tool_calls(("add", {"a": 1}), content="Sure.", reasoning="Think.", encrypted_content="E" * 16)))


@PROPERTY
@given(cuts=st.lists(st.integers(min_value=1, max_value=4000), max_size=30))
def test_any_split_of_the_bytes_gives_the_same_turn(cuts: list[int]) -> None:
    body = body_of(responses_tool_calls(("add", {"a": 1}), content="Sure.", reasoning="Think.", encrypted_content="E" * 16))
    decoder, assembler, shown = SSEDecoder(), ResponsesAssembler(), []
    positions = sorted({cut % len(body) for cut in cuts})
    for start, end in zip([0, *positions], [*positions, len(body)]):
        for event in decoder.feed(body[start:end]):
            shown += assembler.feed(event)
    for event in decoder.finish():
        shown += assembler.feed(event)
    whole, whole_shown = assemble(decode(body))
    assert assembler.result() == whole.result() and shown == whole_shown


@PROPERTY
@given(data=st.data())
def test_lost_reordered_or_repeated_events_never_crash(data: st.DataObject) -> None:
    """Whatever a broken server drops, repeats or reorders, the assembler answers or raises ProviderError."""
    events = data.draw(st.lists(st.sampled_from(SAMPLE), max_size=len(SAMPLE) + 5))
    assembler = ResponsesAssembler()
    try:
        for event in events:
            assembler.feed(json.loads(json.dumps(event)))
    except ProviderError:
        return
    message = assembler.result()
    assert all(call.id and call.arguments for call in message.tool_calls)
    assert len({call.id for call in message.tool_calls}) == len(message.tool_calls)
