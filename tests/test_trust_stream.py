"""Nothing a server sends crashes chatfn or makes it grow without bound (issue 9, items 4 and 5).

The decoder's limits (one event, the decompressed body, keep-alive-only idle time),
and the crash inputs the issue found: arguments nested 10,000 deep, a lone surrogate
in the answer (stdout and log), usage of the wrong shape. Last, hypothesis throws
arbitrary chunks and arguments through the whole loop, renderers and log included.
"""

from __future__ import annotations

import gzip
import io
import json
import tracemalloc
from contextlib import closing
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chatfn.chat import ChatOptions, ChatSession
from chatfn.errors import ChatfnError, ProviderError
from chatfn.log.session import SessionLog
from chatfn.log.store import LogStore
from chatfn.settings.config import parse_config
from chatfn.terminal.render import JsonRenderer, PlainRenderer
from chatfn.testing import ScriptedServer, raw, sse, text, tool_calls
from chatfn.tools.tool import make_tool
from chatfn.wire.endpoint import resolve_endpoint
from chatfn.wire.sse import MIB, SSEDecoder

FIFTY_MB = 50 * 1024 * 1024
READ = 65536


# -- the decoder's bounds -----------------------------------------------------------------------


def test_a_50_mb_line_is_a_clear_error_in_bounded_memory() -> None:
    body = b"data: " + b"x" * FIFTY_MB
    decoder = SSEDecoder()
    tracemalloc.start()
    try:
        with pytest.raises(ProviderError, match="one event larger than 16 MiB"):
            for start in range(0, len(body), READ):
                decoder.feed(body[start : start + READ])
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 40 * MIB, f"peak {peak / MIB:.0f} MiB"


def test_long_lines_split_anywhere_still_decode() -> None:
    chunk = {"choices": [{"index": 0, "delta": {"content": "y" * 300_000}}]}
    body = f"data: {json.dumps(chunk)}\r\n\r\ndata: [DONE]\r\n\r\n".encode()
    decoder = SSEDecoder()
    chunks = []
    for start in range(0, len(body), 4093):
        chunks += decoder.feed(body[start : start + 4093])
    assert chunks == [chunk] and decoder.done


def test_keep_alive_comments_alone_time_out() -> None:
    now = [0.0]
    decoder = SSEDecoder(idle_timeout=10, clock=lambda: now[0])
    decoder.feed(b'data: {"choices": []}\n\n')
    for _ in range(3):  # 9 s of keep-alives: still waiting
        now[0] += 3
        decoder.feed(b": keep-alive\n\n")
    now[0] += 2
    with pytest.raises(ProviderError, match="only keep-alive comments"):
        decoder.feed(b": keep-alive\n\n")


def test_body_cap_counts_decompressed_bytes() -> None:
    decoder = SSEDecoder(max_body_bytes=MIB)
    with pytest.raises(ProviderError, match="larger than 1 MiB"):
        for _ in range(20):
            decoder.feed(b"\n" * READ)


# -- the same through the CLI, naming the endpoint ----------------------------------------------


def profile_config(tmp_path: Path, **keys: float) -> Path:
    config = tmp_path / "limits.toml"
    lines = ['default_profile = "p"', "[profiles.p]", *(f"{key} = {value}" for key, value in keys.items())]
    config.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return config


@pytest.mark.slow
def test_cli_50_mb_line(chat_server, invoke_chatfn) -> None:
    chat_server.script(raw(b"data: " + b"x" * FIFTY_MB + b"\n\n", headers={"Content-Type": "text/event-stream"}))
    result = invoke_chatfn("chat", "--no-log", "hi")
    assert result.returncode == 1
    assert "one event larger than 16 MiB" in result.stderr and chat_server.base_url in result.stderr
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr


def test_cli_gzip_bomb(chat_server, invoke_chatfn) -> None:
    bomb = gzip.compress(b"data: " + b"0" * (100 * 1024 * 1024), compresslevel=9)
    assert len(bomb) < 200_000
    chat_server.script(raw(bomb, headers={"Content-Type": "text/event-stream", "Content-Encoding": "gzip"}))
    result = invoke_chatfn("chat", "--no-log", "hi")
    assert result.returncode == 1
    assert "larger than 16 MiB" in result.stderr and chat_server.base_url in result.stderr


def test_cli_gzip_body_cap(chat_server, invoke_chatfn, tmp_path: Path) -> None:
    body = gzip.compress(b": pad\n" * (2 * 1024 * 1024))  # 12 MiB of comments, decompressed
    chat_server.script(raw(body, headers={"Content-Type": "text/event-stream", "Content-Encoding": "gzip"}))
    config = profile_config(tmp_path, stream_max_body_mib=1)
    result = invoke_chatfn("chat", "--no-log", "--config", str(config), "hi")
    assert result.returncode == 1
    assert "larger than 1 MiB (decompressed)" in result.stderr


def test_cli_keep_alive_only_stream_times_out_and_keeps_the_partial_answer(chat_server, invoke_chatfn, tmp_path: Path) -> None:
    first = b'data: {"choices":[{"index":0,"delta":{"content":"partial words"}}]}\n\n'
    chat_server.script(raw(first + b": keep-alive\n\n" * 60, headers={"Content-Type": "text/event-stream"}, delay=0.05))
    config = profile_config(tmp_path, stream_idle_timeout=0.5)
    result = invoke_chatfn("chat", "--config", str(config), "hi")
    assert result.returncode == 1
    assert "only keep-alive comments" in result.stderr and chat_server.base_url in result.stderr
    assert "partial words" in result.stdout
    shown = invoke_chatfn("logs", "show")
    assert "partial words" in shown.stdout


# -- crash inputs -------------------------------------------------------------------------------


def test_arguments_nested_10000_deep_are_an_error_for_the_model(chat_server, invoke_chatfn) -> None:
    deep = '{"timezone": ' + "[" * 10_000 + "]" * 10_000 + "}"
    chat_server.script(tool_calls(("get_current_time", deep)), text("ok"))
    result = invoke_chatfn("chat", "--no-log", "time?")
    assert result.returncode == 0, result.stderr
    assert "nest deeper than 64 levels" in chat_server.requests[1].messages[-1]["content"]


def test_lone_surrogate_reaches_stdout_and_the_log(chat_server, invoke_chatfn) -> None:
    chat_server.script(sse(['{"choices":[{"index":0,"delta":{"content":"before \\ud800 after"},"finish_reason":"stop"}]}']))
    result = invoke_chatfn("chat", "hi")
    assert result.returncode == 0, result.stderr
    assert "before \ufffd after" in result.stdout
    assert "before \ufffd after" in invoke_chatfn("logs", "show").stdout


def test_lone_surrogate_with_json_output(chat_server, invoke_chatfn) -> None:
    chat_server.script(sse(['{"choices":[{"index":0,"delta":{"content":"a\\udfffb"},"finish_reason":"stop"}]}']))
    result = invoke_chatfn("chat", "--no-log", "--json", "hi")
    assert result.returncode == 0, result.stderr
    assert any(json.loads(line).get("text") for line in result.stdout.splitlines())


@pytest.mark.parametrize("usage", ['"lots"', "[1, 2]", "42", '{"total_tokens": "many"}'])
def test_usage_of_any_shape(chat_server, invoke_chatfn, usage: str) -> None:
    chunk = '{"choices":[{"index":0,"delta":{"content":"fine"},"finish_reason":"stop"}],"usage":' + usage + "}"
    chat_server.script(sse([chunk]))
    result = invoke_chatfn("chat", "-v", "--json", "hi")
    assert result.returncode == 0, result.stderr
    assert "internal error" not in result.stderr
    assert invoke_chatfn("logs", "show").returncode == 0


