"""Test kit: a scripted OpenAI-compatible chat server on 127.0.0.1, and a pytest plugin.

Tests of chatfn, and of tool plugins written for it, need a model that answers
exactly as told, over real HTTP, the way real servers stream. :class:`ScriptedServer`
is that model: each chat request takes the next scripted :class:`Response`, every
request is recorded, and the builders (:func:`text`, :func:`tool_calls`,
:func:`function_call`, :func:`sse`, :func:`raw`, :func:`error`) produce the bytes
OpenAI sends (``data: <json>\\n\\n`` per chunk, ``data: [DONE]\\n\\n`` last), with
faults on demand (``delay``, ``stall_after``, ``drop_after``, ``done=False``)::

    import openai
    from chatfn.testing import ScriptedServer, text, tool_calls

    with ScriptedServer() as server:
        server.script(tool_calls(("get_weather", {"city": "Paris"})), text("Sunny."))
        client = openai.OpenAI(base_url=server.base_url, api_key="sk-test-fake")
        ...  # two streamed requests get the tool call, then the answer
        assert server.requests[1].messages[-1]["role"] == "tool"

As a pytest plugin (``pytest_plugins = ["chatfn.testing"]``, best in the top-level
``conftest.py``) it adds the fixtures ``chat_server``, ``chatfn_env`` (a complete,
isolated environment pointing chatfn at it) and ``run_chatfn`` (runs the real CLI
in a subprocess)::

    def test_my_tool(chat_server, run_chatfn):
        chat_server.script(tool_calls(("my_tool", {"x": 1})), text("Done."))
        result = run_chatfn("chat", "use my tool")
        assert result.stdout == "Done.\\n"
        assert chat_server.requests[1].messages[-1]["content"] == "expected tool output"
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Protocol, Union
from urllib.parse import parse_qsl, unquote, urlsplit

__all__ = [
    "DEFAULT_MODEL",
    "FAKE_API_KEY",
    "RecordedRequest",
    "Response",
    "RunChatfn",
    "ScriptedServer",
    "Scripted",
    "ToolCallSpec",
    "chatfn_environment",
    "error",
    "faults",
    "function_call",
    "raw",
    "run_chatfn_cli",
    "sse",
    "text",
    "tool_calls",
]

DEFAULT_MODEL = "test-model"
"""The model name the fixtures give chatfn, and the one chunks carry when the request names none."""

FAKE_API_KEY = "sk-test-fake"
"""The API key the fixtures give chatfn; the server accepts any key."""

DONE_EVENT = b"data: [DONE]\n\n"
DEFAULT_STALL_SECONDS = 30.0
_AZURE_PATH = re.compile(r"^/openai/deployments/(?P<deployment>[^/]+)/chat/completions/?$")


# --------------------------------------------------------------------------- requests


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the server received it, for tests to assert on."""

    number: int
    """1-based position in :attr:`ScriptedServer.requests`."""
    method: str
    path: str
    """The path without the query string."""
    query: dict[str, str]
    headers: dict[str, str]
    """Header names in lower case; repeated headers joined with ``", "``."""
    content: bytes
    """The raw request body."""
    body: Any
    """The body parsed as JSON, or None when empty or not JSON."""
    deployment: str | None = None
    """The Azure deployment named in the path, for ``/openai/deployments/{name}/...``."""
    api_version: str | None = None
    """The ``api-version`` query parameter (Azure)."""

    @property
    def messages(self) -> list[dict[str, Any]]:
        """The chat messages sent (empty when the body has none)."""
        return list(self._field("messages") or [])

    @property
    def tools(self) -> list[dict[str, Any]]:
        """The ``tools`` offered (empty when none)."""
        return list(self._field("tools") or [])

    @property
    def functions(self) -> list[dict[str, Any]]:
        """The legacy ``functions`` offered (empty when none)."""
        return list(self._field("functions") or [])

    @property
    def model(self) -> str | None:
        """The ``model`` the request named."""
        value = self._field("model")
        return value if isinstance(value, str) else None

    @property
    def wants_usage(self) -> bool:
        """True when the request asked for a usage chunk (``stream_options.include_usage``)."""
        options = self._field("stream_options")
        return isinstance(options, dict) and bool(options.get("include_usage"))

    def _field(self, name: str) -> Any:
        return self.body.get(name) if isinstance(self.body, dict) else None


