"""chatfn.testing: the scripted server driven by the real openai SDK over real HTTP, and its fixtures."""

from __future__ import annotations

import http.client
import json
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import openai
import pytest
from openai import AzureOpenAI, OpenAI

import chatfn
from chatfn.testing import (
    DEFAULT_MODEL,
    FAKE_API_KEY,
    RecordedRequest,
    Response,
    ScriptedServer,
    ToolCallSpec,
    error,
    faults,
    function_call,
    raw,
    sse,
    text,
    tool_calls,
)

USER = [{"role": "user", "content": "hello there"}]


def client(server: ScriptedServer, **options: Any) -> OpenAI:
    return OpenAI(base_url=server.base_url, api_key="sk-test-key", max_retries=0, timeout=10, **options)


def stream(server: ScriptedServer, **request: Any) -> list[Any]:
    """Every chunk the SDK yields for one streamed request."""
    sdk = client(server)
    return list(sdk.chat.completions.create(**{"model": "gpt-test", "messages": USER, "stream": True, **request}))


def http_get(server: ScriptedServer, body: dict[str, Any] | None = None) -> http.client.HTTPResponse:
    """POST a chat request with the stdlib client, to see the bytes the SDK would hide."""
    connection = http.client.HTTPConnection("127.0.0.1", int(server.url.rsplit(":", 1)[1]), timeout=10)
    payload = json.dumps(body or {"model": "m", "messages": USER, "stream": True})
    connection.request("POST", "/v1/chat/completions", body=payload, headers={"Content-Type": "application/json"})
    return connection.getresponse()


def split_events(body: bytes) -> list[bytes]:
    events = body.split(b"\n\n")
    assert events[-1] == b"", "the body must end with a blank line"
    return [event + b"\n\n" for event in events[:-1]]


def assembled_tool_calls(chunks: list[Any]) -> dict[int, dict[str, str]]:
    calls: dict[int, dict[str, str]] = {}
    for chunk in chunks:
        for choice in chunk.choices:
            for fragment in choice.delta.tool_calls or []:
                call = calls.setdefault(fragment.index, {"id": "", "name": "", "arguments": ""})
                call["id"] += fragment.id or ""
                call["name"] += fragment.function.name or "" if fragment.function else ""
                call["arguments"] += fragment.function.arguments or "" if fragment.function else ""
    return calls


# --------------------------------------------------------------------------- text


def test_text_assembles_and_every_chunk_has_openais_shape(chat_server: ScriptedServer) -> None:
    chat_server.script(text("Hello there, how can I help?"))
    chunks = stream(chat_server)
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == "Hello there, how can I help?"
    assert chunks[0].choices[0].delta.role == "assistant" and chunks[0].choices[0].delta.content == ""
    assert [c.choices[0].finish_reason for c in chunks][-1] == "stop"
    assert all(c.choices[0].finish_reason is None for c in chunks[:-1])
    assert {c.id for c in chunks} == {"chatcmpl-scripted1"}
    assert {c.object for c in chunks} == {"chat.completion.chunk"}
    assert {c.model for c in chunks} == {"gpt-test"}  # the model the request named
    assert all(c.usage is None for c in chunks)  # not asked for


def test_text_pieces_by_word_or_by_size(chat_server: ScriptedServer) -> None:
    chat_server.script(text("one two  three "), text("abcdefghij", chunk_size=4))
    words = [c.choices[0].delta.content for c in stream(chat_server)][1:-1]
    assert words == ["one", " two", "  three", " "]
    sized = [c.choices[0].delta.content for c in stream(chat_server)][1:-1]
    assert sized == ["abcd", "efgh", "ij"]