@pytest.mark.parametrize("model", ["9223372036854775808", "[1]", '{"name": "x"}', "true"])
def test_a_model_name_of_any_shape(chat_server, invoke_chatfn, model: str) -> None:
    """Found by the fuzz below: a chunk's "model" of 2**63 reached the log's SQLite INTEGER and crashed the chat."""
    chunk = '{"model":' + model + ',"choices":[{"index":0,"delta":{"content":"fine"},"finish_reason":"stop"}]}'
    chat_server.script(sse([chunk]))
    result = invoke_chatfn("chat", "hi")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "fine\n"
    shown = invoke_chatfn("logs", "show", "--json")
    assert shown.returncode == 0, shown.stderr
    logged = json.loads(shown.stdout)
    assert logged["messages"][-1] == {"role": "assistant", "content": "fine"}
    assert logged["log"][-1]["model"] == "test-model"  # what was asked for: the server's odd value means nothing


# -- fuzzing the whole loop ----------------------------------------------------------------------

scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=20))
json_values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3), max_leaves=8)
deltas = st.fixed_dictionaries(
    {},
    optional={
        "content": st.one_of(st.text(), json_values),
        "reasoning_content": st.one_of(st.text(), json_values),
        "refusal": st.one_of(st.text(), st.none()),
        "tool_calls": st.one_of(
            json_values,
            st.lists(
                st.fixed_dictionaries(
                    {"index": st.one_of(st.integers(-2, 3), json_values)},
                    optional={
                        "id": st.one_of(st.text(max_size=8), json_values),
                        "function": st.fixed_dictionaries(
                            {},
                            optional={
                                "name": st.one_of(st.sampled_from(["echo", "nope", ""]), json_values),
                                "arguments": st.one_of(st.text(), st.sampled_from(['{"text": "\\ud800"}', '{"text": ' + "[" * 200 + "]" * 200 + "}"]), json_values),
                            },
                        ),
                    },
                ),
                max_size=3,
            ),
        ),
    },
)
chunks = st.fixed_dictionaries(
    {},
    optional={
        "choices": st.one_of(
            json_values,
            st.lists(st.fixed_dictionaries({"index": st.just(0)}, optional={"delta": st.one_of(deltas, json_values), "finish_reason": st.one_of(st.sampled_from(["stop", "tool_calls", "length", None]), json_values)}), max_size=2),
        ),
        "usage": json_values,
        "model": json_values,
    },
)


def echo(text: str) -> str:
    """Repeat a text.

    Args:
        text: What to repeat.
    """
    return text


@pytest.mark.slow
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(first=st.lists(chunks, min_size=1, max_size=6), second=st.lists(chunks, max_size=3))
def test_fuzzed_chunks_never_crash_the_loop(tmp_path_factory, first, second) -> None:
    with ScriptedServer() as server:
        _chat_through(server, tmp_path_factory.mktemp("log") / "log.db", first, second)


def _chat_through(fuzz_server: ScriptedServer, log_db: Path, first: list, second: list) -> None:
    config = parse_config(f'[profiles.t]\nbase_url = "{fuzz_server.base_url}"\nmodel = "m"\n'.encode(), "t.toml")
    endpoint = resolve_endpoint(config)
    store = LogStore.open(log_db)
    session = ChatSession(
        endpoint,
        [make_tool(echo, plugin="test")],
        ChatOptions(max_rounds=2, approve=lambda tool, arguments: True),
        log=SessionLog(store, endpoint),
    )
    fuzz_server.script(sse(first), sse(second or [{"choices": []}]), text("end"))
    out = io.TextIOWrapper(io.BytesIO(), encoding="utf-8", errors="strict")
    renderers = [PlainRenderer(out, out), JsonRenderer(out, out)]
    try:
        with closing(session.send("go")) as events:
            for event in events:
                for renderer in renderers:
                    renderer.event(event)
    except ChatfnError:
        pass  # a clear error is an answer; anything else fails the test
    finally:
        out.flush()
        store.close()