# --------------------------------------------------------------------------- responses


PartsFactory = Callable[[RecordedRequest], Sequence[bytes]]


@dataclass(frozen=True)
class Response:
    """What the server sends for one request: a status, headers, and the body in parts.

    With ``stream`` the body goes out with chunked transfer encoding, one flush per
    part (an SSE event), so faults can strike between events: ``delay`` seconds pass
    before every part after the first; after ``stall_after`` parts the server hangs
    (until it stops or ``stall_seconds`` pass, then closes); after ``drop_after``
    parts it closes the connection without the terminating chunk.
    """

    status: int = 200
    headers: Mapping[str, str] = field(default_factory=dict)
    parts: Sequence[bytes] | PartsFactory = ()
    stream: bool = False
    delay: float = 0.0
    stall_after: int | None = None
    stall_seconds: float = DEFAULT_STALL_SECONDS
    drop_after: int | None = None

    def render(self, request: RecordedRequest) -> list[bytes]:
        """The body parts for ``request`` (builders like :func:`text` adapt to what it asked)."""
        parts = self.parts(request) if callable(self.parts) else self.parts
        return [bytes(part) for part in parts]


Scripted = Union[Response, Callable[[RecordedRequest], Response]]
"""A scripted reply: a :class:`Response`, or a function of the request that returns one."""


@dataclass(frozen=True)
class ToolCallSpec:
    """One tool call for :func:`tool_calls`; ``arguments`` is a JSON-able value or raw JSON text."""

    name: str
    arguments: Any = field(default_factory=dict)
    id: str | None = None


def faults(
    response: Response,
    *,
    delay: float | None = None,
    stall_after: int | None = None,
    stall_seconds: float | None = None,
    drop_after: int | None = None,
) -> Response:
    """``response`` streamed with the given faults (options left as None keep their value)."""
    changes: dict[str, Any] = {"stream": True}
    for name, value in (
        ("delay", delay),
        ("stall_after", stall_after),
        ("stall_seconds", stall_seconds),
        ("drop_after", drop_after),
    ):
        if value is not None:
            changes[name] = value
    return replace(response, **changes)


def text(
    content: str,
    *,
    chunk_size: int | None = None,
    usage: Mapping[str, Any] | None = None,
    model: str | None = None,
    finish_reason: str | None = "stop",
    done: bool = True,
    delay: float = 0.0,
    stall_after: int | None = None,
    stall_seconds: float = DEFAULT_STALL_SECONDS,
    drop_after: int | None = None,
) -> Response:
    """A streamed answer: a role delta, ``content`` in pieces, the finish chunk, usage, ``[DONE]``.

    Pieces are words with their leading whitespace (as tokens arrive), or
    ``chunk_size`` characters each. The usage chunk (``choices: []``) is sent only
    when the request asked for it with ``stream_options.include_usage``; ``usage``
    replaces the made-up counts. ``finish_reason=None`` leaves the finish chunk out.
    """
    pieces = _split_text(content, chunk_size)

    def parts(request: RecordedRequest) -> list[bytes]:
        chunks = _ChunkMaker(request, model)
        out = [chunks.delta({"role": "assistant", "content": "", "refusal": None})]
        out += [chunks.delta({"content": piece}) for piece in pieces]
        if finish_reason is not None:
            out.append(chunks.delta({}, finish_reason))
        out += chunks.usage(usage, completion_tokens=len(pieces))
        return _events(out, done)

    return _streamed(parts, delay, stall_after, stall_seconds, drop_after)