def test_usage_chunk_only_when_the_request_asks(chat_server: ScriptedServer) -> None:
    chat_server.script(text("Hi."), text("Hi."), text("Hi.", usage={"prompt_tokens": 7, "completion_tokens": 2, "total_tokens": 9}))
    plain = stream(chat_server)
    assert all(c.usage is None for c in plain) and all(c.choices for c in plain)

    asked = stream(chat_server, stream_options={"include_usage": True})
    assert asked[-1].choices == [] and asked[-1].usage is not None
    usage = asked[-1].usage
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens > 0
    assert all(c.usage is None for c in asked[:-1])

    given = stream(chat_server, stream_options={"include_usage": True})
    assert given[-1].usage.model_dump(exclude_none=True) == {"prompt_tokens": 7, "completion_tokens": 2, "total_tokens": 9}


def test_bytes_on_the_wire_are_sse_as_openai_sends_it(chat_server: ScriptedServer) -> None:
    chat_server.script(text("Hi you", model="gpt-4o-2024-08-06"))
    response = http_get(chat_server)
    assert response.status == 200
    assert response.getheader("Content-Type") == "text/event-stream"
    assert response.getheader("Transfer-Encoding") == "chunked"
    events = split_events(response.read())
    assert events[-1] == b"data: [DONE]\n\n"
    for event in events[:-1]:
        assert event.startswith(b"data: {") and b"\n" not in event[:-2]
        payload = json.loads(event[len(b"data: ") :])
        assert event == b"data: " + json.dumps(payload, separators=(",", ":")).encode() + b"\n\n"  # compact
        assert set(payload) >= {"id", "object", "created", "model", "choices"}
        assert payload["model"] == "gpt-4o-2024-08-06"
        assert set(payload["choices"][0]) == {"index", "delta", "finish_reason", "logprobs"}


# --------------------------------------------------------------------------- tool calls


def test_tool_call_fragments_carry_indices_ids_and_arguments(chat_server: ScriptedServer) -> None:
    chat_server.script(
        tool_calls(
            ("get_weather", {"city": "Paris", "unit": "celsius"}),
            ("raw_json", '{"not": "re-encoded" }'),
            ToolCallSpec("named", {}, id="call_custom"),
        )
    )
    chunks = stream(chat_server, tools=[{"type": "function", "function": {"name": "get_weather", "parameters": {}}}])
    calls = assembled_tool_calls(chunks)
    assert sorted(calls) == [0, 1, 2]
    assert [calls[i]["id"] for i in range(3)] == ["call_1", "call_2", "call_custom"]
    assert [calls[i]["name"] for i in range(3)] == ["get_weather", "raw_json", "named"]
    assert json.loads(calls[0]["arguments"]) == {"city": "Paris", "unit": "celsius"}
    assert calls[1]["arguments"] == '{"not": "re-encoded" }'
    assert calls[2]["arguments"] == "{}"
    assert chunks[-1].choices[0].finish_reason == "tool_calls"

    fragments = [f for c in chunks for f in c.choices[0].delta.tool_calls or []]
    first = fragments[0]
    assert first.id == "call_1" and first.type == "function" and first.function.arguments == ""
    weather_fragments = [f for f in fragments if f.index == 0 and f.id is None]
    assert len(weather_fragments) > 2, "arguments must come in several pieces"
    assert all(f.function.name is None and f.type is None for f in weather_fragments)
    assert chunks[0].choices[0].delta.role == "assistant"


def test_tool_calls_after_content(chat_server: ScriptedServer) -> None:
    chat_server.script(tool_calls(("lookup", {"q": "x"}), content="Let me check."))
    chunks = stream(chat_server)
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == "Let me check."
    assert assembled_tool_calls(chunks)[0]["name"] == "lookup"
    assert sum(1 for c in chunks if c.choices[0].delta.role) == 1


def test_legacy_function_call_stream(chat_server: ScriptedServer) -> None:
    chat_server.script(function_call("repl", {"code": "print(1)"}))
    chunks = stream(chat_server)
    name = "".join(c.choices[0].delta.function_call.name or "" for c in chunks if c.choices[0].delta.function_call)
    arguments = "".join(
        c.choices[0].delta.function_call.arguments or "" for c in chunks if c.choices[0].delta.function_call
    )
    assert name == "repl" and json.loads(arguments) == {"code": "print(1)"}
    assert chunks[-1].choices[0].finish_reason == "function_call"
    assert all(not c.choices[0].delta.tool_calls for c in chunks)


