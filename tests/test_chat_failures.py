"""What the user sees when a chat fails: one line, the endpoint, the model, a next step.

Also the fault matrix of docs/reliability.md: each server fault runs as the second turn
of a logged conversation (``--continue``), so the test also shows that nothing already
complete is lost from the log. Faults that need a real terminal or a signal are in
``test_chat_terminal.py``.
"""

from __future__ import annotations

import json
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support import (
    chunk,
    closed_port,
    fast_config,
    logged,
    one_error_line,
    self_signed_certificate,
)

from chatfn.log.store import LogStore
from chatfn.testing import (
    FAKE_API_KEY,
    ScriptedServer,
    error,
    raw,
    sse,
    text,
    tool_calls,
)

FAKE_KEY = FAKE_API_KEY

EARLIER = [
    {"role": "system", "content": "You are a helpful AI assistant."},
    {"role": "user", "content": "earlier question"},
    {"role": "assistant", "content": "earlier answer"},
]


def test_connection_refused(invoke_chatfn, tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{closed_port()}/v1"
    result = invoke_chatfn("chat", "--config", str(fast_config(tmp_path, url)), "hi", env={"OPENAI_BASE_URL": url})
    assert result.returncode == 1
    line = one_error_line(result.stderr)
    assert "cannot reach" in line and url in line and "test-model" in line and "base_url" in line


@pytest.mark.parametrize(
    ("status", "words"),
    [
        (401, ["HTTP 401", "OPENAI_API_KEY"]),
        (403, ["HTTP 403"]),
        (404, ["HTTP 404", "model name"]),
        (500, ["HTTP 500", "try again"]),
        (502, ["HTTP 502"]),
        (503, ["HTTP 503"]),
    ],
)
def test_http_errors(chat_server, invoke_chatfn, tmp_path: Path, status: int, words: list[str]) -> None:
    chat_server.script(error(status, f"server says {status} for {FAKE_KEY}"))
    config = fast_config(tmp_path, chat_server.base_url, api_key_env="OPENAI_API_KEY")
    result = invoke_chatfn("chat", "--config", str(config), "hi")
    assert result.returncode == 1
    line = one_error_line(result.stderr)
    assert chat_server.base_url in line and "test-model" in line
    for word in words:
        assert word in line
    assert f"server says {status}" in line  # the server's own words, key scrubbed


@pytest.mark.slow
def test_429_is_retried_respecting_retry_after_then_reported(chat_server, invoke_chatfn, tmp_path: Path) -> None:
    chat_server.script(error(429, "slow down", headers={"Retry-After": "0"}), text("Got through."))
    config = fast_config(tmp_path, chat_server.base_url, max_retries=2)
    result = invoke_chatfn("chat", "--config", str(config), "hi")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "Got through.\n" and len(chat_server.requests) == 2

    chat_server.script(*[error(429, "slow down", headers={"Retry-After": "0"})] * 3)
    result = invoke_chatfn("chat", "--config", str(config), "hi")
    assert result.returncode == 1
    assert "HTTP 429" in one_error_line(result.stderr)


def test_html_error_page(chat_server, invoke_chatfn, tmp_path: Path) -> None:
    chat_server.script(raw(b"<html><body><h1>502 Bad Gateway</h1></body></html>", status=502,
                           headers={"Content-Type": "text/html"}))
    result = invoke_chatfn("chat", "--config", str(fast_config(tmp_path, chat_server.base_url)), "hi")
    assert result.returncode == 1
    assert "HTTP 502" in one_error_line(result.stderr)


def test_stream_dropped_midway_keeps_what_arrived(chat_server, invoke_chatfn) -> None:
    chat_server.script(text("one two three four five six", drop_after=3))
    result = invoke_chatfn("chat", "hi")
    assert result.returncode == 1
    assert result.stdout.startswith("one")
    assert "mid-stream" in one_error_line(result.stderr) or "ended" in result.stderr


def test_stream_without_done_or_finish(chat_server, invoke_chatfn) -> None:
    chunk = {"id": "c", "object": "chat.completion.chunk", "choices": [{"index": 0, "delta": {"content": "Half"}}]}
    chat_server.script(sse([chunk], done=False))
    result = invoke_chatfn("chat", "hi")
    assert result.returncode == 1
    assert result.stdout.startswith("Half")
    assert "ended before the answer was complete" in one_error_line(result.stderr)


def test_malformed_chunk(chat_server, invoke_chatfn) -> None:
    chat_server.script(sse(['{"id": "c", "choices": [{"index": 0, "delta": {"content": "ok"}}]}', "{not json"]))
    result = invoke_chatfn("chat", "hi")
    assert result.returncode == 1
    assert "malformed" in one_error_line(result.stderr)


def test_error_object_inside_the_stream(chat_server, invoke_chatfn) -> None:
    chat_server.script(sse([{"error": {"message": "model overloaded", "type": "server_error"}}]))
    result = invoke_chatfn("chat", "hi")
    assert result.returncode == 1
    assert "model overloaded" in one_error_line(result.stderr)


def test_stalled_stream_times_out(chat_server, invoke_chatfn, tmp_path: Path) -> None:
    chat_server.script(text("slow answer here", stall_after=2))
    config = fast_config(tmp_path, chat_server.base_url, timeout=1.0)
    result = invoke_chatfn("chat", "--config", str(config), "hi")
    assert result.returncode == 1
    line = one_error_line(result.stderr)
    assert "test-model" in line


# -- the fault matrix ------------------------------------------------------------------------------


def seed_log(path: Path) -> str:
    """One complete earlier turn in the log; returns its conversation id."""
    with LogStore.open(path) as store:
        cid = store.new_conversation(model="test-model", provider="openai", profile="t")
        for message in EARLIER:
            store.add_message(cid, message)
    return cid


@pytest.fixture(scope="module")
def self_signed_tls() -> Iterator[str]:
    """``https://127.0.0.1:PORT/v1`` served with a certificate no client trusts (openssl CLI)."""
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        cert, key = self_signed_certificate(Path(folder))
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        listener = socket.create_server(("127.0.0.1", 0))
        stop = threading.Event()

        def serve() -> None:
            while not stop.is_set():
                try:
                    connection, _ = listener.accept()
                except OSError:
                    return
                try:
                    with context.wrap_socket(connection, server_side=True) as tls:
                        tls.recv(1)
                except (OSError, ssl.SSLError):
                    pass  # the client refuses our certificate: that is the point

        thread = threading.Thread(target=serve, daemon=True)
        thread.start()
        try:
            yield f"https://127.0.0.1:{listener.getsockname()[1]}/v1"
        finally:
            stop.set()
            listener.close()


# -- server faults: one line, exit 1, the log keeps the earlier turn and the new question ----------

SERVER_FAULTS: dict[str, tuple[Any, str, str | None]] = {
    # name: (scripted response or base_url kind, words in the error line, partial answer kept)
    "connection-refused": ("refused", "cannot reach", None),
    "dns-failure": ("dns", "cannot reach http://chatfn-test.invalid/v1", None),
    "tls-plain-http-port": ("tls-plain", "cannot reach https://127.0.0.1", None),
    "tls-untrusted-certificate": ("tls-cert", "CERTIFICATE_VERIFY_FAILED", None),
    "401": (error(401, "Incorrect API key provided."), "HTTP 401", None),
    "403": (error(403, "not allowed"), "HTTP 403", None),
    "404": (error(404, "no such model"), "HTTP 404", None),
    "429-without-retry-after": (error(429, "Rate limit reached."), "HTTP 429", None),
    "500": (error(500, "boom"), "HTTP 500", None),
    "html-error-page": (
        raw(b"<html><body><h1>502 Bad Gateway</h1></body></html>", status=502, headers={"Content-Type": "text/html"}),
        "HTML page instead of JSON", None,
    ),
    "html-page-with-200": (
        raw(b"<!doctype html><html><body>Sign in to the proxy</body></html>", headers={"Content-Type": "text/html"}),
        "text/html instead of an event stream", None,
    ),
    "stall-past-read-timeout": (text("slow answer here", stall_after=3), "test-model", "slow"),
    "dropped-mid-stream": (text("one two three four five six", drop_after=3), "mid-stream", "one two"),
    "malformed-json-chunk": (sse([chunk({"content": "Partial"}), "{not json"]), "malformed chunk", "Partial"),
    "chunk-of-unknown-shape": (
        sse([chunk({"content": "Partial"}), {"choices": ["not a choice"]}]), "unexpected shape", "Partial",
    ),
    "no-done-no-finish-reason": (sse([chunk({"content": "Half"})], done=False), "ended before", "Half"),
    "error-object-in-stream": (
        sse([chunk({"content": "Partial"}), {"error": {"message": "model overloaded"}}]), "model overloaded", "Partial",
    ),
}


@pytest.mark.parametrize("fault", list(SERVER_FAULTS))
def test_server_fault_is_one_line_exit_1_and_the_log_keeps_what_was_complete(
    fault: str, chat_server: ScriptedServer, invoke_chatfn, log_path: Path, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    scripted, words, partial = SERVER_FAULTS[fault]
    base_url = {
        "refused": f"http://127.0.0.1:{closed_port()}/v1",
        "dns": "http://chatfn-test.invalid/v1",
        "tls-plain": chat_server.base_url.replace("http://", "https://"),
    }.get(scripted) if isinstance(scripted, str) else chat_server.base_url
    if scripted == "tls-cert":
        base_url = request.getfixturevalue("self_signed_tls")
    if not isinstance(scripted, str):
        chat_server.script(scripted)
    cid = seed_log(log_path)
    config = fast_config(tmp_path, base_url, timeout=1.0)
    # $OPENAI_BASE_URL would beat the file's base_url (environment > file)
    result = invoke_chatfn("chat", "--config", str(config), "--continue", "the new question", env={"OPENAI_BASE_URL": None})
    assert result.returncode == 1, result.stderr
    line = one_error_line(result.stderr)
    assert words in line, line
    assert "test-model" in line and base_url.split("/v1")[0] in line  # names the endpoint and the model
    if not isinstance(scripted, str):
        assert chat_server.requests[0].messages == [*EARLIER, {"role": "user", "content": "the new question"}]
    rows = logged(log_path, cid)
    assert [row.message for row in rows[:4]] == [*EARLIER, {"role": "user", "content": "the new question"}]
    if partial is None:
        assert len(rows) == 4
    else:
        assert len(rows) == 5 and rows[4].message["content"].startswith(partial)
        assert rows[4].error is not None and "test-model" in rows[4].error


def test_dns_failure_needs_no_network(invoke_chatfn, tmp_path: Path) -> None:
    """A name under .invalid never resolves (RFC 6761): the failure is the resolver's, not a timeout."""
    config = fast_config(tmp_path, "http://chatfn-test.invalid/v1", timeout=30.0)
    started = time.monotonic()
    result = invoke_chatfn("chat", "--config", str(config), "hi", timeout=25)
    assert result.returncode == 1
    line = one_error_line(result.stderr)
    assert "no answer within" not in line  # it failed to resolve, it did not wait out the timeout
    assert time.monotonic() - started < 25


def test_429_without_retry_after_is_retried_with_backoff(chat_server, invoke_chatfn, tmp_path: Path) -> None:
    no_retry_after = error(429, "Rate limit reached.")
    assert "retry-after" not in {name.lower() for name in no_retry_after.headers}
    chat_server.script(no_retry_after, text("Got through."))
    config = fast_config(tmp_path, chat_server.base_url, max_retries=1)
    result = invoke_chatfn("chat", "--config", str(config), "hi")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "Got through.\n" and len(chat_server.requests) == 2


def test_unknown_but_harmless_chunks_are_ignored(chat_server, invoke_chatfn) -> None:
    chat_server.script(sse([
        {"foo": 1},
        {"id": "c", "choices": []},
        chunk({"role": "assistant", "content": "Fine", "some_new_field": {"x": [1]}}),
        {**chunk({"content": " anyway."}), "system_fingerprint": None, "unknown": "yes"},
        chunk({}, "stop"),
    ]))
    result = invoke_chatfn("chat", "hi")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "Fine anyway.\n" and result.stderr == ""


def test_finish_reason_without_done_is_a_complete_answer(chat_server, invoke_chatfn, log_path: Path) -> None:
    chat_server.script(sse([chunk({"content": "All here."}), chunk({}, "stop")], done=False))
    result = invoke_chatfn("chat", "hi")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "All here.\n"
    last = logged(log_path)[-1]
    assert last.message == {"role": "assistant", "content": "All here."} and last.error is None


# -- model faults ----------------------------------------------------------------------------------


def test_fifty_tool_calls_in_one_response(chat_server, invoke_chatfn, chat_plugin_env, log_path: Path) -> None:
    chat_server.script(tool_calls(*[("echo", {"text": f"n{n}"}) for n in range(50)]), text("Fifty."))
    result = invoke_chatfn("chat", "many", env=chat_plugin_env)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "Fifty.\n" and result.stderr.count("⚙ echo") == 50
    messages = chat_server.requests[1].messages
    ids = [call["id"] for call in messages[-51]["tool_calls"]]
    answers = messages[-50:]
    assert [m["tool_call_id"] for m in answers] == ids and len(set(ids)) == 50
    assert [m["content"] for m in answers] == [f"n{n}" for n in range(50)]
    assert [row.role for row in logged(log_path)].count("tool") == 50


@pytest.mark.parametrize("name", ["rm -rf;", "../../etc/passwd\n名前"])
def test_a_tool_name_no_tool_may_have(chat_server, invoke_chatfn, chat_plugin_env, name: str) -> None:
    chat_server.script(tool_calls((name, {}), ("echo", {"text": "still runs"})), text("Recovered."))
    result = invoke_chatfn("chat", "--json", "go", env=chat_plugin_env)
    assert result.returncode == 0, result.stderr
    events = [json.loads(line) for line in result.stdout.splitlines()]
    results = [event for event in events if event["type"] == "tool_result"]
    assert results[0]["ok"] is False and results[1]["content"] == "still runs"
    answers = chat_server.requests[1].messages[-2:]
    assert answers[0]["content"].startswith("Error: ") and answers[1]["content"] == "still runs"
    assert "Traceback" not in result.stderr


def test_one_megabyte_of_arguments(chat_server, invoke_chatfn, chat_plugin_env, log_path: Path) -> None:
    big = "a" * 1_000_000
    chat_server.script(tool_calls(("echo", {"text": big})), text("Big done."))
    result = invoke_chatfn("chat", "--json", "big", env=chat_plugin_env)
    assert result.returncode == 0, result.stderr
    events = [json.loads(line) for line in result.stdout.splitlines()]
    call = next(event for event in events if event["type"] == "tool_call")
    assert json.loads(call["arguments"]) == {"text": big}
    tool_result = chat_server.requests[1].messages[-1]["content"]
    assert len(tool_result) < 25_000 and "truncated" in tool_result  # capped, with a note to the model
    assistant = next(row for row in logged(log_path) if row.message.get("tool_calls"))
    assert json.loads(assistant.message["tool_calls"][0]["function"]["arguments"]) == {"text": big}


def test_a_model_that_calls_tools_forever_leaves_a_valid_history(
    chat_server, invoke_chatfn, chat_plugin_env, log_path: Path
) -> None:
    chat_server.script(*[tool_calls(("echo", {"text": str(n)})) for n in range(4)], text("Resumed fine."))
    result = invoke_chatfn("chat", "--max-rounds", "3", "loop", env=chat_plugin_env)
    assert result.returncode == 0, result.stderr
    assert result.stderr.count("stopped after 3 rounds") == 1 and len(chat_server.requests) == 4
    last = logged(log_path)[-1].message
    assert last["role"] == "tool" and "not run" in last["content"]  # every call answered
    assert invoke_chatfn("chat", "--continue", "and now?", env=chat_plugin_env).returncode == 0
    assert chat_server.requests[4].messages[-2] == last


# -- config and input ----------------------------------------------------------------------------


def test_a_missing_environment_variable_is_one_line_exit_2(invoke_chatfn, chat_server, tmp_path: Path) -> None:
    config = tmp_path / "team.toml"
    config.write_text(
        f'[profiles.t]\nbase_url = "{chat_server.base_url}"\nmodel = "m"\napi_key_env = "TEAM_KEY"\n', encoding="utf-8"
    )
    result = invoke_chatfn("chat", "--config", str(config), "hi", env={"TEAM_KEY": None})
    assert result.returncode == 2 and result.stdout == ""
    assert "$TEAM_KEY is not set" in one_error_line(result.stderr)
    azure = invoke_chatfn("chat", "hi", env={"OPENAI_BASE_URL": None, "CHATFN_MODEL": None, "AZURE_OPENAI_ENDPOINT": chat_server.url})
    assert azure.returncode == 2 and "AZURE_OPENAI_CHAT_DEPLOYMENT" in one_error_line(azure.stderr)
    assert chat_server.requests == []


def test_a_one_megabyte_piped_prompt(chat_server, invoke_chatfn, log_path: Path) -> None:
    prompt = "word " * 200_000 + "é\n"
    chat_server.script(text("Read it all."))
    result = invoke_chatfn("chat", input=prompt)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "Read it all.\n"
    assert chat_server.requests[0].messages[-1]["content"] == prompt
    assert logged(log_path)[1].message["content"] == prompt