def tool_calls(
    *calls: ToolCallSpec | tuple[str, Any],
    content: str | None = None,
    usage: Mapping[str, Any] | None = None,
    model: str | None = None,
    finish_reason: str | None = "tool_calls",
    done: bool = True,
    delay: float = 0.0,
    stall_after: int | None = None,
    stall_seconds: float = DEFAULT_STALL_SECONDS,
    drop_after: int | None = None,
) -> Response:
    """A streamed answer that calls tools, fragmented the way OpenAI streams them.

    Each call is ``("name", {"arg": 1})``, ``("name", '{"raw": "json"}')`` or a
    :class:`ToolCallSpec`. Its first fragment carries ``index``, ``id``, ``type``,
    the function name and ``arguments: ""``; the arguments follow in several
    fragments. Ids are ``call_1``, ``call_2``, ... unless given. ``content``, when
    given, streams before the calls.
    """
    specs = [_tool_call_spec(call) for call in calls]
    if not specs:
        raise ValueError("tool_calls() needs at least one call")

    def parts(request: RecordedRequest) -> list[bytes]:
        chunks = _ChunkMaker(request, model)
        out: list[dict[str, Any]] = []
        pending_role: dict[str, Any] = {"role": "assistant", "content": None}
        if content is not None:
            pieces = _split_text(content, None)
            out.append(chunks.delta({"role": "assistant", "content": "", "refusal": None}))
            out += [chunks.delta({"content": piece}) for piece in pieces]
            pending_role = {}
        fragments = 0
        for index, spec in enumerate(specs):
            arguments = _arguments_text(spec.arguments)
            head = {
                "index": index,
                "id": spec.id or f"call_{index + 1}",
                "type": "function",
                "function": {"name": spec.name, "arguments": ""},
            }
            delta = {**pending_role, "tool_calls": [head]}
            if pending_role:
                delta["refusal"] = None
            out.append(chunks.delta(delta))
            pending_role = {}
            for piece in _split_arguments(arguments):
                out.append(chunks.delta({"tool_calls": [{"index": index, "function": {"arguments": piece}}]}))
                fragments += 1
        if finish_reason is not None:
            out.append(chunks.delta({}, finish_reason))
        out += chunks.usage(usage, completion_tokens=fragments + len(specs))
        return _events(out, done)

    return _streamed(parts, delay, stall_after, stall_seconds, drop_after)


def function_call(
    name: str,
    arguments: Any = None,
    *,
    usage: Mapping[str, Any] | None = None,
    model: str | None = None,
    done: bool = True,
    delay: float = 0.0,
    stall_after: int | None = None,
    stall_seconds: float = DEFAULT_STALL_SECONDS,
    drop_after: int | None = None,
) -> Response:
    """A legacy ``delta.function_call`` stream (the 2023 ``functions`` API), finish ``function_call``."""
    text_arguments = _arguments_text({} if arguments is None else arguments)

    def parts(request: RecordedRequest) -> list[bytes]:
        chunks = _ChunkMaker(request, model)
        out = [chunks.delta({"role": "assistant", "content": None, "function_call": {"name": name, "arguments": ""}})]
        pieces = _split_arguments(text_arguments)
        out += [chunks.delta({"function_call": {"arguments": piece}}) for piece in pieces]
        out.append(chunks.delta({}, "function_call"))
        out += chunks.usage(usage, completion_tokens=len(pieces) + 1)
        return _events(out, done)

    return _streamed(parts, delay, stall_after, stall_seconds, drop_after)


def sse(
    chunks: Sequence[Mapping[str, Any] | str],
    *,
    done: bool = True,
    status: int = 200,
    headers: Mapping[str, str] | None = None,
    delay: float = 0.0,
    stall_after: int | None = None,
    stall_seconds: float = DEFAULT_STALL_SECONDS,
    drop_after: int | None = None,
) -> Response:
    """Send these chunk payloads verbatim as SSE events: dicts as compact JSON, strings as they are."""
    payloads = [item if isinstance(item, str) else _compact(item) for item in chunks]
    parts = [f"data: {payload}\n\n".encode() for payload in payloads]
    if done:
        parts.append(DONE_EVENT)
    response = _streamed(parts, delay, stall_after, stall_seconds, drop_after)
    return replace(response, status=status, headers=_merge_headers(response.headers, headers))


