"""Streamed chunk deltas to one assistant message, whatever the server's dialect.

Servers that call themselves OpenAI-compatible disagree on the details: Azure and
Copilot open with a chunk without choices, Mistral sends tool calls without
``index``, vLLM omits ``arguments``, Ollama and Groq send a whole call in one
chunk, DeepSeek names its thinking ``reasoning_content`` and others ``reasoning``,
old models stream ``function_call``. :class:`StreamAssembler` accepts all of
them and yields the text as it arrives, so the terminal can show it at once.

The text path is the hot path (one chunk per token of a long answer): it does a
few dict lookups and list appends, and joins the pieces once in :meth:`result`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Optional

from chatfn.errors import ProviderError
from chatfn.events import Delta, ToolCall

__all__ = ["AssembledMessage", "StreamAssembler"]


@dataclass
class AssembledMessage:
    """Everything one streamed response said, ready for the history and the tool runner."""

    content: str = ""
    refusal: str = ""
    reasoning: str = ""
    tool_calls: list[ToolCall] = field(default_factory=list)
    finish_reason: Optional[str] = None
    usage: Optional[dict[str, Any]] = None
    model: Optional[str] = None
    legacy_function_call: bool = False

    def to_message(self) -> dict[str, Any]:
        """The assistant message to append to the history (a refusal stands in for empty content)."""
        message: dict[str, Any] = {"role": "assistant", "content": self.content or self.refusal or None}
        if self.legacy_function_call and self.tool_calls:
            call = self.tool_calls[0]
            message["function_call"] = {"name": call.name, "arguments": call.arguments}
        elif self.tool_calls:
            message["tool_calls"] = [
                {"id": call.id, "type": "function", "function": {"name": call.name, "arguments": call.arguments}}
                for call in self.tool_calls
            ]
        return message


class _PartialCall:
    """A tool call still arriving: id and name are set once, arguments accumulate."""

    __slots__ = ("id", "name", "parts")

    def __init__(self) -> None:
        self.id = ""
        self.name = ""
        self.parts: list[str] = []

    def add(self, fragment: dict[str, Any]) -> None:
        """Merge one ``tool_calls`` fragment."""
        call_id = fragment.get("id")
        if call_id and not self.id and type(call_id) is str:
            self.id = call_id
        function = fragment.get("function")
        if function:
            self.add_function(function)

    def add_function(self, function: dict[str, Any]) -> None:
        """Merge a ``function`` object (or a legacy ``function_call``): name once, arguments appended."""
        name = function.get("name")
        if name and not self.name and type(name) is str:
            self.name = name
        arguments = function.get("arguments")
        if arguments:
            if type(arguments) is not str:
                arguments = json.dumps(arguments, separators=(",", ":"), ensure_ascii=False)
            self.parts.append(arguments)


class StreamAssembler:
    """Feed it every chunk of one response; it returns what to show and, at the end, the message."""

    finished = False
    """A Chat Completions stream is over at ``[DONE]`` (the decoder's), never at a chunk."""

    def __init__(self) -> None:
        self._content: list[str] = []
        self._reasoning: list[str] = []
        self._refusal: list[str] = []
        self._calls: list[_PartialCall] = []
        self._by_index: dict[Any, _PartialCall] = {}
        self._last: Optional[_PartialCall] = None
        self._function_call: Optional[_PartialCall] = None
        self._finish_reason: Optional[str] = None
        self._usage: Optional[dict[str, Any]] = None
        self._model: Optional[str] = None

    def feed(self, chunk: dict[str, Any]) -> list[Delta]:
        """Take one chunk; return the text, reasoning and refusal pieces it carried."""
        try:
            usage = chunk.get("usage")
            if usage and isinstance(usage, dict):  # any other shape means nothing
                self._usage = usage
            model = chunk.get("model")
            if model and type(model) is str:  # any other shape means nothing
                self._model = model
            choices = chunk.get("choices")
            if not choices:
                return []
            choice = choices[0]
            if choice.get("index"):  # n > 1: only the first choice counts
                choice = _first_choice(choices)
                if choice is None:
                    return []
            out: list[Delta] = []
            delta = choice.get("delta")
            if delta:
                text = delta.get("content")
                if type(text) is str:
                    if text:
                        self._content.append(text)
                        out.append(Delta("text", text))
                    if len(delta) > 1:
                        self._rest(delta, out)
                else:
                    if text:
                        self._content_parts(text, out)
                    self._rest(delta, out)
            reason = choice.get("finish_reason")
            if reason:
                self._finish_reason = reason
            return out
        except (AttributeError, TypeError, KeyError, IndexError, ValueError):
            excerpt = json.dumps(chunk, default=str)[:80]
            raise ProviderError(f"the server sent a chunk of an unexpected shape: {excerpt!r}") from None

    def result(self) -> AssembledMessage:
        """The message so far; safe to call mid-stream (the chat loop keeps partial answers)."""
        calls = [call for call in self._calls if call.name or call.parts]
        legacy = False
        pending = self._function_call
        if not calls and pending is not None and (pending.name or pending.parts):
            calls, legacy = [pending], True
        tool_calls = _finished_calls(calls)
        reason = self._finish_reason
        if reason == "stop" and tool_calls:
            reason = "function_call" if legacy else "tool_calls"
        return AssembledMessage(
            content="".join(self._content),
            refusal="".join(self._refusal),
            reasoning="".join(self._reasoning),
            tool_calls=tool_calls,
            finish_reason=reason,
            usage=self._usage,
            model=self._model,
            legacy_function_call=legacy,
        )

    # -- the less common parts of a delta ----------------------------------------

    def _rest(self, delta: dict[str, Any], out: list[Delta]) -> None:
        # vLLM has sent both names with the same text: take one, never both.
        text = delta.get("reasoning_content") or delta.get("reasoning")
        if text and type(text) is str:
            self._reasoning.append(text)
            out.append(Delta("reasoning", text))
        text = delta.get("refusal")
        if text and type(text) is str:
            self._refusal.append(text)
            out.append(Delta("refusal", text))
        fragments = delta.get("tool_calls")
        if fragments:
            self._tool_calls(fragments if type(fragments) is list else [fragments])
        function_call = delta.get("function_call")
        if function_call:
            if self._function_call is None:
                self._function_call = _PartialCall()
            self._function_call.add_function(function_call)

    def _content_parts(self, parts: Any, out: list[Delta]) -> None:
        """Content sent as a list of parts (Mistral's reasoning models): text and thinking."""
        for part in parts if type(parts) is list else [parts]:
            if type(part) is str:
                kind, text = "text", part
            elif part.get("type") == "thinking":
                kind, text = "reasoning", _part_text(part.get("thinking"))
            else:
                kind, text = "text", _part_text(part.get("text"))
            if not text:
                continue
            (self._content if kind == "text" else self._reasoning).append(text)
            out.append(Delta(kind, text))

    def _tool_calls(self, fragments: list[Any]) -> None:
        unindexed: list[_PartialCall] = []
        for fragment in fragments:
            index = fragment.get("index")
            if index is None:
                call = self._unindexed(fragment, unindexed)
                unindexed.append(call)
            else:
                call = self._by_index.get(index)
                call_id = fragment.get("id")
                if call is None or (call_id and call.id and call_id != call.id):
                    # A new id at a known index is a new call (some servers send every call as index 0).
                    call = self._by_index[index] = self._new_call()
            call.add(fragment)
            self._last = call

    def _unindexed(self, fragment: dict[str, Any], this_chunk: list[_PartialCall]) -> _PartialCall:
        """Mistral omits ``index``: an unseen id starts a call, no id continues the last one."""
        call_id = fragment.get("id")
        if call_id:
            for call in self._calls:
                if call.id == call_id:
                    return call
            return self._new_call()
        last = self._last
        if last is None or last in this_chunk:  # two fragments in one chunk are two calls
            return self._new_call()
        name = (fragment.get("function") or {}).get("name")
        if name and last.name and name != last.name:  # another function's name: another call
            return self._new_call()
        return last

    def _new_call(self) -> _PartialCall:
        call = _PartialCall()
        self._calls.append(call)
        return call


def _first_choice(choices: list[dict[str, Any]]) -> Optional[dict[str, Any]]:
    for choice in choices:
        if not choice.get("index"):
            return choice
    return None


def _part_text(value: Any) -> str:
    """Text of a content part, which may nest further parts."""
    if type(value) is str:
        return value
    if type(value) is list:
        return "".join(_part_text(item if type(item) is str else item.get("text")) for item in value)
    return ""


def _finished_calls(calls: list[_PartialCall]) -> list[ToolCall]:
    """Final calls: every id present and unique (tool results refer to it), arguments never empty."""
    reserved = {call.id for call in calls if call.id}
    taken: set[str] = set()
    finished = []
    counter = 0
    for call in calls:
        call_id = call.id
        if not call_id or call_id in taken:
            while True:
                counter += 1
                call_id = f"call_{counter}"
                if call_id not in reserved and call_id not in taken:
                    break
        taken.add(call_id)
        arguments = "".join(call.parts)
        if not arguments.strip():
            arguments = "{}"
        finished.append(ToolCall(call_id, call.name, arguments))
    return finished