# --------------------------------------------------------------------------- recording


def test_requests_are_recorded(chat_server: ScriptedServer) -> None:
    tools = [{"type": "function", "function": {"name": "echo", "parameters": {"type": "object"}}}]
    chat_server.script(text("a"), text("b"))
    stream(chat_server, tools=tools)
    stream(chat_server, messages=[*USER, {"role": "assistant", "content": "a"}, {"role": "user", "content": "more"}])
    first, second = chat_server.requests
    assert isinstance(first, RecordedRequest)
    assert (first.number, first.method, first.path, first.query) == (1, "POST", "/v1/chat/completions", {})
    assert first.headers["authorization"] == "Bearer sk-test-key"
    assert first.headers["content-type"] == "application/json"
    assert first.body["stream"] is True and first.model == "gpt-test"
    assert first.messages == USER and first.tools == tools and first.deployment is None
    assert json.loads(first.content) == first.body
    assert second.messages[-1] == {"role": "user", "content": "more"} and second.tools == []
    assert chat_server.last_request == second and chat_server.pending == 0


def test_azure_path_deployment_and_api_version(chat_server: ScriptedServer) -> None:
    chat_server.script(text("Hi from Azure."))
    azure = AzureOpenAI(
        azure_endpoint=chat_server.azure_endpoint, api_key="azure-key-123", api_version="2024-06-01", max_retries=0
    )
    chunks = list(azure.chat.completions.create(model="my-gpt4o", messages=USER, stream=True))
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "Hi from Azure."
    request = chat_server.last_request
    assert request.path == "/openai/deployments/my-gpt4o/chat/completions"
    assert request.deployment == "my-gpt4o"
    assert request.api_version == "2024-06-01" == request.query["api-version"]
    assert request.headers["api-key"] == "azure-key-123"
    assert "authorization" not in request.headers


def test_chat_path_without_v1_and_models_listing(chat_server: ScriptedServer) -> None:
    chat_server.script(text("root"))
    sdk = OpenAI(base_url=chat_server.url, api_key="k", max_retries=0)
    chunks = list(sdk.chat.completions.create(model="m", messages=USER, stream=True))
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == "root"
    assert chat_server.last_request.path == "/chat/completions"
    assert [model.id for model in client(chat_server).models.list()] == [DEFAULT_MODEL]
    assert chat_server.last_request.method == "GET"


def test_callable_replies_see_the_request(chat_server: ScriptedServer) -> None:
    def echo_last(request: RecordedRequest) -> Response:
        return text(f"you said: {request.messages[-1]['content']}")

    def broken(request: RecordedRequest) -> Response:
        raise KeyError("oops")

    chat_server.script(echo_last, broken)
    assert "".join(c.choices[0].delta.content or "" for c in stream(chat_server)) == "you said: hello there"
    with pytest.raises(openai.InternalServerError, match="scripted callable for request 2 raised KeyError"):
        stream(chat_server)


def test_wait_for_requests(chat_server: ScriptedServer) -> None:
    chat_server.script(text("late"))
    worker = threading.Thread(target=stream, args=(chat_server,))
    worker.start()
    try:
        received = chat_server.wait_for_requests(1, timeout=10)
    finally:
        worker.join(timeout=10)
    assert received[0].messages == USER
    with pytest.raises(TimeoutError, match="2 request"):
        chat_server.wait_for_requests(2, timeout=0.05)


def test_server_lifecycle_without_fixture() -> None:
    server = ScriptedServer()
    with pytest.raises(RuntimeError):
        server.url
    server.start()
    try:
        assert server.url.startswith("http://127.0.0.1:") and server.base_url == server.url + "/v1"
        with pytest.raises(LookupError):
            server.last_request
        with pytest.raises(TypeError):
            server.script("not a response")  # type: ignore[arg-type]
    finally:
        server.stop()
    server.stop()  # idempotent