def raw(
    body: bytes,
    *,
    status: int = 200,
    headers: Mapping[str, str] | None = None,
    delay: float = 0.0,
    stall_after: int | None = None,
    stall_seconds: float = DEFAULT_STALL_SECONDS,
    drop_after: int | None = None,
) -> Response:
    """Send ``body`` byte for byte (a recorded ``.sse`` file, an HTML error page, ...).

    The content type is guessed (SSE, JSON, HTML, else plain text) unless
    ``headers`` names one. SSE bodies, and any body with a fault option, stream in
    parts split after each blank line, so faults count events.
    """
    merged = _merge_headers({"Content-Type": _guess_content_type(body)}, headers)
    content_type = next(value for key, value in merged.items() if key.lower() == "content-type")
    streamed = (
        content_type.startswith("text/event-stream")
        or delay > 0
        or stall_after is not None
        or drop_after is not None
    )
    return Response(
        status=status,
        headers=merged,
        parts=_split_events(body) if streamed else [body],
        stream=streamed,
        delay=delay,
        stall_after=stall_after,
        stall_seconds=stall_seconds,
        drop_after=drop_after,
    )


_ERROR_KINDS: dict[int, tuple[str, str | None, str]] = {
    400: ("invalid_request_error", None, "Invalid request."),
    401: ("invalid_request_error", "invalid_api_key", "Incorrect API key provided."),
    403: ("permission_error", None, "You are not allowed to sample from this model."),
    404: ("invalid_request_error", "model_not_found", "The model does not exist or you do not have access to it."),
    408: ("timeout", None, "Request timed out."),
    409: ("invalid_request_error", None, "Conflict."),
    422: ("invalid_request_error", None, "Unprocessable request."),
    429: ("requests", "rate_limit_exceeded", "Rate limit reached. Please try again later."),
    500: ("server_error", None, "The server had an error while processing your request."),
    502: ("server_error", None, "Bad gateway."),
    503: ("server_error", None, "The engine is currently overloaded, please try again later."),
}


def error(
    status: int,
    message: str | None = None,
    *,
    type: str | None = None,
    code: str | None = None,
    headers: Mapping[str, str] | None = None,
    body: bytes | None = None,
) -> Response:
    """An HTTP error with OpenAI's JSON body ``{"error": {"message", "type", "param", "code"}}``.

    ``message``, ``type`` and ``code`` default to what OpenAI says for ``status``;
    ``body`` replaces the JSON with these bytes. Example: ``error(429, headers={"Retry-After": "0"})``.
    """
    fallback = ("server_error" if status >= 500 else "invalid_request_error", None, _phrase(status))
    kind, default_code, default_message = _ERROR_KINDS.get(status, fallback)
    if body is None:
        payload = {
            "error": {
                "message": default_message if message is None else message,
                "type": type or kind,
                "param": None,
                "code": code if code is not None else default_code,
            }
        }
        body = json.dumps(payload).encode()
    return Response(status=status, headers=_merge_headers({"Content-Type": "application/json"}, headers), parts=[body])


def _streamed(
    parts: Sequence[bytes] | PartsFactory,
    delay: float,
    stall_after: int | None,
    stall_seconds: float,
    drop_after: int | None,
) -> Response:
    return Response(
        status=200,
        headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"},
        parts=parts,
        stream=True,
        delay=delay,
        stall_after=stall_after,
        stall_seconds=stall_seconds,
        drop_after=drop_after,
    )


class _ChunkMaker:
    """``chat.completion.chunk`` objects sharing one id, timestamp and model, as one response's do."""

    def __init__(self, request: RecordedRequest, model: str | None) -> None:
        self.request = request
        self.base = {
            "id": f"chatcmpl-scripted{request.number}",
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": model or request.model or DEFAULT_MODEL,
            "system_fingerprint": "fp_scripted",
        }

    def delta(self, delta: Mapping[str, Any], finish_reason: str | None = None) -> dict[str, Any]:
        choice = {"index": 0, "delta": dict(delta), "logprobs": None, "finish_reason": finish_reason}
        return {**self.base, "choices": [choice]}

    def usage(self, usage: Mapping[str, Any] | None, *, completion_tokens: int) -> list[dict[str, Any]]:
        """The usage-only chunk, when the request asked for one."""
        if not self.request.wants_usage:
            return []
        if usage is None:
            words = sum(len(str(message.get("content") or "").split()) for message in self.request.messages)
            prompt_tokens = words + 3 * len(self.request.messages)
            usage = {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            }
        return [{**self.base, "choices": [], "usage": dict(usage)}]


