"""Properties: the decoded and assembled answer does not depend on how the server cut it up.

(a) any split of the SSE bytes into reads, with any line ending, gives the same chunks and message;
(b) any regrouping of the deltas a conforming server could send (strings cut into fragments spread
over more chunks, adjacent fragments merged into one chunk) assembles the same message;
(c) tool-call fragments interleaved across indexes assemble the same calls.
Each runs on the recorded real streams and on generated ones.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from streams import STREAM_NAMES, needs_streams, read_stream

from chatfn.events import ToolCall
from chatfn.wire.assemble import AssembledMessage, StreamAssembler
from chatfn.wire.sse import SSEDecoder

pytestmark = pytest.mark.slow  # hundreds of generated streams per test

PROPERTY = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
PER_STREAM = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def decode(reads: list[bytes]) -> list[dict[str, Any]]:
    decoder = SSEDecoder()
    chunks = []
    for read in reads:
        chunks += decoder.feed(read)
    chunks += decoder.finish()
    assert decoder.done
    return chunks


def assemble(chunks: list[dict[str, Any]]) -> AssembledMessage:
    assembler = StreamAssembler()
    for chunk in chunks:
        assembler.feed(chunk)
    return assembler.result()


def recorded(name: str) -> tuple[bytes, list[dict[str, Any]], AssembledMessage]:
    body = read_stream(name)
    chunks = decode([body])
    return body, chunks, assemble(chunks)


def to_sse(chunks: list[dict[str, Any]], multiline: bool = False) -> bytes:
    """SSE body; ``multiline`` spreads each JSON payload over several ``data:`` lines."""
    events = []
    for chunk in chunks:
        payload = json.dumps(chunk, ensure_ascii=False, indent=1 if multiline else None)
        events.append("".join(f"data: {line}\n" for line in payload.split("\n")) + "\n")
    return ("".join(events) + "data: [DONE]\n\n").encode()


# -- strategies ------------------------------------------------------------------------------------


@st.composite
def reads(draw: st.DrawFn, body: bytes) -> list[bytes]:
    """The body with a random line ending, cut into random reads."""
    newline = draw(st.sampled_from([b"\n", b"\r\n", b"\r"]))
    body = body.replace(b"\n", newline)  # payloads hold no raw newline: JSON escapes them
    cuts = sorted(draw(st.lists(st.integers(0, len(body)), max_size=40)))
    return [body[start:end] for start, end in zip([0, *cuts], [*cuts, len(body)])]


@st.composite
def fragments_of(draw: st.DrawFn, text: str) -> list[str]:
    """``text`` cut into non-empty pieces (none when it is empty)."""
    if not text:
        return []
    cuts = sorted(set(draw(st.lists(st.integers(1, len(text) - 1), max_size=8)))) if len(text) > 1 else []
    return [text[start:end] for start, end in zip([0, *cuts], [*cuts, len(text)])]


@st.composite
def call_fragments(draw: st.DrawFn, position: int, call: ToolCall, indexed: bool) -> list[tuple[Any, dict[str, Any]]]:
    """One call as a server streams it: id and name first, then argument pieces. Items are (slot, fragment)."""
    pieces = draw(fragments_of(call.arguments))
    function: dict[str, Any] = {"name": call.name}
    first_args = draw(st.sampled_from(["inline", "empty", "absent"]))
    if first_args == "inline" and pieces:
        function["arguments"] = pieces.pop(0)
    elif first_args == "empty":
        function["arguments"] = ""
    first: dict[str, Any] = {"id": call.id, "function": function}
    if draw(st.booleans()):
        first["type"] = "function"
    rest: list[dict[str, Any]] = [{"function": {"arguments": piece}} for piece in pieces]
    if indexed:
        for fragment in [first, *rest]:
            fragment["index"] = position
    slot = ("call", position if indexed else "any")
    return [(slot, first)] + [(slot, fragment) for fragment in rest]


@st.composite
def regrouped(draw: st.DrawFn, message: AssembledMessage, interleave: bool) -> list[dict[str, Any]]:
    """A chunk stream a conforming server could send for ``message``, cut and grouped at random."""
    model = message.model or ""
    reasoning_key = draw(st.sampled_from(["reasoning_content", "reasoning"]))
    items: list[tuple[Any, str, Any]] = []  # (slot, delta key, value)
    for key, text in ((reasoning_key, message.reasoning), ("refusal", message.refusal), ("content", message.content)):
        items += [(key, key, piece) for piece in draw(fragments_of(text))]
    if message.legacy_function_call:
        (call,) = message.tool_calls
        pieces = draw(fragments_of(call.arguments))
        items.append(("function_call", "function_call", {"name": call.name, "arguments": ""}))
        items += [("function_call", "function_call", {"arguments": piece}) for piece in pieces]
    else:
        indexed = draw(st.booleans()) or interleave or len(message.tool_calls) < 1
        streams = [draw(call_fragments(i, call, indexed)) for i, call in enumerate(message.tool_calls)]
        items += [(slot, "tool_calls", fragment) for slot, fragment in _merge(draw, streams, interleave)]

    chunks: list[dict[str, Any]] = []
    if draw(st.booleans()):  # Azure opens with a chunk without choices
        chunks.append({"choices": [], "id": "", "model": "", "prompt_filter_results": [{"prompt_index": 0}]})
    delta: dict[str, Any] = {"role": "assistant"}
    slots: set[Any] = set()
    for slot, key, value in items:
        if slot in slots or (slot == ("call", "any") and slots) or draw(st.booleans()):
            chunks.append(_chunk(model, delta))
            delta, slots = {}, set()
        slots.add(slot)
        if key == "tool_calls":
            delta.setdefault("tool_calls", []).append(value)
        else:
            delta[key] = value
    finish: dict[str, Any] = {"index": 0, "delta": {}, "finish_reason": message.finish_reason}
    if draw(st.booleans()):
        finish["delta"] = delta
    else:
        chunks.append(_chunk(model, delta))
    last: dict[str, Any] = {"object": "chat.completion.chunk", "model": model, "choices": [finish]}
    chunks.append(last)
    if message.usage is not None:
        if draw(st.booleans()):
            last["usage"] = message.usage
        else:
            chunks.append({"object": "chat.completion.chunk", "model": model, "choices": [], "usage": message.usage})
    return chunks


def _chunk(model: str, delta: dict[str, Any]) -> dict[str, Any]:
    return {"object": "chat.completion.chunk", "model": model, "choices": [{"index": 0, "delta": delta, "finish_reason": None}]}


def _merge(draw: st.DrawFn, streams: list[list[Any]], interleave: bool) -> list[Any]:
    """Fragments of all calls in one order; each call's own order kept, calls started in index order."""
    if not interleave:
        return [fragment for stream in streams for fragment in stream]
    merged: list[Any] = []
    positions = [0] * len(streams)
    while True:
        ready = [
            i
            for i, stream in enumerate(streams)
            if positions[i] < len(stream) and (i == 0 or positions[i - 1] > 0 or positions[i] > 0)
        ]
        if not ready:
            return merged
        i = draw(st.sampled_from(ready))
        merged.append(streams[i][positions[i]])
        positions[i] += 1


