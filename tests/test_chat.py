"""`chatfn chat` end to end: the real CLI and SDK against the scripted local server."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from streams import STREAM_NAMES, needs_streams, read_stream
from support import chunk, fast_config

from chatfn.testing import error, function_call, raw, sse, text, tool_calls
from chatfn.wire.assemble import StreamAssembler
from chatfn.wire.sse import SSEDecoder

FAKE_KEY = "sk-test-fake"


def tool_messages(request: Any) -> list[dict[str, Any]]:
    return [message for message in request.messages if message["role"] == "tool"]


def test_answer_streams_to_stdout_and_the_request_is_complete(chat_server, invoke_chatfn) -> None:
    chat_server.script(text("Hello there, how can I help?"))
    result = invoke_chatfn("chat", "hi")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "Hello there, how can I help?\n"
    body = chat_server.requests[0].body
    assert body["model"] == "test-model" and body["stream"] is True
    assert body["messages"] == [
        {"role": "system", "content": "You are a helpful AI assistant."},
        {"role": "user", "content": "hi"},
    ]
    assert {tool["function"]["name"] for tool in body["tools"]} >= {
        "get_current_date",
        "get_current_time",
        "get_current_weather",
    }
    assert body["stream_options"] == {"include_usage": True}
    assert chat_server.requests[0].headers["authorization"] == f"Bearer {FAKE_KEY}"


def test_a_tool_round_feeds_the_result_back(chat_server, invoke_chatfn, chat_plugin_env) -> None:
    chat_server.script(tool_calls(("echo", {"text": "ab", "times": 2})), text("It said abab."))
    result = invoke_chatfn("chat", "use echo", env=chat_plugin_env)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "It said abab.\n"
    second = chat_server.requests[1].messages
    assistant = second[-2]
    assert assistant["role"] == "assistant"
    assert assistant["tool_calls"][0]["function"]["name"] == "echo"
    call_id = assistant["tool_calls"][0]["id"]
    assert second[-1] == {"role": "tool", "tool_call_id": call_id, "content": "abab"}
    assert "⚙ echo" in result.stderr and "abab" in result.stderr


def test_parallel_calls_answered_in_order_with_matching_ids(chat_server, invoke_chatfn, chat_plugin_env) -> None:
    chat_server.script(
        tool_calls(
            ("sleep_for", {"seconds": 0.3}),
            ("echo", {"text": "x"}),
            ("async_sleep", {"seconds": 0.2}),
            ("get_current_date", {}),
        ),
        text("All done."),
    )
    result = invoke_chatfn("chat", "go", env=chat_plugin_env)
    assert result.returncode == 0, result.stderr
    request = chat_server.requests[1]
    ids = [call["id"] for call in request.messages[-5]["tool_calls"]]
    answers = tool_messages(request)
    assert [answer["tool_call_id"] for answer in answers] == ids
    assert [answer["content"] for answer in answers][:3] == ["slept 0.3", "x", "async slept 0.2"]
    assert len(answers[3]["content"]) == 10  # YYYY-MM-DD


@pytest.mark.parametrize(
    ("call", "expected"),
    [
        (("no_such_tool", {}), "Error: unknown tool"),
        (("echo", "{not json"), "Error: "),
        (("echo", {"times": 2}), "Error: "),  # required 'text' missing
        (("echo", {"text": "a", "times": "many"}), "Error: "),
        (("explode", {}), "kaboom"),
        (("hang", {}), "Error: "),
        (("opaque", {}), ""),
    ],
    ids=["unknown", "invalid-json", "missing-arg", "wrong-type", "raises", "timeout", "not-json-result"],
)
def test_each_tool_failure_goes_to_the_model_and_the_chat_goes_on(
    chat_server, invoke_chatfn, chat_plugin_env, call, expected
) -> None:
    chat_server.script(tool_calls(call), text("Recovered."))
    result = invoke_chatfn("chat", "try it", env=chat_plugin_env)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "Recovered.\n"
    assert "Traceback" not in result.stderr
    content = tool_messages(chat_server.requests[1])[0]["content"]
    assert content.startswith(expected) or expected in content
    if call[0] == "opaque":
        assert "1" in content and "3" in content  # shown, not crashed on


def test_timeout_error_names_the_timeout(chat_server, invoke_chatfn, chat_plugin_env) -> None:
    chat_server.script(tool_calls(("hang", {})), text("ok"))
    result = invoke_chatfn("chat", "hang", env=chat_plugin_env)
    content = tool_messages(chat_server.requests[1])[0]["content"]
    assert "timed out" in content and "0.5" in content
    assert result.returncode == 0


def test_tool_output_never_reaches_stdout(chat_server, invoke_chatfn, chat_plugin_env) -> None:
    chat_server.script(tool_calls(("noisy", {})), text("Fine."))
    result = invoke_chatfn("chat", "--json", "be noisy", env=chat_plugin_env)
    assert result.returncode == 0, result.stderr
    for line in result.stdout.splitlines():
        json.loads(line)
    assert "NOISE" not in result.stdout
    assert "NOISE-PRINT" in result.stderr and "NOISE-FD1" in result.stderr
    assert tool_messages(chat_server.requests[1])[0]["content"] == "quiet result"


def test_huge_result_is_capped_with_a_note(chat_server, invoke_chatfn, chat_plugin_env) -> None:
    chat_server.script(tool_calls(("huge", {})), text("Big."))
    result = invoke_chatfn("chat", "big", env=chat_plugin_env)
    assert result.returncode == 0, result.stderr
    content = tool_messages(chat_server.requests[1])[0]["content"]
    assert len(content) < 25_000 and "truncated" in content


def test_approval_denied_without_a_terminal_and_granted_with_approve(
    chat_server, invoke_chatfn, chat_plugin_env
) -> None:
    chat_server.script(tool_calls(("dangerous", {"path": "/tmp/x"})), text("Denied, fine."))
    denied = invoke_chatfn("chat", "delete it", env=chat_plugin_env)
    assert denied.returncode == 0, denied.stderr
    content = tool_messages(chat_server.requests[1])[0]["content"]
    assert content.startswith("Error:") and "denied" in content
    assert "--approve" in denied.stderr

    chat_server.script(tool_calls(("dangerous", {"path": "/tmp/x"})), text("Deleted."))
    approved = invoke_chatfn("chat", "-y", "delete it", env=chat_plugin_env)
    assert approved.returncode == 0, approved.stderr
    assert tool_messages(chat_server.requests[3])[0]["content"] == "deleted /tmp/x"


def test_config_can_require_approval_by_glob(chat_server, invoke_chatfn, chat_plugin_env, tmp_path: Path) -> None:
    config = tmp_path / "approve.toml"
    config.write_text('[tools]\nrequire_approval = ["ech*"]\n', encoding="utf-8")
    chat_server.script(tool_calls(("echo", {"text": "a"})), text("ok"))
    result = invoke_chatfn("chat", "--config", str(config), "echo", env=chat_plugin_env)
    assert result.returncode == 0
    assert "denied" in tool_messages(chat_server.requests[1])[0]["content"]


def test_max_rounds_stops_a_model_that_calls_tools_forever(chat_server, invoke_chatfn, chat_plugin_env) -> None:
    chat_server.script(*[tool_calls(("echo", {"text": str(n)})) for n in range(3)])
    result = invoke_chatfn("chat", "--max-rounds", "2", "loop", env=chat_plugin_env)
    assert result.returncode == 0, result.stderr
    assert len(chat_server.requests) == 3
    assert "stopped after 2 rounds" in result.stderr


def test_only_selected_tools_or_none(chat_server, invoke_chatfn, chat_plugin_env) -> None:
    chat_server.script(text("a"), text("b"))
    assert invoke_chatfn("chat", "-T", "echo", "-T", "get_current_date", "x", env=chat_plugin_env).returncode == 0
    names = [tool["function"]["name"] for tool in chat_server.requests[0].body["tools"]]
    assert names == ["echo", "get_current_date"]
    assert invoke_chatfn("chat", "--no-tools", "x").returncode == 0
    assert "tools" not in chat_server.requests[1].body
    unknown = invoke_chatfn("chat", "-T", "nope", "x")
    assert unknown.returncode == 2 and "no tool named nope" in unknown.stderr


def test_prompt_and_piped_stdin(chat_server, invoke_chatfn) -> None:
    chat_server.script(text("Summary."), text("Piped only."))
    assert invoke_chatfn("chat", "Summarise:", input="line one\nline two\n").returncode == 0
    assert chat_server.requests[0].messages[-1]["content"] == "Summarise:\n\nline one\nline two\n"
    assert invoke_chatfn("chat", input="just stdin").stdout == "Piped only.\n"
    assert chat_server.requests[1].messages[-1]["content"] == "just stdin"


def test_empty_prompt_and_non_utf8_stdin_are_usage_errors(invoke_chatfn) -> None:
    empty = invoke_chatfn("chat", input="  \n")
    assert empty.returncode == 2 and "empty prompt" in empty.stderr
    bad = invoke_chatfn("chat", "x", input_bytes=b"\xff\xfe\x00bad")
    assert bad.returncode == 2 and "not UTF-8" in bad.stderr and "Traceback" not in bad.stderr


def test_json_output_parses_line_by_line(chat_server, invoke_chatfn, chat_plugin_env) -> None:
    chat_server.script(tool_calls(("echo", {"text": "hi"})), text("Done it."))
    result = invoke_chatfn("chat", "--json", "go", env=chat_plugin_env)
    assert result.returncode == 0, result.stderr
    events = [json.loads(line) for line in result.stdout.splitlines()]
    kinds = [event["type"] for event in events]
    assert kinds.index("tool_call") < kinds.index("tool_result") < kinds.index("text") and kinds[-1] == "done"
    assert "".join(event["text"] for event in events if event["type"] == "text") == "Done it."
    result_event = next(event for event in events if event["type"] == "tool_result")
    assert result_event["content"] == "hi" and result_event["ok"] is True
    assert any(event["type"] == "usage" for event in events)


def test_json_error_event(invoke_chatfn, tmp_path: Path) -> None:
    url = "http://127.0.0.1:9/v1"
    result = invoke_chatfn("chat", "--json", "--config", str(fast_config(tmp_path, url)), "hi", env={"OPENAI_BASE_URL": url})
    assert result.returncode == 1
    events = [json.loads(line) for line in result.stdout.splitlines()]
    assert events[-1]["type"] == "error" and "cannot reach" in events[-1]["message"]


def test_finish_reasons_refusal_and_reasoning(chat_server, invoke_chatfn) -> None:
    chat_server.script(
        sse([chunk({"role": "assistant", "content": "Cut"}), chunk({"content": " off"}), chunk({}, "length")]),
        sse([chunk({"refusal": "I can't help with that."}), chunk({}, "stop")]),
        sse([chunk({"reasoning_content": "Thinking hard."}), chunk({"content": "42"}), chunk({}, "stop")]),
        sse([chunk({"content": "Filtered"}), chunk({}, "content_filter")]),
    )
    cut = invoke_chatfn("chat", "a")
    assert cut.stdout == "Cut off\n" and cut.stderr.count("cut off") == 1
    refused = invoke_chatfn("chat", "b")
    assert "I can't help with that." in refused.stdout
    reasoned = invoke_chatfn("chat", "c")
    assert reasoned.stdout == "42\n" and "Thinking hard." in reasoned.stderr
    filtered = invoke_chatfn("chat", "d")
    assert "content filter" in filtered.stderr


def test_stream_options_rejected_then_retried_without(chat_server, invoke_chatfn) -> None:
    def strict(request):
        if "stream_options" in request.body:
            return error(400, "Unrecognized request argument supplied: stream_options")
        return text("Works without usage.")

    chat_server.script(strict, strict)
    result = invoke_chatfn("chat", "hi")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "Works without usage.\n"
    assert "stream_options" in chat_server.requests[0].body
    assert "stream_options" not in chat_server.requests[1].body


def test_azure_from_the_samples_five_variables(chat_server, invoke_chatfn) -> None:
    chat_server.script(text("Hi from Azure."))
    env = {
        "AZURE_OPENAI_API_KEY": "azure-test-key-123456",
        "AZURE_OPENAI_API_VERSION": "2024-06-01",
        "AZURE_OPENAI_ENDPOINT": chat_server.url,
        "AZURE_OPENAI_CHAT_DEPLOYMENT": "my-gpt4o",
        "AZURE_OPENAI_SYSTEM_PROMPT": "You are an Azure bot.",
        "OPENAI_BASE_URL": "",
        "OPENAI_API_KEY": "",
        "CHATFN_MODEL": "",
    }
    result = invoke_chatfn("chat", "hello", env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "Hi from Azure.\n"
    request = chat_server.requests[0]
    assert request.path == "/openai/deployments/my-gpt4o/chat/completions"
    assert request.query["api-version"] == "2024-06-01"
    assert request.headers["api-key"] == "azure-test-key-123456"
    assert request.messages[0] == {"role": "system", "content": "You are an Azure bot."}


def test_legacy_functions_api(chat_server, invoke_chatfn, chat_plugin_env, tmp_path: Path) -> None:
    config = tmp_path / "functions.toml"
    config.write_text(
        f'[profiles.old]\nbase_url = "{chat_server.base_url}"\nmodel = "gpt-35"\napi = "functions"\n',
        encoding="utf-8",
    )
    chat_server.script(function_call("echo", '{"text": "legacy"}'), text("Legacy done."))
    result = invoke_chatfn("chat", "--config", str(config), "go", env=chat_plugin_env)
    assert result.returncode == 0, result.stderr
    first = chat_server.requests[0].body
    assert "tools" not in first and first["function_call"] == "auto"
    assert any(function["name"] == "echo" for function in first["functions"])
    messages = chat_server.requests[1].messages
    assert messages[-2]["function_call"]["name"] == "echo"
    assert messages[-1] == {"role": "function", "name": "echo", "content": "legacy"}
    assert result.stdout == "Legacy done.\n"


def test_verbose_prints_token_usage(chat_server, invoke_chatfn) -> None:
    chat_server.script(text("Counted."))
    result = invoke_chatfn("chat", "-v", "count")
    assert result.returncode == 0
    assert "tokens:" in result.stderr and "prompt" in result.stderr and "Counted." not in result.stderr


def test_the_chat_path_imports_the_sdk_only_when_it_talks_to_a_model() -> None:
    """The interactive prompt must not wait for the openai SDK: nothing before the first request imports it."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "import chatfn.cli, chatfn.cli.chat_cmd, chatfn.chat, chatfn.terminal.session, chatfn.terminal.render, chatfn.terminal.approval\n"
        "import chatfn.log.session, chatfn.wire.endpoint, chatfn.wire.failures\n"
        "print([m for m in sys.modules if m == 'openai' or m.startswith('openai.')])\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


# -- every recorded real-server stream, replayed byte for byte --------------------------------------


def assembled(body: bytes):
    decoder, assembler = SSEDecoder(), StreamAssembler()
    for event in decoder.feed(body) + decoder.finish():
        assembler.feed(event)
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
