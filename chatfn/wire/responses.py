"""Responses API stream events to one assistant turn, however the server bends the protocol.

The Responses API streams typed events (``response.output_text.delta``,
``response.function_call_arguments.delta``, ``response.output_item.done``,
``response.completed`` ...) instead of Chat Completions' chunks. Servers that
implement it disagree on details: some leave out ``event:`` lines (the type is in
the JSON, so they are not needed), change an item's id on every event while its
``output_index`` stays, change the response id between ``created`` and
``in_progress``, send the arguments of a call only in the ``.done`` events or all at
once, and send a shorter ``encrypted_content`` in ``output_item.added`` than the one
that must be sent back. So :class:`ResponsesAssembler` keys everything by
``output_index``, prefers the final ``response.completed`` output when there is one,
then each item's ``.done`` event, and uses what ``output_item.added`` said only for
display, never for what goes back to the server.

Text and reasoning come out as the same :class:`Delta` events as with Chat
Completions, so the renderer, ``--json`` and the log need not know which API spoke.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Optional

from chatfn.errors import ProviderError
from chatfn.events import Delta, ToolCall
from chatfn.wire.assemble import AssembledMessage

__all__ = ["RESPONSES_KEY", "ResponsesAssembler", "ResponsesMessage", "normalized_usage"]

RESPONSES_KEY = "responses"
"""The key of an assistant message that holds what a Responses server needs back (see :mod:`chatfn.wire.items`)."""

_TERMINAL = frozenset({"response.completed", "response.incomplete", "response.failed", "response.done"})
_FINISH = {"max_output_tokens": "length", "content_filter": "content_filter"}


@dataclass
class ResponsesMessage(AssembledMessage):
    """An assembled turn plus the Responses-only state: the response id and the output items."""

    response_id: Optional[str] = None
    items: list[dict[str, Any]] = field(default_factory=list)
    status: Optional[str] = None
    incomplete_reason: Optional[str] = None
    stored: bool = False
    origin: Optional[str] = None

    def to_message(self) -> dict[str, Any]:
        """The Chat Completions form of the turn, with the items to send back under :data:`RESPONSES_KEY`."""
        message = super().to_message()
        state: dict[str, Any] = {"items": self.items}
        if self.response_id:
            state["id"] = self.response_id
        if self.stored:
            state["stored"] = True
            if self.origin:
                state["origin"] = self.origin
        message[RESPONSES_KEY] = state
        return message


class _Item:
    """One output item as it streams: what it showed, and its final form once known."""

    __slots__ = ("type", "added", "final", "texts", "shown", "arguments", "arguments_done", "summary_shown")

    def __init__(self, item_type: str) -> None:
        self.type = item_type
        self.added: dict[str, Any] = {}
        self.final: Optional[dict[str, Any]] = None  # from output_item.done
        self.texts: dict[Any, list[str]] = {}  # content (or summary) index -> streamed pieces
        self.shown: set[Any] = set()  # content indexes whose text reached the user
        self.arguments: list[str] = []
        self.arguments_done: Optional[str] = None
        self.summary_shown = False


class ResponsesAssembler:
    """Feed it every event of one streamed response; it returns what to show and, at the end, the turn."""

    def __init__(self) -> None:
        self._items: dict[int, _Item] = {}
        self._index_of: dict[str, int] = {}  # item id -> output_index, for events without an index
        self._last_index = -1
        self._last_text_index: Optional[int] = None
        self._response_id: Optional[str] = None
        self._model: Optional[str] = None
        self._usage: Optional[dict[str, Any]] = None
        self._status: Optional[str] = None
        self._incomplete: Optional[str] = None
        self._output: Optional[list[Any]] = None  # response.output of the terminal event
        self.finished = False
        """True once a terminal event (completed, incomplete) arrived: nothing more is needed."""

    def feed(self, event: dict[str, Any]) -> list[Delta]:
        """Take one event; return the text, reasoning and refusal pieces it carried."""
        try:
            kind = event.get("type")
            if kind == "response.output_text.delta":
                return self._text(event, "text")
            if kind == "response.function_call_arguments.delta":
                delta = event.get("delta")
                if type(delta) is str:
                    self._item(event, "function_call").arguments.append(delta)
                return []
            if kind in ("response.reasoning_summary_text.delta", "response.reasoning_text.delta"):
                return self._reasoning(event, event.get("delta"))
            if type(kind) is not str:
                return self._untyped(event)
            return self._other(kind, event)
        except ProviderError:
            raise
        except (AttributeError, TypeError, KeyError, IndexError, ValueError):
            excerpt = json.dumps(event, default=str)[:80]
            raise ProviderError(f"the server sent an event of an unexpected shape: {excerpt!r}") from None

    # -- events ----------------------------------------------------------------

    def _other(self, kind: str, event: dict[str, Any]) -> list[Delta]:
        if kind == "response.output_item.added":
            item = event.get("item") or {}
            slot = self._item(event, item.get("type"), declared=True)
            slot.added = item
            return []
        if kind == "response.output_item.done":
            item = event.get("item") or {}
            slot = self._item(event, item.get("type"), declared=True)
            slot.final = item
            return self._show_final(slot, item)
        if kind == "response.function_call_arguments.done":
            arguments = event.get("arguments")
            if type(arguments) is str:
                self._item(event, "function_call").arguments_done = arguments
            return []
        if kind in ("response.output_text.done", "response.refusal.done"):
            field_name = "text" if kind == "response.output_text.done" else "refusal"
            return self._whole(event, event.get(field_name), "text" if field_name == "text" else "refusal")
        if kind == "response.refusal.delta":
            return self._text(event, "refusal")
        if kind == "response.content_part.done":
            part = event.get("part") or {}
            if part.get("type") in ("output_text", "refusal"):
                return self._whole(event, part.get("text") or part.get("refusal"), "text" if part.get("type") == "output_text" else "refusal")
            return []
        if kind in ("response.reasoning_summary_text.done", "response.reasoning_text.done"):
            return self._reasoning(event, event.get("text"), whole=True)
        if kind in ("response.created", "response.in_progress", "response.queued"):
            self._response(event.get("response"))
            return []
        if kind in _TERMINAL:
            return self._terminal(kind, event)
        if kind == "error":
            raise ProviderError(_error_text(event.get("error") or event, "the server reported an error mid-stream"))
        return []  # annotations, web search progress and other events carry nothing to show or send back

    def _untyped(self, event: dict[str, Any]) -> list[Delta]:
        """An event without a type: an error object, a Chat Completions chunk, or noise."""
        if event.get("choices") is not None and str(event.get("object") or "").startswith("chat.completion"):
            raise ProviderError(
                "the server answered with Chat Completions chunks, not Responses events",
                hint='this server speaks Chat Completions here: set api = "tools" in the profile',
            )
        if event.get("error"):
            raise ProviderError(_error_text(event["error"], "the server reported an error mid-stream"))
        return []

    def _text(self, event: dict[str, Any], kind: str) -> list[Delta]:
        delta = event.get("delta")
        if type(delta) is not str or not delta:
            return []
        index = self._index(event)
        slot = self._slot(index, "message")
        part = event.get("content_index", 0)
        pieces = slot.texts.get(part)
        out: list[Delta] = []
        if pieces is None:
            pieces = slot.texts[part] = []
            out = self._separate(index)
        pieces.append(delta)
        slot.shown.add(part)
        out.append(Delta(kind, delta))  # type: ignore[arg-type]
        return out

    def _separate(self, index: int) -> list[Delta]:
        """A blank line between two message items' text, so the second does not run into the first."""
        previous, self._last_text_index = self._last_text_index, index
        if previous is None or previous == index:
            return []
        return [Delta("text", "\n\n")]

    def _whole(self, event: dict[str, Any], text: Any, kind: str) -> list[Delta]:
        """A ``.done`` event's whole text: shown now if its deltas never came, or only their missing end."""
        if type(text) is not str or not text:
            return []
        index = self._index(event)
        slot = self._slot(index, "message")
        part = event.get("content_index", 0)
        streamed = "".join(slot.texts.get(part) or ())
        if part in slot.shown and not text.startswith(streamed):
            return []
        rest = text[len(streamed):]
        if not rest:
            slot.shown.add(part)
            return []
        out = self._separate(index) if not streamed else []
        slot.texts.setdefault(part, []).append(rest)
        slot.shown.add(part)
        out.append(Delta(kind, rest))  # type: ignore[arg-type]
        return out

    def _reasoning(self, event: dict[str, Any], text: Any, *, whole: bool = False) -> list[Delta]:
        """Summary or raw reasoning text: a delta, or (``whole``) a ``.done`` text shown only if no delta was."""
        if type(text) is not str or not text:
            return []
        slot = self._item(event, "reasoning")
        kind = str(event.get("type", "")).replace(".done", ".delta")
        key = (kind, event.get("summary_index", event.get("content_index", 0)))
        if whole and key in slot.shown:
            return []
        out: list[Delta] = []
        if key not in slot.texts:
            if self._any_reasoning_shown():
                out.append(Delta("reasoning", "\n\n"))
            slot.texts[key] = []
        slot.texts[key].append(text)
        slot.shown.add(key)
        slot.summary_shown = True
        out.append(Delta("reasoning", text))
        return out

    def _any_reasoning_shown(self) -> bool:
        return any(slot.summary_shown for slot in self._items.values())

    def _show_final(self, slot: _Item, item: dict[str, Any]) -> list[Delta]:
        """An item that arrived whole in ``output_item.done``: show what no delta showed."""
        if item.get("type") == "message" and not slot.shown:
            out: list[Delta] = []
            for part_index, part in enumerate(item.get("content") or []):
                text = part.get("text") if part.get("type") == "output_text" else part.get("refusal")
                kind = "text" if part.get("type") == "output_text" else "refusal"
                out += self._whole({"output_index": self._index_for(slot), "content_index": part_index}, text, kind)
            return out
        if item.get("type") == "reasoning" and not slot.summary_shown:
            out = []
            for summary_index, part in enumerate(item.get("summary") or []):
                marker = {"type": "response.reasoning_summary_text.done", "output_index": self._index_for(slot), "summary_index": summary_index}
                out += self._reasoning(marker, part.get("text"), whole=True)
            return out
        return []

    def _terminal(self, kind: str, event: dict[str, Any]) -> list[Delta]:
        response = event.get("response") or {}
        self._response(response)
        status = response.get("status") or {"response.completed": "completed", "response.incomplete": "incomplete"}.get(kind)
        if kind == "response.failed" or status in ("failed", "cancelled"):
            raise ProviderError(_error_text(response.get("error") or {}, f"the response {status or 'failed'}"))
        self._status = status
        details = response.get("incomplete_details") or {}
        if status == "incomplete":
            self._incomplete = details.get("reason") or "unknown"
        output = response.get("output")
        if type(output) is list and output:
            self._output = output
        usage = response.get("usage")
        if usage:
            self._usage = normalized_usage(usage)
        self.finished = True
        return self._show_missing_output()

    def _show_missing_output(self) -> list[Delta]:
        """Text that only the final output holds (a server that streamed no deltas at all)."""
        if not self._output or any(slot.shown for slot in self._items.values()):
            return []
        out: list[Delta] = []
        for index, item in enumerate(self._output):
            if type(item) is dict and item.get("type") in ("message", "reasoning"):
                out += self._show_final(self._slot(index, item["type"]), item)
        return out

    def _response(self, response: Any) -> None:
        if type(response) is not dict:
            return
        if type(response.get("id")) is str and response["id"]:
            self._response_id = response["id"]  # the latest wins: some servers change it after created
        if type(response.get("model")) is str and response["model"]:
            self._model = response["model"]

    # -- bookkeeping -------------------------------------------------------------

    def _index(self, event: dict[str, Any]) -> int:
        """The event's ``output_index``; without one, the index its item id had, else the latest item."""
        index = event.get("output_index")
        item_id = event.get("item_id") or (event.get("item") or {}).get("id")
        if type(index) is int:
            if type(item_id) is str:
                self._index_of[item_id] = index
            return index
        if type(item_id) is str and item_id in self._index_of:
            return self._index_of[item_id]
        index = self._last_index if self._last_index >= 0 else 0
        if type(item_id) is str:
            self._index_of[item_id] = index
        return index

    def _item(self, event: dict[str, Any], item_type: Any, *, declared: bool = False) -> _Item:
        """The slot the event belongs to; ``declared`` when the event states the item's type itself."""
        return self._slot(self._index(event), item_type if type(item_type) is str else "", declared=declared)

    def _slot(self, index: int, item_type: str, *, declared: bool = False) -> _Item:
        slot = self._items.get(index)
        if slot is None:
            slot = self._items[index] = _Item(item_type)
            self._last_index = max(self._last_index, index)
        elif item_type and (declared or not slot.type):
            slot.type = item_type
        return slot

    def _index_for(self, slot: _Item) -> int:
        for index, candidate in self._items.items():
            if candidate is slot:
                return index
        return 0

    # -- the result --------------------------------------------------------------

    def result(self) -> ResponsesMessage:
        """The turn so far; safe to call mid-stream (the chat loop keeps partial answers)."""
        items = self._final_items()
        texts: list[str] = []
        refusals: list[str] = []
        reasoning: list[str] = []
        calls: list[ToolCall] = []
        for item in items:
            kind = item.get("type")
            if kind == "message":
                text, refusal = _message_text(item)
                if text:
                    texts.append(text)
                if refusal:
                    refusals.append(refusal)
            elif kind == "reasoning":
                summary = "\n\n".join(
                    part.get("text", "") for part in item.get("summary") or [] if type(part) is dict
                )
                if summary:
                    reasoning.append(summary)
            elif kind == "function_call":
                calls.append(ToolCall(item["call_id"], item.get("name") or "", item.get("arguments") or "{}"))
        return ResponsesMessage(
            content="\n\n".join(texts),
            refusal="\n\n".join(refusals),
            reasoning="\n\n".join(reasoning),
            tool_calls=calls,
            finish_reason=self._finish_reason(calls),
            usage=self._usage,
            model=self._model,
            response_id=self._response_id,
            items=items,
            status=self._status,
            incomplete_reason=self._incomplete,
        )

    def _finish_reason(self, calls: list[ToolCall]) -> Optional[str]:
        if self._status == "incomplete":
            return _FINISH.get(self._incomplete or "", self._incomplete or "incomplete")
        if self._status is None:
            return None
        return "tool_calls" if calls else "stop"

    def _final_items(self) -> list[dict[str, Any]]:
        """The output items, final form first: completed output, else each item's done event, else the stream."""
        if self._output is not None:
            items = [dict(item) for item in self._output if type(item) is dict]
        else:
            items = [self._streamed_item(self._items[index]) for index in sorted(self._items)]
        return _unique_call_ids([item for item in items if item])

    def _streamed_item(self, slot: _Item) -> dict[str, Any]:
        final = slot.final
        kind = (final or {}).get("type") or slot.type or slot.added.get("type")
        if kind == "function_call":
            item: dict[str, Any] = dict(final) if final else {"type": "function_call"}
            arguments = item.get("arguments")
            if type(arguments) is not str or (not arguments and slot.arguments_done):
                arguments = slot.arguments_done if slot.arguments_done is not None else "".join(slot.arguments)
            item["arguments"] = arguments
            for key in ("id", "call_id", "name"):
                if not item.get(key) and slot.added.get(key):
                    item[key] = slot.added[key]  # added is a last resort for names, never for content
            return item
        if kind == "reasoning":
            if final:
                return dict(final)
            item = {key: value for key, value in slot.added.items() if key != "encrypted_content"}
            item["type"] = "reasoning"
            summaries = sorted((key, pieces) for key, pieces in slot.texts.items() if "summary" in str(key[0]))
            item["summary"] = [{"type": "summary_text", "text": "".join(pieces)} for _, pieces in summaries]
            return item
        if kind == "message" or slot.texts:
            if final and final.get("type") == "message":
                return dict(final)
            content = [{"type": "output_text", "text": "".join(slot.texts[part]), "annotations": []} for part in sorted(slot.texts, key=str)]
            item = {"type": "message", "role": "assistant", "content": content}
            if slot.added.get("id"):
                item["id"] = slot.added["id"]
            return item
        return dict(final) if final else {}