def _events(chunks: Sequence[Mapping[str, Any]], done: bool) -> list[bytes]:
    parts = [f"data: {_compact(chunk)}\n\n".encode() for chunk in chunks]
    return [*parts, DONE_EVENT] if done else parts


def _compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _split_text(content: str, chunk_size: int | None) -> list[str]:
    """Words with their leading whitespace, or fixed-size pieces; joined, they give ``content`` back."""
    if chunk_size is not None:
        if chunk_size < 1:
            raise ValueError("chunk_size must be at least 1")
        return [content[start : start + chunk_size] for start in range(0, len(content), chunk_size)]
    return re.findall(r"\s*\S+|\s+", content)


def _split_arguments(arguments: str) -> list[str]:
    """Token-like fragments (``{"``, ``city``, ``":"``, ...), as OpenAI streams arguments."""
    return re.findall(r"\w+|\s+|[^\w\s]+", arguments)


def _arguments_text(arguments: Any) -> str:
    return arguments if isinstance(arguments, str) else _compact(arguments)


def _tool_call_spec(call: ToolCallSpec | tuple[str, Any]) -> ToolCallSpec:
    if isinstance(call, ToolCallSpec):
        return call
    if isinstance(call, tuple) and len(call) == 2 and isinstance(call[0], str):
        return ToolCallSpec(call[0], call[1])
    raise TypeError(f"a tool call is (name, arguments) or ToolCallSpec, not {call!r}")


def _split_events(body: bytes) -> list[bytes]:
    """``body`` cut after every blank line (any line ending), keeping every byte."""
    parts = re.split(rb"(?<=\n\n)|(?<=\r\r)|(?<=\n\r\n)", body)
    return [part for part in parts if part] or [body]


def _merge_headers(defaults: Mapping[str, str], overrides: Mapping[str, str] | None) -> dict[str, str]:
    """``defaults`` updated by ``overrides``, header names compared without case."""
    given = dict(overrides or {})
    lowered = {key.lower() for key in given}
    return {**{key: value for key, value in defaults.items() if key.lower() not in lowered}, **given}


def _guess_content_type(body: bytes) -> str:
    head = body.lstrip()[:64].lower()
    if head.startswith((b"data:", b"event:", b"id:", b":")):
        return "text/event-stream"
    if head.startswith((b"{", b"[")):
        return "application/json"
    if head.startswith((b"<!doctype html", b"<html")):
        return "text/html; charset=utf-8"
    return "text/plain; charset=utf-8"


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return f"HTTP {status}"


# --------------------------------------------------------------------------- server


