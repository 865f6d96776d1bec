"""What the user sees when the server fails: one line, the endpoint, the model, a next step."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from chatfn.log.store import LogStore
from chatfn.testing import error, raw, responses_text, sse, text

FAKE_KEY = "sk-test-fake"


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def one_error_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr and FAKE_KEY not in stderr
    return lines[0]


def fast_config(tmp_path: Path, base_url: str, **settings: object) -> Path:
    """A profile pointing at ``base_url`` with quick timeouts and no retries."""
    lines = ['default_profile = "t"', "[profiles.t]", f'base_url = "{base_url}"', 'model = "test-model"']
    lines += [f"{key} = {value!r}" if not isinstance(value, bool) else f"{key} = {str(value).lower()}"
              for key, value in {"max_retries": 0, **settings}.items()]
    path = tmp_path / "fast.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_connection_refused(invoke_chatfn) -> None:
    url = f"http://127.0.0.1:{closed_port()}/v1"
    result = invoke_chatfn("chat", "hi", env={"OPENAI_BASE_URL": url})
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


@pytest.mark.parametrize("api", ["tools", "responses"])
def test_ctrl_c_during_a_one_shot_answer_exits_130_and_keeps_the_text(chat_server, chatfn_env, api: str) -> None:
    if api == "responses":
        profile = f'[profiles.r]\nbase_url = "{chat_server.base_url}"\napi = "responses"\n'
        Path(chatfn_env["CHATFN_CONFIG"]).write_text(profile, encoding="utf-8")
    chat_server.script((responses_text if api == "responses" else text)("word " * 200, delay=0.05))
    process = subprocess.Popen(
        [sys.executable, "-m", "chatfn", "chat", "hi"],
        env=chatfn_env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        chat_server.wait_for_requests(1, timeout=20)
        time.sleep(0.5)
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 130, stderr
    assert stdout.startswith("word word") and "Traceback" not in stderr
    assert "interrupted" in stderr
    assert chat_server.requests[0].path.endswith("/responses" if api == "responses" else "/chat/completions")
    with LogStore.open(Path(chatfn_env["CHATFN_LOG_DB"])) as store:
        conversation_id = store.latest_conversation_id()
        assert conversation_id is not None
        partial = store.conversation(conversation_id).messages[-1]
    assert partial.interrupted and partial.message["content"].startswith("word word")
    assert partial.message["role"] == "assistant" and "responses" not in partial.message