@st.composite
def messages(draw: st.DrawFn) -> AssembledMessage:
    """Answers a server could give: text, reasoning, a refusal, tool calls, usage, any finish reason."""
    text = st.text(max_size=40)
    values = st.one_of(st.integers(), st.text(max_size=10), st.booleans(), st.none(), st.floats(allow_nan=False))
    arguments = st.dictionaries(st.text(max_size=8), values, max_size=4).map(json.dumps)
    names = st.from_regex(r"[a-zA-Z_][a-zA-Z0-9_]{0,15}", fullmatch=True)
    ids = st.lists(st.from_regex(r"call_[a-zA-Z0-9]{1,12}", fullmatch=True), unique=True, max_size=4)
    call_ids = draw(ids)
    calls = [ToolCall(call_id, draw(names), draw(arguments)) for call_id in call_ids]
    legacy = len(calls) == 1 and draw(st.booleans())
    if legacy:
        calls = [ToolCall("call_1", calls[0].name, calls[0].arguments)]
        finish = "function_call"
    elif calls:
        finish = draw(st.sampled_from(["tool_calls", "length"]))
    else:
        finish = draw(st.sampled_from(["stop", "length", "content_filter"]))
    usage = draw(st.none() | st.fixed_dictionaries({"prompt_tokens": st.integers(0, 9999), "completion_tokens": st.integers(0, 9999)}))
    return AssembledMessage(
        content=draw(text),
        refusal=draw(text) if not calls and draw(st.booleans()) else "",
        reasoning=draw(text),
        tool_calls=calls,
        finish_reason=finish,
        usage=usage,
        model=draw(st.sampled_from([None, "gpt-4o", "qwen2.5-coder:7b"])),
        legacy_function_call=legacy,
    )


# -- (a) any split of the bytes ------------------------------------------------------------------------


@needs_streams
@pytest.mark.parametrize("name", STREAM_NAMES)
def test_recorded_any_split_gives_the_same_chunks_and_message(name: str) -> None:
    body, chunks, message = recorded(name)

    @PER_STREAM
    @given(st.data())
    def check(data: st.DataObject) -> None:
        split = decode(data.draw(reads(body)))
        assert split == chunks
        assert assemble(split) == message

    check()


@PROPERTY
@given(st.data(), messages())
def test_generated_any_split_gives_the_same_chunks_and_message(data: st.DataObject, message: AssembledMessage) -> None:
    chunks = data.draw(regrouped(message, interleave=False))
    split = decode(data.draw(reads(to_sse(chunks, multiline=data.draw(st.booleans())))))
    assert split == chunks
    assert assemble(split) == message


# -- (b) regrouped deltas, (c) interleaved tool calls ----------------------------------------------------


@needs_streams
@pytest.mark.parametrize("interleave", [False, True], ids=["regrouped", "interleaved"])
@pytest.mark.parametrize("name", STREAM_NAMES)
def test_recorded_regrouped_deltas_assemble_the_same(name: str, interleave: bool) -> None:
    _, _, message = recorded(name)

    @PER_STREAM
    @given(st.data())
    def check(data: st.DataObject) -> None:
        assert assemble(data.draw(regrouped(message, interleave))) == message

    check()


@PROPERTY
@given(st.data(), messages())
def test_generated_regrouped_deltas_assemble_the_same(data: st.DataObject, message: AssembledMessage) -> None:
    assert assemble(data.draw(regrouped(message, interleave=False))) == message


@PROPERTY
@given(st.data(), messages().filter(lambda message: len(message.tool_calls) > 1 and not message.legacy_function_call))
def test_generated_interleaved_tool_calls_assemble_the_same(data: st.DataObject, message: AssembledMessage) -> None:
    assert assemble(data.draw(regrouped(message, interleave=True))) == message