class ScriptedServer:
    """An OpenAI-compatible chat server on 127.0.0.1 that replies from a script and records requests.

    Serves ``POST /v1/chat/completions`` (any path ending in ``/chat/completions``),
    Azure's ``POST /openai/deployments/{name}/chat/completions?api-version=...`` and
    ``GET /v1/models``. Each chat request takes the next scripted reply in order;
    with none left it gets a 500 whose message says so, so the test fails visibly.
    """

    def __init__(self, *, model: str = DEFAULT_MODEL, port: int = 0) -> None:
        self.model = model
        self._port = port
        self._condition = threading.Condition()
        self._requests: list[RecordedRequest] = []
        self._script: deque[Scripted] = deque()
        self._stopping = threading.Event()
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    # lifecycle -----------------------------------------------------------------

    def start(self) -> ScriptedServer:
        """Bind a free port on 127.0.0.1 and serve from a daemon thread."""
        if self._httpd is not None:
            raise RuntimeError("the ScriptedServer is already running")
        self._stopping.clear()
        self._httpd = _HTTPServer(("127.0.0.1", self._port), _Handler, self)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, name="chatfn-scripted-server", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, wake stalled streams and close open connections."""
        httpd, thread = self._httpd, self._thread
        if httpd is None:
            return
        self._stopping.set()
        httpd.shutdown()
        httpd.close_connections()
        httpd.server_close()
        if thread is not None:
            thread.join(timeout=5)
        self._httpd = self._thread = None

    def __enter__(self) -> ScriptedServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        where = self.url if self._httpd is not None else "stopped"
        return f"<ScriptedServer {where} requests={len(self._requests)} pending={len(self._script)}>"

    # addresses -----------------------------------------------------------------

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT``, the server's root."""
        if self._httpd is None:
            raise RuntimeError("the ScriptedServer is not running; use start() or a with block")
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    @property
    def base_url(self) -> str:
        """The OpenAI ``base_url``: :attr:`url` + ``/v1``."""
        return f"{self.url}/v1"

    @property
    def azure_endpoint(self) -> str:
        """The Azure OpenAI endpoint (the root; the SDK adds ``/openai/deployments/...``)."""
        return self.url

    # script and record ---------------------------------------------------------

    def script(self, *responses: Scripted) -> ScriptedServer:
        """Queue replies; each chat request takes the next one, in order."""
        for response in responses:
            if not isinstance(response, Response) and not callable(response):
                raise TypeError(f"script() takes Response objects or callables, not {response!r}")
        with self._condition:
            self._script.extend(responses)
        return self

    @property
    def pending(self) -> int:
        """How many scripted replies no request has taken yet."""
        with self._condition:
            return len(self._script)

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request received so far, in order (a copy)."""
        with self._condition:
            return list(self._requests)

    @property
    def last_request(self) -> RecordedRequest:
        """The latest request; LookupError when none has arrived."""
        with self._condition:
            if not self._requests:
                raise LookupError("the ScriptedServer has received no request yet")
            return self._requests[-1]

    def wait_for_requests(self, count: int, timeout: float = 10.0) -> list[RecordedRequest]:
        """Block until ``count`` requests have arrived; TimeoutError after ``timeout`` seconds."""
        with self._condition:
            if not self._condition.wait_for(lambda: len(self._requests) >= count, timeout):
                raise TimeoutError(
                    f"chatfn.testing: waited {timeout}s for {count} request(s), got {len(self._requests)}"
                )
            return list(self._requests)

    def _record(self, method: str, target: str, headers: Mapping[str, str], content: bytes) -> RecordedRequest:
        split = urlsplit(target)
        query = dict(parse_qsl(split.query, keep_blank_values=True))
        azure = _AZURE_PATH.match(split.path)
        try:
            body: Any = json.loads(content) if content else None
        except ValueError:
            body = None
        with self._condition:
            request = RecordedRequest(
                number=len(self._requests) + 1,
                method=method,
                path=split.path,
                query=query,
                headers=dict(headers),
                content=content,
                body=body,
                deployment=unquote(azure["deployment"]) if azure else None,
                api_version=query.get("api-version"),
            )
            self._requests.append(request)
            self._condition.notify_all()
        return request

    def _reply(self, request: RecordedRequest) -> Response:
        """Route ``request``: chat requests take the script, the rest are served or refused here."""
        path = request.path.rstrip("/")
        if request.method == "POST" and path.endswith("/chat/completions"):
            return self._next_scripted(request)
        if request.method == "GET" and path in ("/v1/models", "/models"):
            listing = {
                "object": "list",
                "data": [{"id": self.model, "object": "model", "created": 0, "owned_by": "chatfn-testing"}],
            }
            return Response(headers={"Content-Type": "application/json"}, parts=[json.dumps(listing).encode()])
        return error(404, f"chatfn.testing: nothing is served at {request.method} {request.path}")

    def _next_scripted(self, request: RecordedRequest) -> Response:
        with self._condition:
            scripted = self._script.popleft() if self._script else None
        if scripted is None:
            return error(
                500,
                f"chatfn.testing: no scripted response left for request {request.number} "
                f"({request.method} {request.path})",
                code="chatfn_testing_script_empty",
            )
        if isinstance(scripted, Response):
            return scripted
        try:
            response = scripted(request)
        except Exception as exc:  # a broken test callable must fail the test visibly, not hang it
            return error(500, f"chatfn.testing: the scripted callable for request {request.number} raised {exc!r}")
        if not isinstance(response, Response):
            return error(500, f"chatfn.testing: the scripted callable returned {response!r}, not a Response")
        return response


class _HTTPServer(ThreadingHTTPServer):
    """A threading server that knows its :class:`ScriptedServer` and can close live connections."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler], owner: ScriptedServer) -> None:
        self.owner = owner
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        """Shut every open connection so idle keep-alive and stalled handlers end now."""
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Clients hanging up mid-stream is expected here; anything else is printed."""
        if not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    """Reads a request, records it, and writes the scripted reply with its faults."""

    server: _HTTPServer
    protocol_version = "HTTP/1.1"
    server_version = "chatfn-testing"
    sys_version = ""

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def do_PUT(self) -> None:
        self._handle()

    def do_PATCH(self) -> None:
        self._handle()

    def do_DELETE(self) -> None:
        self._handle()

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: test output is no place for an access log."""

    def _handle(self) -> None:
        owner = self.server.owner
        try:
            content = self._read_body()
            headers: dict[str, str] = {}
            for name, value in self.headers.items():
                key = name.lower()
                headers[key] = f"{headers[key]}, {value}" if key in headers else value
            request = owner._record(self.command, self.path, headers, content)
            response = owner._reply(request)
            try:
                parts = response.render(request)
            except Exception as exc:
                response = error(500, f"chatfn.testing: building the reply to request {request.number} failed: {exc!r}")
                parts = response.render(request)
            self._send(response, parts, owner._stopping)
        except (ConnectionError, TimeoutError):
            self.close_connection = True

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            body = bytearray()
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return bytes(body)
                body += self.rfile.read(size)
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _send(self, response: Response, parts: list[bytes], stopping: threading.Event) -> None:
        self.send_response(response.status)
        for name, value in response.headers.items():
            self.send_header(name, value)
        if response.stream:
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.send_header("Content-Length", str(sum(len(part) for part in parts)))
        self.end_headers()
        for index in range(len(parts) + 1):
            at_end = index == len(parts)  # a fault past the last event still withholds the end
            if response.drop_after is not None and (index >= response.drop_after or at_end):
                return self._hang_up()
            if response.stall_after is not None and (index >= response.stall_after or at_end):
                stopping.wait(response.stall_seconds)
                return self._hang_up()
            if at_end:
                break
            if index and response.delay > 0 and stopping.wait(response.delay):
                return self._hang_up()
            part = parts[index]
            if response.stream:
                if part:  # an empty chunk would end the body
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
            else:
                self.wfile.write(part)
            self.wfile.flush()
        if response.stream:
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()

    def _hang_up(self) -> None:
        """Close the connection mid-body: no further events, no terminating chunk."""
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