def normalized_usage(usage: Any) -> dict[str, Any]:
    """Responses usage (``input_tokens``...) under Chat Completions' names, which the rest of chatfn reads."""
    if type(usage) is not dict:
        return {}
    if "prompt_tokens" in usage:
        return dict(usage)
    out: dict[str, Any] = {}
    for source, target in (("input_tokens", "prompt_tokens"), ("output_tokens", "completion_tokens"), ("total_tokens", "total_tokens")):
        if type(usage.get(source)) is int:
            out[target] = usage[source]
    if "total_tokens" not in out and "prompt_tokens" in out and "completion_tokens" in out:
        out["total_tokens"] = out["prompt_tokens"] + out["completion_tokens"]
    for source, target in (("input_tokens_details", "prompt_tokens_details"), ("output_tokens_details", "completion_tokens_details")):
        if type(usage.get(source)) is dict:
            out[target] = dict(usage[source])
    return out


def _message_text(item: dict[str, Any]) -> tuple[str, str]:
    content = item.get("content")
    if type(content) is str:
        return content, ""
    texts: list[str] = []
    refusals: list[str] = []
    for part in content or []:
        if type(part) is not dict:
            continue
        if part.get("type") == "refusal":
            refusals.append(str(part.get("refusal") or ""))
        elif type(part.get("text")) is str:
            texts.append(part["text"])
    return "".join(texts), "".join(refusals)


def _unique_call_ids(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every function call gets a call id, unique in the turn (results are matched by it)."""
    taken = {item.get("call_id") for item in items if item.get("type") == "function_call" and item.get("call_id")}
    seen: set[str] = set()
    counter = 0
    for item in items:
        if item.get("type") != "function_call":
            continue
        call_id = item.get("call_id")
        if type(call_id) is not str or not call_id or call_id in seen:
            while True:
                counter += 1
                call_id = f"call_{counter}"
                if call_id not in taken and call_id not in seen:
                    break
            item["call_id"] = call_id
        seen.add(call_id)
        if type(item.get("arguments")) is not str:
            arguments = item.get("arguments")
            item["arguments"] = "" if arguments is None else json.dumps(arguments, separators=(",", ":"), ensure_ascii=False)
        if not item["arguments"].strip():
            item["arguments"] = "{}"
    return items


def _error_text(error: Any, fallback: str) -> str:
    """The server's own words for a failure it reported in the stream, with its code."""
    if isinstance(error, dict):
        message = error.get("message") or fallback
        code = error.get("code") or error.get("type")
        if code and str(code) not in str(message):
            message = f"{message} ({code})"
        return str(message)
    return str(error) if error else fallback
