"""The history in Chat Completions form to a Responses request, and back.

chatfn keeps one history format, Chat Completions messages, because the log,
``chatfn logs``, search and resuming all read it. A turn that a Responses server
produced keeps, under the ``responses`` key of its assistant message, the output
items that server needs back (reasoning with its final ``encrypted_content``,
function calls with their ``call_id``) and the response id. This module turns that
history into the request's ``input`` items (stateless: everything, every time;
stored: only what follows the last stored response, with ``previous_response_id``),
tools into Responses function tools, and, for a Chat Completions session resuming a
Responses conversation, the history back into plain messages.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Optional

from chatfn.wire.responses import RESPONSES_KEY

__all__ = [
    "ENCRYPTED_REASONING",
    "InputItems",
    "StoredTurn",
    "chat_messages",
    "input_items",
    "last_stored_turn",
    "responses_options",
    "responses_request",
    "responses_tools",
]

ENCRYPTED_REASONING = "reasoning.encrypted_content"


def responses_tools(definitions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Chat Completions tool definitions as Responses function tools.

    ``strict`` is stated as false: the Responses API assumes true, which rejects the
    schemas plugins build (optional parameters, no ``additionalProperties: false``).
    """
    tools = []
    for definition in definitions:
        function = definition.get("function", definition)
        tool: dict[str, Any] = {"type": "function", "name": function["name"]}
        if function.get("description"):
            tool["description"] = function["description"]
        tool["parameters"] = function.get("parameters") or {"type": "object", "properties": {}}
        tool["strict"] = bool(function.get("strict", False))
        tools.append(tool)
    return tools


@dataclass(frozen=True)
class StoredTurn:
    """The last turn a server stored (``store = true``): its position in the history and its response id."""

    position: int
    response_id: str


def last_stored_turn(messages: list[dict[str, Any]], origin: Optional[str] = None) -> Optional[StoredTurn]:
    """The latest assistant turn whose response the server kept, so ``previous_response_id`` can name it.

    ``origin`` (the endpoint's address) must match where the turn was stored: an id
    means nothing to another server. A turn kept partially (Ctrl-C, failure) has no
    stored id, so the search stops there and the whole history is sent instead.
    """
    for position in range(len(messages) - 1, -1, -1):
        message = messages[position]
        if message.get("role") != "assistant":
            continue
        state = message.get(RESPONSES_KEY)
        if not isinstance(state, dict) or not state.get("stored") or not state.get("id"):
            return None
        if origin is not None and state.get("origin") not in (None, origin):
            return None
        return StoredTurn(position, str(state["id"]))
    return None


class InputItems:
    """The ``input`` items of a history, converted once per message as the history grows.

    A long conversation is re-sent on every request; converting only the messages
    added since the last request keeps that cost flat.
    """

    def __init__(self) -> None:
        self._source: Optional[list[dict[str, Any]]] = None
        self._done = 0
        self._items: list[dict[str, Any]] = []
        self._starts: list[int] = []  # message position -> index of its first item
        self._legacy = _LegacyCalls()

    def items(self, messages: list[dict[str, Any]], start: int = 0) -> list[dict[str, Any]]:
        """The items for ``messages[start:]``."""
        if messages is not self._source or len(messages) < self._done:
            self.__init__()  # type: ignore[misc]
            self._source = messages
        for position in range(self._done, len(messages)):
            self._starts.append(len(self._items))
            self._items.extend(_message_items(messages[position], position, self._legacy))
        self._done = len(messages)
        if start <= 0:
            return list(self._items)
        if start >= len(self._starts):
            return []
        return self._items[self._starts[start]:]