# --------------------------------------------------------------------------- errors and faults


@pytest.mark.parametrize(
    ("status", "exception"),
    [
        (401, openai.AuthenticationError),
        (404, openai.NotFoundError),
        (429, openai.RateLimitError),
        (500, openai.InternalServerError),
    ],
)
def test_errors_surface_as_sdk_exceptions(chat_server: ScriptedServer, status: int, exception: type[Exception]) -> None:
    chat_server.script(error(status, f"scripted {status}", headers={"Retry-After": "0"}))
    with pytest.raises(exception) as caught:
        stream(chat_server)
    assert caught.value.status_code == status  # type: ignore[attr-defined]
    assert caught.value.response.headers["retry-after"] == "0"  # type: ignore[attr-defined]
    assert caught.value.body["message"] == f"scripted {status}"  # type: ignore[attr-defined]


def test_error_body_is_openais_format() -> None:
    body = json.loads(error(429).render(_request())[0])
    assert set(body["error"]) == {"message", "type", "param", "code"}
    assert body["error"]["code"] == "rate_limit_exceeded"
    custom = error(502, body=b"<html>bad gateway</html>", headers={"content-type": "text/html"})
    assert custom.render(_request()) == [b"<html>bad gateway</html>"]
    assert dict(custom.headers) == {"content-type": "text/html"}


def test_empty_script_answers_500_naming_the_request(chat_server: ScriptedServer) -> None:
    chat_server.script(text("only one"))
    stream(chat_server)
    with pytest.raises(openai.InternalServerError, match="no scripted response left for request 2"):
        stream(chat_server)
    body = json.loads(http_get(chat_server).read())
    assert body["error"]["message"].startswith("chatfn.testing: no scripted response left for request 3")


def test_drop_after_breaks_the_stream_mid_iteration(chat_server: ScriptedServer) -> None:
    chat_server.script(text("one two three four five six", drop_after=3))
    received: list[str] = []
    with pytest.raises(openai.APIConnectionError):
        for chunk in client(chat_server).chat.completions.create(model="m", messages=USER, stream=True):
            received.append(chunk.choices[0].delta.content or "")
    assert "".join(received) == "one two"


def test_drop_leaves_out_the_terminating_chunk(chat_server: ScriptedServer) -> None:
    chat_server.script(sse([{"a": 1}, {"b": 2}], drop_after=2), faults(sse([{"a": 1}]), drop_after=5))
    with pytest.raises(http.client.IncompleteRead) as caught:
        http_get(chat_server).read()
    assert caught.value.partial == b'data: {"a":1}\n\ndata: {"b":2}\n\n'
    with pytest.raises(http.client.IncompleteRead):  # even with every event sent
        http_get(chat_server).read()


def test_stall_after_times_out_a_short_read_timeout(chat_server: ScriptedServer) -> None:
    chat_server.script(text("slow answer here", stall_after=2))
    received: list[str] = []
    sdk = OpenAI(base_url=chat_server.base_url, api_key="k", max_retries=0, timeout=0.5)
    with pytest.raises(openai.APITimeoutError):
        for chunk in sdk.chat.completions.create(model="m", messages=USER, stream=True):
            received.append(chunk.choices[0].delta.content or "")
    assert "".join(received) == "slow"


def test_stopping_the_server_ends_a_stalled_stream(chat_server: ScriptedServer) -> None:
    chat_server.script(text("never finished", stall_after=1))
    stopper = threading.Timer(0.2, chat_server.stop)
    stopper.start()
    try:
        with pytest.raises(openai.APIConnectionError) as caught:
            stream(chat_server)  # a 10 s read timeout: only stop() can end it sooner
    finally:
        stopper.join()
    assert not isinstance(caught.value, openai.APITimeoutError)


