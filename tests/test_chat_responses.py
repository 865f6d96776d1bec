"""`chatfn chat` with ``api = "responses"``: the real CLI and SDK against the scripted server's /responses."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from streams import (
    RESPONSES_STREAM_NAMES,
    needs_responses_streams,
    read_responses_stream,
)
from support import one_error_line

from chatfn.log.store import LogStore
from chatfn.testing import (
    FAKE_API_KEY,
    RecordedRequest,
    Response,
    error,
    raw,
    responses_events,
    responses_failure,
    responses_text,
    responses_tool_calls,
    text,
    tool_calls,
)

SYSTEM = {"role": "system", "content": "You are a helpful AI assistant."}


def write_config(env: dict[str, str], *profiles: str, default: str = "r") -> None:
    """Profiles ``r`` (Responses) and ``c`` (Chat Completions) on the scripted server, plus any given."""
    Path(env["CHATFN_CONFIG"]).write_text(f'default_profile = "{default}"\n' + "\n".join(profiles), encoding="utf-8")


def profiles(server: Any, **extra: str) -> list[str]:
    lines = [f"[profiles.r]\nbase_url = \"{server.base_url}\"\napi = \"responses\"\nmax_retries = 0"]
    lines[0] += "".join(f"\n{key} = {value}" for key, value in extra.items())
    lines.append(f"[profiles.c]\nbase_url = \"{server.base_url}\"\nmax_retries = 0")
    return lines


@pytest.fixture
def responses_profile(chat_server: Any, chatfn_env: dict[str, str]) -> dict[str, str]:
    write_config(chatfn_env, *profiles(chat_server))
    return chatfn_env


def logged(chatfn_env: dict[str, str]) -> list[dict[str, Any]]:
    with LogStore.open(Path(chatfn_env["CHATFN_LOG_DB"])) as store:
        conversation_id = store.latest_conversation_id()
        assert conversation_id is not None
        return [entry.message for entry in store.conversation(conversation_id).messages]


def test_answer_streams_and_the_request_is_stateless(chat_server, invoke_chatfn, responses_profile) -> None:
    chat_server.script(responses_text("Hello over Responses."))
    result = invoke_chatfn("chat", "hi")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "Hello over Responses.\n"
    request = chat_server.requests[0]
    assert request.path == "/v1/responses"
    body = request.body
    assert body["model"] == "test-model" and body["stream"] is True
    assert body["store"] is False and body["include"] == ["reasoning.encrypted_content"]
    assert body["input"] == [SYSTEM, {"role": "user", "content": "hi"}]
    assert "messages" not in body and "stream_options" not in body
    weather = next(tool for tool in body["tools"] if tool["name"] == "get_current_weather")
    assert weather["type"] == "function" and weather["strict"] is False and weather["parameters"]["type"] == "object"
    assert request.headers["authorization"] == f"Bearer {FAKE_API_KEY}"
    answer = logged(responses_profile)[-1]
    assert answer["content"] == "Hello over Responses."
    assert answer["responses"]["id"] == "resp_scripted1"


def test_a_tool_round_sends_back_reasoning_the_call_and_its_output_by_call_id(
    chat_server, invoke_chatfn, responses_profile, chat_plugin_env
) -> None:
    chat_server.script(
        responses_tool_calls(("echo", {"text": "ab", "times": 2}), reasoning="I should echo.", encrypted_content="ENC-FINAL-0123"),
        responses_text("It said abab."),
    )
    result = invoke_chatfn("chat", "use echo", env=chat_plugin_env)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "It said abab.\n"
    assert "⚙ echo" in result.stderr and "I should echo." in result.stderr
    follow_up = chat_server.requests[1].input
    assert follow_up == [
        SYSTEM,
        {"role": "user", "content": "use echo"},
        {"type": "reasoning", "id": "rs_scripted1_0", "summary": [{"type": "summary_text", "text": "I should echo."}], "encrypted_content": "ENC-FINAL-0123"},
        {"type": "function_call", "call_id": "call_1", "name": "echo", "arguments": '{"text":"ab","times":2}'},
        {"type": "function_call_output", "call_id": "call_1", "output": "abab"},
    ]
    roles = [(message["role"], message.get("tool_call_id")) for message in logged(responses_profile)]
    assert roles == [("system", None), ("user", None), ("assistant", None), ("tool", "call_1"), ("assistant", None)]
    shown = json.loads(invoke_chatfn("logs", "show", "--json").stdout)  # Chat Completions messages, state beside them
    assert all("responses" not in message for message in shown["messages"])
    assert shown["messages"][2]["tool_calls"][0]["id"] == "call_1"
    assert shown["log"][2]["responses"]["items"][0]["encrypted_content"] == "ENC-FINAL-0123"


def test_json_events_are_the_same_as_with_chat_completions(chat_server, invoke_chatfn, chatfn_env, chat_plugin_env) -> None:
    write_config(chatfn_env, *profiles(chat_server))
    chat_server.script(tool_calls(("echo", {"text": "x"})), text("Done now."))
    chat_server.script(responses_tool_calls(("echo", {"text": "x"})), responses_text("Done now."))
    runs = [invoke_chatfn("chat", "--json", "-p", profile, "go", env=chat_plugin_env) for profile in ("c", "r")]
    for result in runs:
        assert result.returncode == 0, result.stderr
    chat, responses = ([json.loads(line) for line in result.stdout.splitlines()] for result in runs)
    assert [event["type"] for event in chat] == [event["type"] for event in responses]
    def steady(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
        varying = ("duration", "conversation_id", "profile")
        return [{k: v for k, v in e.items() if k not in varying} for e in events if e["type"] not in ("text", "usage")]

    assert steady(chat) == steady(responses)
    assert "".join(e["text"] for e in chat if e["type"] == "text") == "".join(e["text"] for e in responses if e["type"] == "text")
    assert {e["type"] for e in responses} == {"start", "tool_call", "tool_result", "text", "usage", "done"}
    usage = [e for e in responses if e["type"] == "usage"]
    assert len(usage) == 2 and all(set(e) >= {"prompt_tokens", "completion_tokens", "total_tokens"} for e in usage)


@pytest.mark.parametrize("arguments_in", ["done", "whole"])
def test_arguments_only_in_done_or_all_at_once(chat_server, invoke_chatfn, responses_profile, chat_plugin_env, arguments_in) -> None:
    chat_server.script(responses_tool_calls(("echo", {"text": "hi"}), arguments_in=arguments_in), responses_text("ok"))
    result = invoke_chatfn("chat", "go", env=chat_plugin_env)
    assert result.returncode == 0, result.stderr
    assert chat_server.requests[1].input[-1] == {"type": "function_call_output", "call_id": "call_1", "output": "hi"}


def test_store_true_continues_with_previous_response_id(chat_server, invoke_chatfn, chatfn_env, chat_plugin_env) -> None:
    write_config(chatfn_env, *profiles(chat_server, store="true"))
    chat_server.script(responses_tool_calls(("echo", {"text": "s"}), reasoning="hm"), responses_text("First."), responses_text("Second."))
    first = invoke_chatfn("chat", "one", env=chat_plugin_env)
    second = invoke_chatfn("chat", "--continue", "two", env=chat_plugin_env)
    assert first.returncode == 0 and second.returncode == 0, first.stderr + second.stderr
    opening, after_tools, resumed = (request.body for request in chat_server.requests)
    assert opening["store"] is True and "include" not in opening and "previous_response_id" not in opening
    assert after_tools["previous_response_id"] == "resp_scripted1"
    assert after_tools["input"] == [{"type": "function_call_output", "call_id": "call_1", "output": "s"}]
    assert resumed["previous_response_id"] == "resp_scripted2"
    assert resumed["input"] == [{"role": "user", "content": "two"}]


def test_continue_stateless_resends_everything_with_the_items(chat_server, invoke_chatfn, responses_profile) -> None:
    chat_server.script(responses_text("Thought through.", reasoning="Deep.", encrypted_content="ENC-A"), responses_text("Again."))
    assert invoke_chatfn("chat", "one").returncode == 0
    result = invoke_chatfn("chat", "--continue", "two")
    assert result.returncode == 0, result.stderr
    assert chat_server.requests[1].input == [
        SYSTEM,
        {"role": "user", "content": "one"},
        {"type": "reasoning", "id": "rs_scripted1_0", "summary": [{"type": "summary_text", "text": "Deep."}], "encrypted_content": "ENC-A"},
        {"role": "assistant", "content": "Thought through."},
        {"role": "user", "content": "two"},
    ]


def test_a_responses_conversation_continues_over_chat_completions(chat_server, invoke_chatfn, responses_profile, chat_plugin_env) -> None:
    chat_server.script(
        responses_tool_calls(("echo", {"text": "q"}), encrypted_content="ENC"), responses_text("Echoed."), text("Switched.")
    )
    assert invoke_chatfn("chat", "one", env=chat_plugin_env).returncode == 0
    result = invoke_chatfn("chat", "-p", "c", "--continue", "two", env=chat_plugin_env)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "Switched.\n"
    assert "1 reasoning item(s) cannot be sent over Chat Completions" in result.stderr
    messages = chat_server.requests[2].messages
    assert all("responses" not in message for message in messages)
    assert messages[2]["tool_calls"][0]["id"] == "call_1" and messages[3] == {"role": "tool", "tool_call_id": "call_1", "content": "q"}


def test_a_chat_completions_conversation_continues_over_responses(chat_server, invoke_chatfn, responses_profile, chat_plugin_env) -> None:
    chat_server.script(tool_calls(("echo", {"text": "z"})), text("Old API."), responses_text("New API."))
    assert invoke_chatfn("chat", "-p", "c", "one", env=chat_plugin_env).returncode == 0
    result = invoke_chatfn("chat", "--continue", "two", env=chat_plugin_env)
    assert result.returncode == 0, result.stderr
    assert chat_server.requests[2].input == [
        SYSTEM,
        {"role": "user", "content": "one"},
        {"type": "function_call", "call_id": "call_1", "name": "echo", "arguments": '{"text":"z"}'},
        {"type": "function_call_output", "call_id": "call_1", "output": "z"},
        {"role": "assistant", "content": "Old API."},
        {"role": "user", "content": "two"},
    ]


def test_error_then_failed_on_http_200_keeps_the_partial_text_and_runs_no_tools(chat_server, invoke_chatfn, responses_profile) -> None:
    chat_server.script(responses_failure("You exceeded your current quota.", partial="Half an"))
    result = invoke_chatfn("chat", "hi")
    assert result.returncode == 1
    assert result.stdout.startswith("Half an")
    line = one_error_line(result.stderr)
    assert "You exceeded your current quota. (insufficient_quota)" in line and "test-model" in line
    assert len(chat_server.requests) == 1
    assert logged(responses_profile)[-1] == {"role": "assistant", "content": "Half an"}


def test_incomplete_is_a_notice_like_length(chat_server, invoke_chatfn, responses_profile) -> None:
    chat_server.script(responses_text("Cut short", incomplete="max_output_tokens"))
    result = invoke_chatfn("chat", "hi")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "Cut short\n"
    assert "cut off" in result.stderr


def test_usage_is_counted(chat_server, invoke_chatfn, responses_profile) -> None:
    chat_server.script(responses_text("Hi.", usage={"input_tokens": 11, "output_tokens": 4, "total_tokens": 15}))
    result = invoke_chatfn("chat", "-v", "hi")
    assert "tokens: 11 prompt + 4 completion = 15 (1 responses)" in result.stderr


def test_responses_only_model_on_a_chat_completions_profile_says_what_to_set(chat_server, invoke_chatfn, responses_profile) -> None:
    chat_server.script(error(400, "This model is only supported in v1/responses and not in v1/chat/completions."))
    result = invoke_chatfn("chat", "-p", "c", "hi")
    assert result.returncode == 1
    line = one_error_line(result.stderr)
    assert 'set api = "responses" in profile \'c\'' in line


def test_a_server_without_responses_says_so(chat_server, invoke_chatfn, responses_profile) -> None:
    chat_server.script(error(404, "Not Found", code=None))
    line = one_error_line(invoke_chatfn("chat", "hi").stderr)
    assert 'set api = "tools"' in line


@pytest.mark.parametrize(
    ("settings", "path", "version"),
    [
        ("", "/openai/v1/responses", None),
        ('api_version = "v1"', "/openai/v1/responses", None),
        ('api_version = "2025-04-01-preview"', "/openai/responses", "2025-04-01-preview"),
    ],
)
def test_azure_routes(chat_server, invoke_chatfn, chatfn_env, settings: str, path: str, version: str | None) -> None:
    profile = f'[profiles.az]\nprovider = "azure"\nendpoint = "{chat_server.url}"\ndeployment = "my-dep"\napi = "responses"\nmax_retries = 0\n{settings}'
    write_config(chatfn_env, profile, default="az")
    chat_server.script(responses_text("From Azure."))
    result = invoke_chatfn("chat", "hi", env={"AZURE_OPENAI_API_KEY": "azure-key-123", "CHATFN_MODEL": None})
    assert result.returncode == 0, result.stderr
    request = chat_server.requests[0]
    assert (request.path, request.api_version, request.model) == (path, version, "my-dep")
    assert "azure-key-123" in request.headers.get("authorization", "") + request.headers.get("api-key", "")


@pytest.mark.parametrize(("version", "path"), [(None, "/openai/v1/responses"), ("2025-04-01-preview", "/openai/responses")])
def test_azure_seed_variables_keep_working(chat_server, invoke_chatfn, chatfn_env, version: str | None, path: str) -> None:
    write_config(chatfn_env, '[profiles.az]\nprovider = "azure"\napi = "responses"\nmax_retries = 0', default="az")
    chat_server.script(responses_text("Seeded."))
    env = {
        "AZURE_OPENAI_ENDPOINT": chat_server.url,
        "AZURE_OPENAI_API_KEY": "azure-key-123",
        "AZURE_OPENAI_CHAT_DEPLOYMENT": "seed-dep",
        "AZURE_OPENAI_API_VERSION": version,
        "CHATFN_MODEL": None,
    }
    result = invoke_chatfn("chat", "hi", env=env)
    assert result.returncode == 0, result.stderr
    assert (chat_server.requests[0].path, chat_server.requests[0].model) == (path, "seed-dep")


# -- every recorded real Responses stream, through the CLI ------------------------------


@needs_responses_streams
@pytest.mark.parametrize("name", RESPONSES_STREAM_NAMES)
def test_recorded_stream_through_the_cli(chat_server, invoke_chatfn, responses_profile, name: str) -> None:
    body = read_responses_stream(name)
    events = [event for event in _data_events(body)]
    chat_server.script(raw(body, headers={"Content-Type": "text/event-stream"}), responses_text("Final answer."))
    result = invoke_chatfn("chat", "--json", "replay")
    assert "Traceback" not in result.stderr
    failed = next((event for event in events if event.get("type") == "response.failed"), None)
    if failed is not None:  # an error event, then response.failed, on HTTP 200
        assert result.returncode == 1
        line = one_error_line(result.stderr)
        assert failed["response"]["error"]["message"] in line and "insufficient_quota" in line
        assert len(chat_server.requests) == 1
        assert [message["role"] for message in logged(responses_profile)] == ["system", "user"]
        return
    assert result.returncode == 0, result.stderr
    output = next(event for event in events if event.get("type") == "response.completed")["response"]["output"]
    shown = "".join(event["text"] for event in map(json.loads, result.stdout.splitlines()) if event["type"] == "text")
    text_out = "".join(part["text"] for item in output if item["type"] == "message" for part in item["content"])
    calls = [item for item in output if item["type"] == "function_call"]
    answer = logged(responses_profile)[2]
    assert answer["role"] == "assistant" and answer["responses"]["items"] == output
    if not calls:
        assert shown == text_out and len(chat_server.requests) == 1
        assert answer["content"] == text_out
        return
    assert shown == text_out + "Final answer."
    sent = chat_server.requests[1].input[2:]
    reasoning = [item for item in output if item["type"] == "reasoning" and item.get("encrypted_content")]
    expected = [
        *({"type": "reasoning", "id": item["id"], "summary": item["summary"], "encrypted_content": item["encrypted_content"]} for item in reasoning),
        *({"type": "function_call", "call_id": c["call_id"], "name": c["name"], "arguments": c["arguments"]} for c in calls),
    ]
    assert sent[: len(expected)] == expected  # call ids, never the fc_ item ids; the final encrypted content
    outputs = sent[len(expected):]
    assert [item["call_id"] for item in outputs] == [c["call_id"] for c in calls]
    assert all(item["type"] == "function_call_output" and item["output"].startswith("Error: ") for item in outputs)
    assert [m.get("tool_call_id") for m in logged(responses_profile)[3 : 3 + len(calls)]] == [c["call_id"] for c in calls]


def _data_events(body: bytes) -> list[dict[str, Any]]:
    lines = [line[5:].strip() for line in body.decode().splitlines() if line.startswith("data:")]
    return [json.loads(line) for line in lines if line != "[DONE]"]


# -- our own streams with each server quirk, through the CLI -----------------------------


def _quirky(quirk: str) -> Response:
    """A text-then-call answer with one quirk some server has."""
    request = RecordedRequest(1, "POST", "/v1/responses", {}, {}, b"", {"model": "test-model", "input": []})
    body = b"".join(responses_tool_calls(("echo", {"text": "q"}), content="Calling.").render(request))
    events = _data_events(body)
    if quirk == "item ids change on every event":
        for number, event in enumerate(events):
            if "item_id" in event:
                event["item_id"] = f"item_{number}"
            if "item" in event:
                event["item"] = {**event["item"], "id": f"item_{number}"}
            if event["type"] == "response.completed":
                event["response"]["output"] = []  # nothing final to fall back on
    if quirk == "response id changes after created":
        events[0]["response"]["id"] = "resp_created_only"
    framing = {"no event lines, comments, [DONE]": "data_only", "event after data": "data_first"}.get(quirk, "event_first")
    return responses_events(events, framing=framing, comments="comments" in quirk, done="DONE" in quirk)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "quirk",
    [
        "no event lines, comments, [DONE]",
        "event after data",
        "item ids change on every event",
        "response id changes after created",
    ],
)
def test_server_quirks_through_the_cli(chat_server, invoke_chatfn, responses_profile, chat_plugin_env, quirk: str) -> None:
    chat_server.script(_quirky(quirk), responses_text("Finished."))
    result = invoke_chatfn("chat", "--json", "go", env=chat_plugin_env)
    assert result.returncode == 0, result.stderr
    events = [json.loads(line) for line in result.stdout.splitlines()]
    assert "".join(event["text"] for event in events if event["type"] == "text") == "Calling.Finished."
    assert chat_server.requests[1].input[2:] == [
        {"role": "assistant", "content": "Calling."},
        {"type": "function_call", "call_id": "call_1", "name": "echo", "arguments": '{"text":"q"}'},
        {"type": "function_call_output", "call_id": "call_1", "output": "q"},
    ]
    assert logged(responses_profile)[2]["responses"]["id"] == "resp_scripted1"


@pytest.mark.slow
def test_on_a_terminal_reasoning_approval_and_markdown_work_as_with_chat_completions(
    chat_server, chatfn_env, responses_profile, chat_plugin_env
) -> None:
    from pty_screen import PtyChatfn

    chat_server.script(
        responses_tool_calls(("dangerous", {"path": "/tmp/nothing"}), reasoning="The user asked me to delete it."),
        responses_text("**Deleted** the file."),
    )
    env = {**chatfn_env, **chat_plugin_env, "TERM": "xterm-256color"}
    with PtyChatfn("chat", "delete /tmp/nothing", env=env) as terminal:
        screen = terminal.wait_for(r"\[y\]es")
        assert "The user asked me to delete it." in screen and "dangerous" in screen
        terminal.type("y\n")
        screen = terminal.wait_for("Deleted the file")
        assert "**" not in screen  # rendered as Markdown, not shown raw
        assert terminal.wait() == 0
    assert chat_server.requests[1].input[-1] == {"type": "function_call_output", "call_id": "call_1", "output": "deleted /tmp/nothing"}