def input_items(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every message of ``messages`` as Responses input items (see :class:`InputItems`)."""
    return InputItems().items(messages)


def responses_request(
    model: str,
    messages: list[dict[str, Any]],
    *,
    tools: list[dict[str, Any]],
    store: bool,
    params: Optional[dict[str, Any]] = None,
    converter: Optional[InputItems] = None,
    origin: Optional[str] = None,
    encrypted_reasoning: bool = True,
) -> dict[str, Any]:
    """The JSON body of one streamed ``POST /responses`` for this history.

    Stateless (``store`` false): the whole history, with reasoning items carrying
    their encrypted content, which ``include`` asks the server to return (unless
    ``encrypted_reasoning`` is false: a model that has none refuses the request).
    Stored: ``previous_response_id`` and only the items after that response.
    """
    converter = converter or InputItems()
    body = responses_options(params or {})
    body["model"] = model
    stored = last_stored_turn(messages, origin) if store else None
    if stored is not None:
        body["previous_response_id"] = stored.response_id
        body["input"] = converter.items(messages, stored.position + 1)
    else:
        body["input"] = converter.items(messages)
    body["store"] = store
    if not store and encrypted_reasoning:
        include = [value for value in body.get("include") or [] if value != ENCRYPTED_REASONING]
        body["include"] = [*include, ENCRYPTED_REASONING]
    if tools:
        body["tools"] = tools
    body["stream"] = True
    return body


def responses_options(params: dict[str, Any]) -> dict[str, Any]:
    """Model options under their Responses API names (``max_tokens`` is ``max_output_tokens`` there).

    The common Chat Completions options a profile or ``-o`` sets keep working on a
    Responses profile; any other key goes as it is.
    """
    body: dict[str, Any] = {}
    for key, value in params.items():
        if key in ("max_tokens", "max_completion_tokens"):
            body["max_output_tokens"] = value
        elif key == "reasoning_effort":
            reasoning = body.get("reasoning") if isinstance(body.get("reasoning"), dict) else {}
            body["reasoning"] = {**reasoning, "effort": value}
        elif key == "reasoning" and isinstance(value, dict) and isinstance(body.get("reasoning"), dict):
            body["reasoning"] = {**value, **body["reasoning"]}
        else:
            body[key] = value
    return body


def chat_messages(messages: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], int]:
    """A history for a Chat Completions server: the Responses state removed.

    Returns the messages and how many reasoning items had to be left out (Chat
    Completions has no way to send them back).
    """
    out: list[dict[str, Any]] = []
    dropped = 0
    for message in messages:
        state = message.get(RESPONSES_KEY)
        if state is None:
            out.append(message)
            continue
        if isinstance(state, dict):
            dropped += sum(
                1 for item in state.get("items") or [] if isinstance(item, dict) and item.get("type") == "reasoning"
            )
        out.append({key: value for key, value in message.items() if key != RESPONSES_KEY})
    return out, dropped


# -- one message --------------------------------------------------------------


class _LegacyCalls:
    """Call ids for the 2023 ``function_call`` messages, which had none: the result pairs with the call before it."""

    def __init__(self) -> None:
        self.pending: Optional[str] = None


def _message_items(message: dict[str, Any], position: int, legacy: _LegacyCalls) -> list[dict[str, Any]]:
    role = message.get("role")
    if role == "assistant":
        return _assistant_items(message, position, legacy)
    if role == "tool":
        return [_call_output(message.get("tool_call_id"), message.get("content"))]
    if role == "function":
        call_id, legacy.pending = legacy.pending or f"call_legacy_{position}", None
        return [_call_output(call_id, message.get("content"))]
    if role in ("system", "developer", "user"):
        return [{"role": role, "content": _input_content(message.get("content"))}]
    return []  # a role the Responses API has no place for


def _assistant_items(message: dict[str, Any], position: int, legacy: _LegacyCalls) -> list[dict[str, Any]]:
    state = message.get(RESPONSES_KEY)
    if isinstance(state, dict) and isinstance(state.get("items"), list):
        echoed = [item for item in (_echo(raw) for raw in state["items"]) if item]
        if echoed or not (message.get("content") or message.get("tool_calls")):
            return echoed
    items: list[dict[str, Any]] = []
    text = _text(message.get("content"))
    if text:
        items.append({"role": "assistant", "content": text})
    for call in message.get("tool_calls") or []:
        function = call.get("function") or {}
        items.append(_function_call(call.get("id"), function.get("name"), function.get("arguments")))
    function_call = message.get("function_call")
    if isinstance(function_call, dict):
        legacy.pending = f"call_legacy_{position}"
        items.append(_function_call(legacy.pending, function_call.get("name"), function_call.get("arguments")))
    return items


def _echo(item: Any) -> Optional[dict[str, Any]]:
    """An output item as the server needs it back in a stateless request.

    Reasoning goes back only with its encrypted content (an id alone names nothing
    when the server stored nothing); calls and messages go back without their item
    ids, which a stateless server cannot resolve, and calls keep their ``call_id``.
    """
    if not isinstance(item, dict):
        return None
    kind = item.get("type")
    if kind == "reasoning":
        if not item.get("encrypted_content"):
            return None
        echoed = {"type": "reasoning", "summary": item.get("summary") or [], "encrypted_content": item["encrypted_content"]}
        if item.get("id"):
            echoed["id"] = item["id"]
        return echoed
    if kind == "function_call":
        return _function_call(item.get("call_id"), item.get("name"), item.get("arguments"))
    if kind == "message":
        content = item.get("content")
        if isinstance(content, list):
            text = "".join(
                str(part.get("text") or part.get("refusal") or "") for part in content if isinstance(part, dict)
            )
        else:
            text = _text(content)
        return {"role": "assistant", "content": text} if text else None
    return None  # built-in tool items (web search, ...) belong to their server's stored state


def _function_call(call_id: Any, name: Any, arguments: Any) -> dict[str, Any]:
    if not isinstance(arguments, str):
        arguments = json.dumps(arguments if arguments is not None else {}, separators=(",", ":"), ensure_ascii=False)
    return {"type": "function_call", "call_id": str(call_id or ""), "name": str(name or ""), "arguments": arguments or "{}"}


def _call_output(call_id: Any, content: Any) -> dict[str, Any]:
    return {"type": "function_call_output", "call_id": str(call_id or ""), "output": _text(content)}


def _input_content(content: Any) -> Any:
    """Message content as Responses input: text as it is, Chat Completions parts as input parts."""
    if not isinstance(content, list):
        return _text(content)
    parts: list[dict[str, Any]] = []
    for part in content:
        if not isinstance(part, dict):
            continue
        if part.get("type") == "text":
            parts.append({"type": "input_text", "text": str(part.get("text") or "")})
        elif part.get("type") == "image_url":
            image = part.get("image_url") or {}
            url = image.get("url") if isinstance(image, dict) else image
            parts.append({"type": "input_image", "image_url": url, "detail": (image or {}).get("detail", "auto") if isinstance(image, dict) else "auto"})
        else:
            parts.append(part)
    return parts


def _text(content: Any) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(str(part.get("text") or "") for part in content if isinstance(part, dict))
    return json.dumps(content, ensure_ascii=False)
