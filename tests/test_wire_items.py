"""A Chat Completions history as a Responses request, and back."""

from __future__ import annotations

from typing import Any

from chatfn.wire.items import (
    InputItems,
    chat_messages,
    input_items,
    last_stored_turn,
    responses_options,
    responses_request,
    responses_tools,
)

WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "The weather in a city.",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}

HISTORY: list[dict[str, Any]] = [
    {"role": "system", "content": "Be brief."},
    {"role": "user", "content": "Weather in Paris?"},
    {
        "role": "assistant",
        "content": None,
        "tool_calls": [{"id": "call_a", "type": "function", "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'}}],
    },
    {"role": "tool", "tool_call_id": "call_a", "content": "Sunny"},
    {"role": "assistant", "content": "Sunny in Paris."},
    {"role": "user", "content": "Thanks"},
]


def responses_turn(response_id: str, *, stored: bool, origin: str | None = None) -> dict[str, Any]:
    state: dict[str, Any] = {
        "id": response_id,
        "items": [
            {"id": "rs_1", "type": "reasoning", "summary": [], "encrypted_content": "ENC"},
            {"id": "fc_1", "type": "function_call", "call_id": "call_b", "name": "get_weather", "arguments": "{}", "status": "completed"},
        ],
    }
    if stored:
        state["stored"] = True
    if origin:
        state["origin"] = origin
    return {
        "role": "assistant",
        "content": None,
        "tool_calls": [{"id": "call_b", "type": "function", "function": {"name": "get_weather", "arguments": "{}"}}],
        "responses": state,
    }


def test_tools_become_flat_function_tools_that_are_not_strict() -> None:
    assert responses_tools([WEATHER]) == [
        {
            "type": "function",
            "name": "get_weather",
            "description": "The weather in a city.",
            "parameters": WEATHER["function"]["parameters"],
            "strict": False,
        }
    ]


def test_a_chat_completions_history_converts_with_call_ids() -> None:
    assert input_items(HISTORY) == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Weather in Paris?"},
        {"type": "function_call", "call_id": "call_a", "name": "get_weather", "arguments": '{"city":"Paris"}'},
        {"type": "function_call_output", "call_id": "call_a", "output": "Sunny"},
        {"role": "assistant", "content": "Sunny in Paris."},
        {"role": "user", "content": "Thanks"},
    ]


def test_legacy_function_calls_pair_with_their_result() -> None:
    items = input_items(
        [
            {"role": "assistant", "content": None, "function_call": {"name": "f", "arguments": "{}"}},
            {"role": "function", "name": "f", "content": "done"},
        ]
    )
    assert items[0]["call_id"] == items[1]["call_id"] and items[1]["output"] == "done"


def test_responses_turns_are_echoed_without_item_ids_except_reasoning() -> None:
    items = input_items([responses_turn("resp_1", stored=False), {"role": "tool", "tool_call_id": "call_b", "content": "x"}])
    assert items == [
        {"type": "reasoning", "id": "rs_1", "summary": [], "encrypted_content": "ENC"},
        {"type": "function_call", "call_id": "call_b", "name": "get_weather", "arguments": "{}"},
        {"type": "function_call_output", "call_id": "call_b", "output": "x"},
    ]


def test_stateless_request_sends_everything_and_asks_for_encrypted_reasoning() -> None:
    body = responses_request("m", HISTORY, tools=responses_tools([WEATHER]), store=False, params={"include": ["x"], "temperature": 0})
    assert body["store"] is False
    assert body["include"] == ["x", "reasoning.encrypted_content"]
    assert "previous_response_id" not in body
    assert len(body["input"]) == 6 and body["stream"] is True and body["temperature"] == 0


def test_stored_request_sends_only_what_follows_the_last_stored_response() -> None:
    history = [*HISTORY, responses_turn("resp_9", stored=True), {"role": "tool", "tool_call_id": "call_b", "content": "Rain"}]
    body = responses_request("m", history, tools=[], store=True)
    assert body["previous_response_id"] == "resp_9"
    assert body["input"] == [{"type": "function_call_output", "call_id": "call_b", "output": "Rain"}]
    assert "include" not in body and body["store"] is True


def test_a_stored_id_from_another_server_is_not_used() -> None:
    history = [responses_turn("resp_9", stored=True, origin="https://a.example/v1")]
    assert last_stored_turn(history, "https://a.example/v1") is not None
    assert last_stored_turn(history, "https://b.example/v1") is None


def test_a_partial_turn_after_a_stored_one_sends_the_whole_history() -> None:
    history = [responses_turn("resp_9", stored=True), {"role": "tool", "tool_call_id": "call_b", "content": "r"}, {"role": "user", "content": "go"}, {"role": "assistant", "content": "Half"}]
    assert last_stored_turn(history) is None


def test_input_items_convert_each_message_once_as_the_history_grows() -> None:
    converter = InputItems()
    history = list(HISTORY[:2])
    first = converter.items(history)
    history.append({"role": "assistant", "content": "Hi"})
    assert converter.items(history) == [*first, {"role": "assistant", "content": "Hi"}]
    assert converter.items(history, 2) == [{"role": "assistant", "content": "Hi"}]
    assert converter.items(list(HISTORY)) == input_items(HISTORY)  # another list: converted anew


def test_chat_messages_strip_the_responses_state() -> None:
    messages, dropped = chat_messages([*HISTORY, responses_turn("r", stored=False)])
    assert dropped == 1
    assert messages[:6] == HISTORY and "responses" not in messages[6]


def test_common_options_take_their_responses_names() -> None:
    options = {"max_tokens": 50, "reasoning_effort": "low", "reasoning": {"summary": "auto"}, "temperature": 0.2, "top_k": 5}
    assert responses_options(options) == {
        "max_output_tokens": 50,
        "reasoning": {"summary": "auto", "effort": "low"},
        "temperature": 0.2,
        "top_k": 5,
    }
    body = responses_request("m", HISTORY, tools=[], store=False, params={"max_completion_tokens": 9, "store": True})
    assert body["max_output_tokens"] == 9 and body["store"] is False  # chatfn's own fields win
