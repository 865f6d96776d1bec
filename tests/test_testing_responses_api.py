"""The test kit's Responses API routes and builders, checked with the openai SDK's own parser."""

from __future__ import annotations

import json

import openai
import pytest

from chatfn.testing import (
    FAKE_API_KEY,
    ScriptedServer,
    responses_events,
    responses_failure,
    responses_text,
    responses_tool_calls,
)


def sdk(server: ScriptedServer) -> openai.OpenAI:
    return openai.OpenAI(base_url=server.base_url, api_key=FAKE_API_KEY, max_retries=0)


def test_text_parses_with_the_sdks_stream_helper(chat_server: ScriptedServer) -> None:
    chat_server.script(responses_text("Hello from Responses.", reasoning="Thinking it over.", encrypted_content="ENC123"))
    with sdk(chat_server).responses.stream(model="m", input="hi") as stream:
        deltas = [event.delta for event in stream if event.type == "response.output_text.delta"]
        final = stream.get_final_response()
    assert "".join(deltas) == final.output_text == "Hello from Responses."
    reasoning = final.output[0]
    assert reasoning.type == "reasoning" and reasoning.encrypted_content == "ENC123"
    assert final.usage is not None and final.usage.output_tokens > 0
    request = chat_server.last_request
    assert request.path == "/v1/responses" and request.api == "responses"
    assert request.input == [{"role": "user", "content": "hi"}]


@pytest.mark.parametrize("arguments_in", ["deltas", "done", "whole"])
def test_tool_calls_parse_with_the_sdks_stream_helper(chat_server: ScriptedServer, arguments_in: str) -> None:
    chat_server.script(responses_tool_calls(("add", {"a": 1}), ("neg", '{"x": 2}'), arguments_in=arguments_in))  # type: ignore[arg-type]
    with sdk(chat_server).responses.stream(model="m", input="go") as stream:
        final = stream.get_final_response()
    calls = [(item.call_id, item.name, json.loads(item.arguments)) for item in final.output if item.type == "function_call"]
    assert calls == [("call_1", "add", {"a": 1}), ("call_2", "neg", {"x": 2})]
    assert all(item.id.startswith("fc_") for item in final.output)


def test_incomplete_ends_with_response_incomplete(chat_server: ScriptedServer) -> None:
    chat_server.script(responses_text("Cut", incomplete="max_output_tokens"))
    events = list(sdk(chat_server).responses.create(model="m", input="x", stream=True))
    assert events[-1].type == "response.incomplete"
    assert events[-1].response.incomplete_details.reason == "max_output_tokens"


def test_failure_is_an_error_event_then_response_failed_on_http_200(chat_server: ScriptedServer) -> None:
    chat_server.script(responses_failure("No quota.", code="insufficient_quota", partial="Par", framing="event_first", done=False))
    with sdk(chat_server).responses.with_streaming_response.create(model="m", input="x", stream=True) as response:
        assert response.http_response.status_code == 200
        body = response.http_response.read().decode()
    kinds = [line[7:] for line in body.splitlines() if line.startswith("event: ")]
    assert kinds[-2:] == ["error", "response.failed"]
    assert "response.output_text.delta" in kinds


def test_events_framing_options(chat_server: ScriptedServer) -> None:
    event = {"type": "response.output_text.delta", "delta": "x"}
    chat_server.script(
        responses_events([event], framing="data_first", comments=True, done=True),
        responses_events([event], framing="data_only"),
    )
    client = sdk(chat_server)
    bodies = []
    for _ in range(2):
        with client.responses.with_streaming_response.create(model="m", input="x", stream=True) as response:
            bodies.append(response.http_response.read().decode())
    assert bodies[0] == ': keep-alive\ndata: {"type":"response.output_text.delta","delta":"x"}\nevent: response.output_text.delta\n\ndata: [DONE]\n\n'
    assert bodies[1] == 'data: {"type":"response.output_text.delta","delta":"x"}\n\n'


def test_azure_routes(chat_server: ScriptedServer) -> None:
    chat_server.script(responses_text("v1"), responses_text("preview"))
    v1 = openai.OpenAI(base_url=f"{chat_server.url}/openai/v1", api_key=FAKE_API_KEY, max_retries=0)
    list(v1.responses.create(model="dep", input="x", stream=True))
    preview = openai.AzureOpenAI(
        azure_endpoint=chat_server.url, api_version="2025-04-01-preview", api_key=FAKE_API_KEY, max_retries=0
    )
    list(preview.responses.create(model="dep", input="x", stream=True))
    first, second = chat_server.requests
    assert (first.path, first.api_version, first.model) == ("/openai/v1/responses", None, "dep")
    assert (second.path, second.api_version, second.model) == ("/openai/responses", "2025-04-01-preview", "dep")
    assert second.api == "responses"


def test_previous_response_id_is_recorded(chat_server: ScriptedServer) -> None:
    chat_server.script(responses_text("again"))
    list(sdk(chat_server).responses.create(model="m", input=[], previous_response_id="resp_1", store=True, stream=True))
    assert chat_server.last_request.previous_response_id == "resp_1"