def test_delay_and_no_done(chat_server: ScriptedServer) -> None:
    chat_server.script(text("a b", delay=0.01, done=False))
    body = http_get(chat_server).read()
    assert b"[DONE]" not in body and body.endswith(b"\n\n")
    assert len(split_events(body)) == 4  # role, "a", " b", finish


def test_sse_sends_payloads_verbatim(chat_server: ScriptedServer) -> None:
    chat_server.script(sse(['{"id": "c",  "spaced": true}', "{not json", {"k": "é"}], done=False))
    assert http_get(chat_server).read() == (
        b'data: {"id": "c",  "spaced": true}\n\ndata: {not json\n\ndata: {"k":"\xc3\xa9"}\n\n'
    )


@pytest.mark.parametrize(
    ("body", "status", "content_type"),
    [
        (b"<html><body><h1>502 Bad Gateway</h1></body></html>", 502, "text/html; charset=utf-8"),
        (b'data: {"x":1}\r\n\r\ndata: [DONE]\r\n\r\n', 200, "text/event-stream"),
        (b"\x00\xffodd bytes", 200, "text/plain; charset=utf-8"),
    ],
    ids=["html", "sse-crlf", "binary"],
)
def test_raw_returns_bytes_verbatim(chat_server: ScriptedServer, body: bytes, status: int, content_type: str) -> None:
    chat_server.script(raw(body, status=status))
    response = http_get(chat_server)
    assert (response.status, response.getheader("Content-Type"), response.read()) == (status, content_type, body)


def test_raw_html_error_page_through_the_sdk(chat_server: ScriptedServer) -> None:
    chat_server.script(raw(b"<html>Bad Gateway</html>", status=502, headers={"Content-Type": "text/html"}))
    with pytest.raises(openai.APIStatusError) as caught:
        stream(chat_server)
    assert caught.value.status_code == 502 and "Bad Gateway" in caught.value.response.text


def _streams_dir() -> Path | None:
    for candidate in (Path(__file__).resolve().parents[2] / "shared" / "streams", Path.cwd().parent / "shared" / "streams"):
        if candidate.is_dir():
            return candidate
    return None


STREAMS = _streams_dir()
STREAM_FILES = sorted(STREAMS.glob("*.sse")) if STREAMS else []


@pytest.mark.skipif(not STREAM_FILES, reason="recorded streams (../shared/streams) not found")
@pytest.mark.parametrize("path", STREAM_FILES, ids=[path.stem for path in STREAM_FILES])
def test_recorded_streams_replay_through_raw_and_the_sdk(chat_server: ScriptedServer, path: Path) -> None:
    body = path.read_bytes()
    chat_server.script(raw(body), raw(body))
    assert http_get(chat_server).read() == body
    chunks = stream(chat_server)
    assert len(chunks) == sum(1 for event in split_events(body) if event != b"data: [DONE]\n\n")


def _request() -> RecordedRequest:
    return RecordedRequest(1, "POST", "/v1/chat/completions", {}, {}, b"", None)


# --------------------------------------------------------------------------- pytest fixtures


def test_chatfn_env_points_at_the_server_and_isolates(
    chat_server: ScriptedServer, chatfn_env: dict[str, str], tmp_path: Path
) -> None:
    assert chatfn_env["OPENAI_BASE_URL"] == chat_server.base_url
    assert chatfn_env["OPENAI_API_KEY"] == FAKE_API_KEY == "sk-test-fake"
    assert chatfn_env["CHATFN_MODEL"] == "test-model" and chatfn_env["NO_COLOR"] == "1"
    config = Path(chatfn_env["CHATFN_CONFIG"])
    assert config.is_file() and config.read_text() == ""
    for key in ("CHATFN_CONFIG", "CHATFN_LOG_DB", "HOME", "XDG_CONFIG_HOME", "XDG_DATA_HOME"):
        assert Path(chatfn_env[key]).is_relative_to(tmp_path), key
    assert chatfn_env["PATH"] == os.environ["PATH"]


