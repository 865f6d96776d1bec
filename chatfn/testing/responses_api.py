"""Responses API replies for the scripted server, streamed the way OpenAI streams them.

:func:`responses_text` and :func:`responses_tool_calls` are the Responses-shaped
twins of :func:`~chatfn.testing.text` and :func:`~chatfn.testing.tool_calls`;
:func:`responses_failure` is the HTTP 200 stream that ends in ``error`` and
``response.failed``; :func:`responses_events` sends any events verbatim, with the
framing quirks real servers have (no ``event:`` lines, ``event:`` after ``data:``,
comments, a trailing ``[DONE]``) on demand.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any, Literal

from chatfn.testing.responses import (
    DEFAULT_MODEL,
    DEFAULT_STALL_SECONDS,
    DONE_EVENT,
    RecordedRequest,
    Response,
    ToolCallSpec,
    _arguments_text,
    _compact,
    _merge_headers,
    _split_arguments,
    _split_text,
    _streamed,
    _tool_call_spec,
)

Framing = Literal["event_first", "data_only", "data_first"]
ArgumentsIn = Literal["deltas", "done", "whole"]

__all__ = ["responses_events", "responses_failure", "responses_text", "responses_tool_calls"]


def responses_text(
    content: str,
    *,
    reasoning: str | None = None,
    encrypted_content: str | None = None,
    chunk_size: int | None = None,
    usage: Mapping[str, Any] | None = None,
    model: str | None = None,
    incomplete: str | None = None,
    framing: Framing = "event_first",
    done: bool = False,
    delay: float = 0.0,
    stall_after: int | None = None,
    stall_seconds: float = DEFAULT_STALL_SECONDS,
    drop_after: int | None = None,
) -> Response:
    """A streamed Responses answer: created, in_progress, (a reasoning item,) a message item, completed.

    ``reasoning`` adds a reasoning item with that summary before the message;
    ``encrypted_content`` gives it the final encrypted content (``output_item.added``
    carries a shorter one, as OpenAI's does). ``incomplete="max_output_tokens"`` ends
    with ``response.incomplete`` instead of ``response.completed``. ``framing`` and
    ``done`` choose the SSE framing (see :func:`responses_events`).
    """
    pieces = _split_text(content, chunk_size)

    def events(request: RecordedRequest) -> list[dict[str, Any]]:
        maker = _ResponseMaker(request, model)
        out = maker.start()
        if reasoning is not None or encrypted_content is not None:
            out += maker.reasoning(reasoning or "", encrypted_content)
        out += maker.message(pieces)
        out += maker.finish(usage, len(pieces), incomplete)
        return out

    return _response(events, framing, done, delay, stall_after, stall_seconds, drop_after)


def responses_tool_calls(
    *calls: ToolCallSpec | tuple[str, Any],
    content: str | None = None,
    reasoning: str | None = None,
    encrypted_content: str | None = None,
    arguments_in: ArgumentsIn = "deltas",
    usage: Mapping[str, Any] | None = None,
    model: str | None = None,
    framing: Framing = "event_first",
    done: bool = False,
    delay: float = 0.0,
    stall_after: int | None = None,
    stall_seconds: float = DEFAULT_STALL_SECONDS,
    drop_after: int | None = None,
) -> Response:
    """A streamed Responses answer that calls functions: one ``function_call`` item per call.

    Call ids are ``call_1``, ``call_2``, ... unless given, and differ from the item
    ids (``fc_...``), as OpenAI's do. ``arguments_in`` says where the arguments come:
    in many ``function_call_arguments.delta`` events (``"deltas"``), only in the
    ``.done`` events (``"done"``), or whole in one delta (``"whole"``).
    """
    specs = [_tool_call_spec(call) for call in calls]
    if not specs:
        raise ValueError("responses_tool_calls() needs at least one call")

    def events(request: RecordedRequest) -> list[dict[str, Any]]:
        maker = _ResponseMaker(request, model)
        out = maker.start()
        if reasoning is not None or encrypted_content is not None:
            out += maker.reasoning(reasoning or "", encrypted_content)
        pieces = 0
        if content is not None:
            text_pieces = _split_text(content, None)
            out += maker.message(text_pieces)
            pieces += len(text_pieces)
        for number, spec in enumerate(specs, start=1):
            call_events = maker.function_call(spec, spec.id or f"call_{number}", arguments_in)
            pieces += len(call_events)
            out += call_events
        out += maker.finish(usage, pieces, None)
        return out

    return _response(events, framing, done, delay, stall_after, stall_seconds, drop_after)


def responses_failure(
    message: str = "You exceeded your current quota, please check your plan and billing details.",
    *,
    code: str = "insufficient_quota",
    partial: str | None = None,
    model: str | None = None,
    framing: Framing = "data_only",
    done: bool = True,
) -> Response:
    """An HTTP 200 stream that fails: created, in_progress, (some text,) ``error``, ``response.failed``."""

    def events(request: RecordedRequest) -> list[dict[str, Any]]:
        maker = _ResponseMaker(request, model)
        out = maker.start()
        if partial:
            out += maker.message(_split_text(partial, None), close=False)
        error = {"type": code, "code": code, "message": message, "param": None}
        out.append(maker.event("error", error=error))
        failed = maker.envelope("failed", error={"code": code, "message": message})
        out.append(maker.event("response.failed", response=failed))
        return out

    return _response(events, framing, done, 0.0, None, DEFAULT_STALL_SECONDS, None)


def responses_events(
    events: Sequence[Mapping[str, Any] | str],
    *,
    framing: Framing = "event_first",
    done: bool = False,
    comments: bool = False,
    status: int = 200,
    headers: Mapping[str, str] | None = None,
    delay: float = 0.0,
    stall_after: int | None = None,
    stall_seconds: float = DEFAULT_STALL_SECONDS,
    drop_after: int | None = None,
) -> Response:
    """Send these events verbatim: dicts as compact JSON, strings as they are.

    ``framing``: ``"event_first"`` (``event: <type>`` then ``data:``, as OpenAI),
    ``"data_only"`` (no ``event:`` lines) or ``"data_first"`` (``event:`` after
    ``data:``). ``comments`` adds an SSE comment line before every event; ``done``
    ends with ``data: [DONE]``, which OpenAI does not send but others do.
    """
    parts = [_frame(event, framing, comments) for event in events]
    if done:
        parts.append(DONE_EVENT)
    response = _streamed(parts, delay, stall_after, stall_seconds, drop_after)
    return replace(response, status=status, headers=_merge_headers(response.headers, headers))


# -- building events ------------------------------------------------------------


class _ResponseMaker:
    """One response's events: shared ids, a running ``sequence_number``, the output so far."""

    def __init__(self, request: RecordedRequest, model: str | None) -> None:
        self.request = request
        self.id = f"resp_scripted{request.number}"
        self.model = model or request.model or DEFAULT_MODEL
        self.created = int(time.time())
        self.sequence = 0
        self.output: list[dict[str, Any]] = []

    def event(self, kind: str, **fields: Any) -> dict[str, Any]:
        event = {"type": kind, **fields, "sequence_number": self.sequence}
        self.sequence += 1
        return event

    def envelope(self, status: str, **fields: Any) -> dict[str, Any]:
        body = self.request.body if isinstance(self.request.body, dict) else {}
        return {
            "id": self.id,
            "object": "response",
            "created_at": self.created,
            "status": status,
            "error": None,
            "incomplete_details": None,
            "model": self.model,
            "output": [],
            "previous_response_id": body.get("previous_response_id"),
            "store": body.get("store", True),
            "usage": None,
            **fields,
        }

    def start(self) -> list[dict[str, Any]]:
        return [
            self.event("response.created", response=self.envelope("in_progress")),
            self.event("response.in_progress", response=self.envelope("in_progress")),
        ]

    def reasoning(self, summary: str, encrypted: str | None) -> list[dict[str, Any]]:
        index = len(self.output)
        item_id = f"rs_scripted{self.request.number}_{index}"
        added: dict[str, Any] = {"id": item_id, "type": "reasoning", "summary": []}
        final: dict[str, Any] = {"id": item_id, "type": "reasoning", "summary": []}
        if encrypted is not None:
            added["encrypted_content"] = encrypted[: max(1, len(encrypted) // 2)]
            final["encrypted_content"] = encrypted
        out = [self.event("response.output_item.added", item=added, output_index=index)]
        if summary:
            common = {"item_id": item_id, "output_index": index, "summary_index": 0}
            out.append(self.event("response.reasoning_summary_part.added", **common, part={"type": "summary_text", "text": ""}))
            out += [self.event("response.reasoning_summary_text.delta", **common, delta=piece) for piece in _split_text(summary, None)]
            out.append(self.event("response.reasoning_summary_text.done", **common, text=summary))
            out.append(self.event("response.reasoning_summary_part.done", **common, part={"type": "summary_text", "text": summary}))
            final["summary"] = [{"type": "summary_text", "text": summary}]
        out.append(self.event("response.output_item.done", item=final, output_index=index))
        self.output.append(final)
        return out

    def message(self, pieces: list[str], *, close: bool = True) -> list[dict[str, Any]]:
        index = len(self.output)
        item_id = f"msg_scripted{self.request.number}_{index}"
        text = "".join(pieces)
        common = {"item_id": item_id, "output_index": index, "content_index": 0}
        item = {"id": item_id, "type": "message", "status": "in_progress", "content": [], "role": "assistant"}
        out = [
            self.event("response.output_item.added", item=item, output_index=index),
            self.event("response.content_part.added", **common, part=_text_part("")),
        ]
        out += [self.event("response.output_text.delta", **common, delta=piece, logprobs=[]) for piece in pieces]
        if not close:
            return out
        final = {**item, "status": "completed", "content": [_text_part(text)]}
        out += [
            self.event("response.output_text.done", **common, text=text, logprobs=[]),
            self.event("response.content_part.done", **common, part=_text_part(text)),
            self.event("response.output_item.done", item=final, output_index=index),
        ]
        self.output.append(final)
        return out

    def function_call(self, spec: ToolCallSpec, call_id: str, arguments_in: ArgumentsIn) -> list[dict[str, Any]]:
        index = len(self.output)
        item_id = f"fc_scripted{self.request.number}_{index}"
        arguments = _arguments_text(spec.arguments)
        added = {"id": item_id, "type": "function_call", "status": "in_progress", "arguments": "", "call_id": call_id, "name": spec.name}
        common = {"item_id": item_id, "output_index": index}
        out = [self.event("response.output_item.added", item=added, output_index=index)]
        if arguments_in == "deltas":
            out += [self.event("response.function_call_arguments.delta", **common, delta=piece) for piece in _split_arguments(arguments)]
        elif arguments_in == "whole":
            out.append(self.event("response.function_call_arguments.delta", **common, delta=arguments))
        final = {**added, "status": "completed", "arguments": arguments}
        out += [
            self.event("response.function_call_arguments.done", **common, arguments=arguments),
            self.event("response.output_item.done", item=final, output_index=index),
        ]
        self.output.append(final)
        return out

    def finish(self, usage: Mapping[str, Any] | None, output_tokens: int, incomplete: str | None) -> list[dict[str, Any]]:
        if usage is None:
            words = len(json.dumps(self.request.body.get("input") if isinstance(self.request.body, dict) else "").split())
            usage = {
                "input_tokens": words,
                "input_tokens_details": {"cached_tokens": 0},
                "output_tokens": output_tokens,
                "output_tokens_details": {"reasoning_tokens": 0},
                "total_tokens": words + output_tokens,
            }
        if incomplete is not None:
            response = self.envelope("incomplete", output=self.output, usage=dict(usage), incomplete_details={"reason": incomplete})
            return [self.event("response.incomplete", response=response)]
        return [self.event("response.completed", response=self.envelope("completed", output=self.output, usage=dict(usage)))]


def _text_part(text: str) -> dict[str, Any]:
    return {"type": "output_text", "annotations": [], "logprobs": [], "text": text}


def _frame(event: Mapping[str, Any] | str, framing: Framing, comment: bool) -> bytes:
    payload = event if isinstance(event, str) else _compact(event)
    kind = "" if isinstance(event, str) else str(event.get("type", ""))
    lines = [": keep-alive"] if comment else []
    if framing == "event_first" and kind:
        lines += [f"event: {kind}", f"data: {payload}"]
    elif framing == "data_first" and kind:
        lines += [f"data: {payload}", f"event: {kind}"]
    else:
        lines.append(f"data: {payload}")
    return ("\n".join(lines) + "\n\n").encode()


def _response(
    events: Any,
    framing: Framing,
    done: bool,
    delay: float,
    stall_after: int | None,
    stall_seconds: float,
    drop_after: int | None,
) -> Response:
    def parts(request: RecordedRequest) -> list[bytes]:
        out = [_frame(event, framing, False) for event in events(request)]
        return [*out, DONE_EVENT] if done else out

    return _streamed(parts, delay, stall_after, stall_seconds, drop_after)