# --------------------------------------------------------------------------- chatfn subprocesses


_REMOVED_PREFIXES = ("OPENAI_", "AZURE_OPENAI_")
_REMOVED_NAMES = frozenset(
    {"CHATFN_PROFILE", "CHATFN_SYSTEM_PROMPT", "CHATFN_CONFIG", "CHATFN_MODEL"}
    | {f"{name}_PROXY" for name in ("HTTP", "HTTPS", "ALL")}
    | {f"{name.lower()}_proxy" for name in ("HTTP", "HTTPS", "ALL")}
)


def chatfn_environment(
    server: ScriptedServer, directory: Path, *, base: Mapping[str, str] | None = None
) -> dict[str, str]:
    """A complete environment for a chatfn subprocess that talks only to ``server``.

    Starts from ``base`` (default ``os.environ``, so PATH and the like survive),
    drops every ``OPENAI_*``/``AZURE_OPENAI_*`` variable, proxies and chatfn's
    profile settings, then points chatfn at ``server`` with a fake key and keeps
    home, config (an empty file) and the conversation log inside ``directory``.
    """
    directory.mkdir(parents=True, exist_ok=True)
    home = directory / "home"
    env = {
        key: value
        for key, value in (os.environ if base is None else base).items()
        if not key.startswith(_REMOVED_PREFIXES) and key not in _REMOVED_NAMES
    }
    folders = {
        "XDG_CONFIG_HOME": home / ".config",
        "XDG_DATA_HOME": home / ".local" / "share",
        "XDG_CACHE_HOME": home / ".cache",
        "XDG_STATE_HOME": home / ".local" / "state",
    }
    for folder in folders.values():
        folder.mkdir(parents=True, exist_ok=True)
    config = directory / "config.toml"
    config.touch()
    env.update({key: str(folder) for key, folder in folders.items()})
    env.update(
        {
            "HOME": str(home),
            "USERPROFILE": str(home),
            "OPENAI_BASE_URL": server.base_url,
            "OPENAI_API_KEY": FAKE_API_KEY,
            "CHATFN_MODEL": DEFAULT_MODEL,
            "CHATFN_CONFIG": str(config),
            "CHATFN_LOG_DB": str(directory / "log.db"),
            "NO_COLOR": "1",
            "NO_PROXY": "127.0.0.1,localhost",
            "PYTHONIOENCODING": "utf-8",
        }
    )
    return env