def test_chatfn_env_drops_the_users_credentials(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from chatfn.testing import chatfn_environment

    base = {
        "PATH": "/bin",
        "AZURE_OPENAI_ENDPOINT": "https://real.example",
        "AZURE_OPENAI_API_KEY": "real",
        "OPENAI_ORG_ID": "org-real",
        "OPENAI_API_KEY": "sk-real",
        "CHATFN_PROFILE": "work",
        "HTTPS_PROXY": "http://proxy:3128",
        "KEEP_ME": "1",
    }
    with ScriptedServer() as server:
        env = chatfn_environment(server, tmp_path / "env", base=base)
    assert not [key for key in env if key.startswith("AZURE_OPENAI_")]
    assert "OPENAI_ORG_ID" not in env and "CHATFN_PROFILE" not in env and "HTTPS_PROXY" not in env
    assert env["OPENAI_API_KEY"] == "sk-test-fake" and env["KEEP_ME"] == "1" and env["PATH"] == "/bin"


@pytest.mark.slow
def test_run_chatfn_runs_the_real_cli(run_chatfn: Any, chatfn_env: dict[str, str], tmp_path: Path) -> None:
    version = run_chatfn("--version")
    assert version.returncode == 0, version.stderr
    assert version.stdout.strip() == f"chatfn {chatfn.__version__}"
    assert isinstance(version.stdout, str) and version.args[1:3] == ["-m", "chatfn"]

    shown = run_chatfn("config", "path")
    assert shown.returncode == 0 and shown.stdout.strip() == chatfn_env["CHATFN_CONFIG"]
    other = tmp_path / "other.toml"
    overridden = run_chatfn("config", "path", env={"CHATFN_CONFIG": str(other)})
    assert overridden.stdout.strip() == str(other)
    removed = run_chatfn("config", "path", env={"CHATFN_CONFIG": None})  # None removes: the user's default
    assert removed.stdout.strip().startswith(chatfn_env["XDG_CONFIG_HOME"])


@pytest.mark.slow
def test_run_chatfn_feeds_input_and_reports_failure(run_chatfn: Any) -> None:
    result = run_chatfn("no-such-command", input="ignored\n")
    assert result.returncode != 0 and result.stderr
    raw_input = run_chatfn("--version", input_bytes=b"\xff\xfe")
    assert raw_input.returncode == 0
    with pytest.raises(ValueError):
        run_chatfn("--version", input="a", input_bytes=b"b")


def test_public_names_are_exported() -> None:
    import chatfn.testing as kit

    assert all(hasattr(kit, name) for name in kit.__all__)
    assert all(callable(getattr(kit, name)) for name in ("text", "tool_calls", "function_call", "sse", "raw", "error"))


def test_all_is_honest() -> None:
    """Every name in chatfn.testing.__all__ exists, and every public builder is listed."""
    import chatfn.testing as kit

    assert all(hasattr(kit, name) for name in kit.__all__)
    public = {name for name in vars(kit) if not name.startswith("_") and callable(getattr(kit, name))}
    fixtures = {"chat_server", "chatfn_env", "run_chatfn"}
    imported_modules = {"Iterator", "Mapping", "Path", "subprocess"}
    assert public - fixtures - imported_modules <= set(kit.__all__)


@pytest.mark.slow
def test_importing_the_kit_does_not_import_pytest() -> None:
    """A plugin author may use ScriptedServer outside pytest (a script, another runner)."""
    code = "import sys; from chatfn.testing import ScriptedServer; print('pytest' in sys.modules, '_pytest' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.split() == ["False", "False"]


@pytest.mark.slow
def test_invoke_chatfn_matches_run_chatfn(run_chatfn: Any, invoke_chatfn: Any, chat_server: ScriptedServer) -> None:
    """The in-process runner gives what the subprocess gives: output, exit codes, stdin."""
    chat_server.script(*[text("Hello there.")] * 2)
    for args, kwargs in (
        (("--version",), {}),
        (("tools", "show", "no_such_tool"), {}),
        (("--no-such-option",), {}),
        (("chat", "hi"), {}),
        (("chat",), {"input_bytes": b"\xff\xfe"}),
    ):
        real, here = run_chatfn(*args, **kwargs), invoke_chatfn(*args, **kwargs)
        assert (here.returncode, here.stdout, here.stderr) == (real.returncode, real.stdout, real.stderr), args


NOISY_PLUGIN = '''
import os
import subprocess
import sys
import signal
import sys

import chatfn

os.environ["CHATFN_TEST_LEAK"] = "set by the plugin"


def noisy() -> str:
    """Writes to stdout from Python and from a child process."""
    print("from python")
    sys.stdout.flush()
    os.system("echo from a child; echo to fd 2 >&2")
    return "done"


@chatfn.hookimpl
def register_tools(register):
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    os.chdir(os.path.dirname(__file__))
    register(noisy)
'''


def test_invoke_chatfn_leaves_the_test_process_as_it_found_it(invoke_chatfn: Any, tmp_path: Path) -> None:
    """Environment, cwd, streams, descriptors, signal handlers, sys.path and plugin modules are restored."""
    import signal

    from plugin_factory import make_plugin

    folder = make_plugin(tmp_path / "noisy", NOISY_PLUGIN, module="chatfn_noisy_probe", entry_point="noisy")
    before = (dict(os.environ), os.getcwd(), sys.stdout, sys.stderr, sys.stdin, list(sys.path))
    handler = signal.getsignal(signal.SIGTERM)
    result = invoke_chatfn("tools", "call", "noisy", env={"PYTHONPATH": str(folder), "CHATFN_LOAD_PLUGINS": "noisy"})
    assert result.returncode == 0, result.stderr
    # a tool's output, from Python and from a child process, goes to stderr; its result to stdout
    assert result.stdout == "done\n"
    assert "from python" in result.stderr and "from a child" in result.stderr and "to fd 2" in result.stderr
    assert (dict(os.environ), os.getcwd(), sys.stdout, sys.stderr, sys.stdin, list(sys.path)) == before
    assert signal.getsignal(signal.SIGTERM) == handler
    assert "chatfn_noisy_probe" not in sys.modules
    again = invoke_chatfn("tools", "list")  # the plugin cache forgot the probe
    assert "noisy" not in again.stdout


def test_invoke_chatfn_times_out(invoke_chatfn: Any, chat_server: ScriptedServer) -> None:
    chat_server.script(text("late", delay=5))
    with pytest.raises(subprocess.TimeoutExpired):
        invoke_chatfn("chat", "hi", timeout=0.5)
    assert sys.stdout is not None and os.environ.get("OPENAI_API_KEY") is None


@pytest.mark.slow
def test_invoke_chatfn_leaves_no_terminal_to_ask_on() -> None:
    """Run from a terminal, the test process gives it up, as a subprocess in its own session has none.

    chatfn asks for approval on /dev/tty: with a terminal left, an in-process run would
    ask the developer running the tests, and wait.
    """
    import pty

    probe = (
        "import os\n"
        "from chatfn.testing import invoke_chatfn_cli\n"
        "def terminal():\n"
        "    try:\n"
        "        os.close(os.open('/dev/tty', os.O_RDWR | os.O_NOCTTY))\n"
        "        return True\n"
        "    except OSError:\n"
        "        return False\n"
        "before = terminal()\n"
        "invoke_chatfn_cli('--version', env=dict(os.environ))\n"
        "print('terminal', before, terminal())\n"
    )
    pid, fd = pty.fork()
    if pid == 0:  # a shell in a new session on the pty runs python, as a terminal runs pytest
        os.execvp("sh", ["sh", "-c", f'"{sys.executable}" -c "$0"; true', probe])
    output = b""
    while True:
        try:
            data = os.read(fd, 4096)
        except OSError:
            break
        if not data:
            break
        output += data
    os.waitpid(pid, 0)
    os.close(fd)
    assert b"terminal True False" in output, output
