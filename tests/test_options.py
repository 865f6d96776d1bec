"""Model options (-o KEY VALUE and [profiles.X.options]) reach the request body with their types."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from chatfn.testing import error, text


def write_config(env: dict[str, str], body: str) -> None:
    Path(env["CHATFN_CONFIG"]).write_text(body, encoding="utf-8")


def test_options_from_the_command_line_arrive_typed(chat_server, invoke_chatfn) -> None:
    chat_server.script(text("Done."))
    result = invoke_chatfn(
        "chat", "hi",
        "-o", "temperature", "0.2",
        "-o", "seed", "42",
        "--option", "stop", '["\\n\\n", "END"]',
        "-o", "reasoning_effort", "low",
        "-o", "logprobs", "true",
        "-o", "response_format", '{"type": "json_object"}',
        "-o", "top_k", "40",  # not OpenAI's: passed through for servers that take it
        "-o", "user", '"42"',  # JSON text stays text
        "-o", "seed", "7",  # the later one wins
    )
    assert result.returncode == 0, result.stderr
    body = chat_server.requests[0].body
    assert body["temperature"] == 0.2 and isinstance(body["temperature"], float)
    assert body["seed"] == 7 and body["top_k"] == 40
    assert body["stop"] == ["\n\n", "END"]
    assert body["reasoning_effort"] == "low" and body["logprobs"] is True and body["user"] == "42"
    assert body["response_format"] == {"type": "json_object"}
    assert body["messages"][-1] == {"role": "user", "content": "hi"}


def test_profile_options_are_sent_and_flags_override_them(chat_server, invoke_chatfn, chatfn_env) -> None:
    write_config(chatfn_env, """
[profiles.local]
model = "test-model"
[profiles.local.options]
temperature = 0
max_tokens = 256
stop = ["###"]
top_k = 20
""")
    chat_server.script(text("One."), text("Two."))
    assert invoke_chatfn("chat", "-p", "local", "a").returncode == 0
    assert invoke_chatfn("chat", "-p", "local", "-o", "temperature", "1.5", "b").returncode == 0
    first, second = (request.body for request in chat_server.requests)
    assert (first["temperature"], first["max_tokens"], first["stop"], first["top_k"]) == (0, 256, ["###"], 20)
    assert second["temperature"] == 1.5 and second["max_tokens"] == 256


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["-o", "temperature", "hot"], "temperature: expected a number"),
        (["-o", "max_tokens", "1.5"], "max_tokens: expected an integer"),
        (["-o", "stop", "[1, 2]"], "stop: expected a string or a list of strings"),
        (["-o", "model", "x"], "model: chatfn sets this itself"),
        (["-o", "temperature"], "requires 2 arguments"),
    ],
)
def test_a_bad_option_is_one_line_and_nothing_is_sent(chat_server, invoke_chatfn, args, expected) -> None:
    result = invoke_chatfn("chat", "hi", *args)
    assert result.returncode == 2
    assert expected in result.stderr and "Traceback" not in result.stderr
    assert chat_server.requests == []


def test_a_bad_option_in_the_config_names_the_key(chat_server, invoke_chatfn, chatfn_env) -> None:
    write_config(chatfn_env, '[profiles.local]\nmodel = "m"\n[profiles.local.options]\nseed = "abc"\n')
    result = invoke_chatfn("chat", "hi")
    assert result.returncode == 2
    assert "profiles.local.options: seed: expected an integer" in result.stderr
    assert chat_server.requests == []


REJECTIONS = {
    "openai": (400, {"error": {"message": "Unsupported parameter: 'temperature' is not supported with this model.",
                               "type": "invalid_request_error", "param": "temperature", "code": "unsupported_parameter"}}),
    "message only": (400, {"error": {"message": "'temperature' must be less than or equal to 2",
                                     "type": "invalid_request_error"}}),
    "fastapi": (422, {"detail": [{"loc": ["body", "temperature"], "msg": "Input should be less than or equal to 2",
                                  "type": "less_than_equal"}]}),
}


@pytest.mark.parametrize("style", sorted(REJECTIONS))
def test_a_server_rejecting_a_parameter_is_one_line_naming_it(chat_server, invoke_chatfn, style) -> None:
    status, body = REJECTIONS[style]
    chat_server.script(error(status, body=json.dumps(body).encode()))
    result = invoke_chatfn("chat", "hi", "-o", "temperature", "9")
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "rejects the parameter 'temperature'" in lines[0] and f"HTTP {status}" in lines[0]
    assert "-o temperature" in lines[0]  # the hint says where it came from


def test_help_names_the_common_options(invoke_chatfn) -> None:
    shown = " ".join(invoke_chatfn("chat", "--help").stdout.split())
    for name in ("--option", "temperature", "top_p", "max_tokens", "seed", "stop", "reasoning_effort"):
        assert name in shown