def run_chatfn_cli(
    *args: str,
    env: Mapping[str, str],
    input: str | None = None,
    input_bytes: bytes | None = None,
    timeout: float = 60.0,
    cwd: str | Path | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m chatfn ARGS`` with exactly ``env``; stdout and stderr come back as text.

    ``input_bytes`` feeds raw bytes (say, invalid UTF-8) instead of ``input``.
    """
    if input is not None and input_bytes is not None:
        raise ValueError("pass input or input_bytes, not both")
    command = [sys.executable, "-m", "chatfn", *args]
    data = input_bytes if input_bytes is not None else (input.encode("utf-8") if input is not None else None)
    completed = subprocess.run(
        command,
        input=data,
        stdin=subprocess.DEVNULL if data is None else None,
        capture_output=True,
        env=dict(env),
        cwd=cwd,
        timeout=timeout,
        check=False,
    )
    return subprocess.CompletedProcess(
        command,
        completed.returncode,
        completed.stdout.decode("utf-8", "replace"),
        completed.stderr.decode("utf-8", "replace"),
    )


class RunChatfn(Protocol):
    """The ``run_chatfn`` fixture's call signature."""

    def __call__(
        self,
        *args: str,
        input: str | None = None,
        input_bytes: bytes | None = None,
        env: Mapping[str, str | None] | None = None,
        timeout: float = 60.0,
        cwd: str | Path | None = None,
    ) -> subprocess.CompletedProcess[str]: ...


# --------------------------------------------------------------------------- pytest plugin

try:
    import pytest
except ImportError:  # the server works without pytest; only the fixtures need it
    _HAVE_PYTEST = False
else:
    _HAVE_PYTEST = True

if _HAVE_PYTEST:

    @pytest.fixture
    def chat_server() -> Iterator[ScriptedServer]:
        """A running :class:`ScriptedServer`, stopped after the test."""
        with ScriptedServer() as server:
            yield server

    @pytest.fixture
    def chatfn_env(chat_server: ScriptedServer, tmp_path: Path) -> dict[str, str]:
        """A complete environment (see :func:`chatfn_environment`) pointing chatfn at ``chat_server``."""
        return chatfn_environment(chat_server, tmp_path / "chatfn-env")

    @pytest.fixture
    def run_chatfn(chatfn_env: dict[str, str]) -> RunChatfn:
        """Run the real CLI in a subprocess with ``chatfn_env``; ``env`` entries override it (None removes)."""

        def run(
            *args: str,
            input: str | None = None,
            input_bytes: bytes | None = None,
            env: Mapping[str, str | None] | None = None,
            timeout: float = 60.0,
            cwd: str | Path | None = None,
        ) -> subprocess.CompletedProcess[str]:
            merged = dict(chatfn_env)
            for key, value in (env or {}).items():
                if value is None:
                    merged.pop(key, None)
                else:
                    merged[key] = value
            return run_chatfn_cli(*args, env=merged, input=input, input_bytes=input_bytes, timeout=timeout, cwd=cwd)

        return run
