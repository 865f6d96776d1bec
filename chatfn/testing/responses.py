"""What the scripted server can send: responses built the way real servers stream, with faults.

Also :class:`RecordedRequest`, what a builder may adapt its reply to.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from http import HTTPStatus
from typing import Any, Union

__all__ = [
    "DEFAULT_MODEL",
    "error",
    "FAKE_API_KEY",
    "faults",
    "function_call",
    "raw",
    "RecordedRequest",
    "Response",
    "Scripted",
    "sse",
    "text",
    "tool_calls",
    "ToolCallSpec",
]

DEFAULT_MODEL = "test-model"
"""The model name the fixtures give chatfn, and the one chunks carry when the request names none."""

FAKE_API_KEY = "sk-test-fake"
"""The API key the fixtures give chatfn; the server accepts any key."""

DONE_EVENT = b"data: [DONE]\n\n"
DEFAULT_STALL_SECONDS = 30.0



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

    @property
    def api(self) -> str:
        """``"responses"`` for a Responses API request (a path ending in ``/responses``), else ``"chat"``."""
        return "responses" if self.path.rstrip("/").endswith("/responses") else "chat"

    @property
    def input(self) -> list[Any]:
        """The Responses API ``input`` items sent (a string input as one user message; empty when none)."""
        value = self._field("input")
        if isinstance(value, str):
            return [{"role": "user", "content": value}]
        return list(value or [])

    @property
    def previous_response_id(self) -> str | None:
        """The Responses API ``previous_response_id``, when the request named one."""
        value = self._field("previous_response_id")
        return value if isinstance(value, str) else None

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
