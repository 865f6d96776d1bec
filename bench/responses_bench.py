"""`chatfn chat` with ``api = "responses"`` against a bare openai SDK Responses loop (issue 14).

Usage: ``python bench/responses_bench.py [--quick]``. Starts a :class:`ScriptedServer` on
127.0.0.1 serving ``/v1/responses`` (no artificial delay) and measures, each with its
baseline in the same run, the two figures ``chat_bench.py`` measures for Chat Completions:

1. a one-shot chat with one tool round: ``chatfn chat -q`` vs a minimal bare-SDK script
   (``client.responses.create(stream=True)``, the call sent back as ``function_call_output``);
2. a 20,000-delta answer, piped: ``chatfn chat -q --no-tools`` vs a bare SDK loop that only
   reads the events, end to end and the streaming loop alone inside each process, with the
   server writing one event per write and in 64 KiB writes.

Subprocess figures are medians of N runs (7, or 3 with ``--quick``), interleaved.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

import chat_bench
from chat_bench import ANSWER, LONG_CHUNKS, Bench, bench_long_answer, bench_tool_round

from chatfn.testing import (
    DEFAULT_MODEL,
    RecordedRequest,
    Response,
    responses_events,
    responses_text,
    responses_tool_calls,
)

BARE_TOOL_ROUND = '''
import json, sys, openai

def echo_text(text):
    return text

client = openai.OpenAI()
tools = [{"type": "function", "name": "echo_text", "description": "Return the text unchanged.", "strict": False,
          "parameters": {"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]}}]
items = [{"role": "system", "content": "You are a helpful AI assistant."}, {"role": "user", "content": sys.argv[2]}]
calls = []
for event in client.responses.create(model=sys.argv[1], input=items, tools=tools, stream=True, store=False):
    if event.type == "response.output_item.done" and event.item.type == "function_call":
        calls.append(event.item)
for call in calls:
    items.append({"type": "function_call", "call_id": call.call_id, "name": call.name, "arguments": call.arguments})
    items.append({"type": "function_call_output", "call_id": call.call_id,
                  "output": echo_text(**json.loads(call.arguments))})
for event in client.responses.create(model=sys.argv[1], input=items, tools=tools, stream=True, store=False):
    if event.type == "response.output_text.delta":
        sys.stdout.write(event.delta)
        sys.stdout.flush()
print()
'''

BARE_READ_LOOP = '''
import sys, time, openai

client = openai.OpenAI()
started = time.perf_counter()
for event in client.responses.create(model=sys.argv[1], input="go", stream=True):
    pass
print(f"LOOP {time.perf_counter() - started:.6f}", file=sys.stderr)
'''


def responses_tool_round() -> list[Response]:
    return [responses_tool_calls(("echo_text", {"text": "hello"})), responses_text(ANSWER)]


def responses_tool_result(request: RecordedRequest) -> Any:
    """What the follow-up request carried as the tool's result."""
    item = request.input[-1]
    return item.get("output") if item.get("type") == "function_call_output" else item


def long_answer(chunks: int) -> tuple[Response, int]:
    """A Responses answer of ``chunks`` one-word text deltas, built once and sent as is; and its length."""
    words = [" word", " token", " chunk", " fast"]
    pieces = [words[i % len(words)] for i in range(chunks)]
    text = "".join(pieces)
    item_id = "msg_bench"
    envelope: dict[str, Any] = {"id": "resp_bench", "object": "response", "status": "in_progress", "model": DEFAULT_MODEL, "output": []}
    common = {"item_id": item_id, "output_index": 0, "content_index": 0}
    part = {"type": "output_text", "annotations": [], "text": ""}
    final = {"id": item_id, "type": "message", "status": "completed", "role": "assistant", "content": [{**part, "text": text}]}
    events: list[dict[str, Any]] = [
        {"type": "response.created", "response": envelope, "sequence_number": 0},
        {"type": "response.in_progress", "response": envelope, "sequence_number": 1},
        {"type": "response.output_item.added", "item": {**final, "status": "in_progress", "content": []}, "output_index": 0},
        {"type": "response.content_part.added", **common, "part": part},
    ]
    events += [{"type": "response.output_text.delta", **common, "delta": piece, "logprobs": []} for piece in pieces]
    usage = {"input_tokens": 1, "output_tokens": chunks, "total_tokens": chunks + 1}
    events += [
        {"type": "response.output_text.done", **common, "text": text, "logprobs": []},
        {"type": "response.content_part.done", **common, "part": {**part, "text": text}},
        {"type": "response.output_item.done", "item": final, "output_index": 0},
        {"type": "response.completed", "response": {**envelope, "status": "completed", "output": [final], "usage": usage}},
    ]
    return responses_events(events), len(text)


def responses_steps(bench: Bench, options: argparse.Namespace) -> list[tuple[str, Callable[[], None]]]:
    round_trip = {"responses": responses_tool_round, "tool_result": responses_tool_result, "bare": BARE_TOOL_ROUND}
    return [
        ("tool round", lambda: bench_tool_round(bench, **round_trip, label="R1.", startup=False)),
        (
            "long answer",
            lambda: bench_long_answer(
                bench, LONG_CHUNKS, answer=long_answer, bare_loop=BARE_READ_LOOP, label="R2.", startup=False
            ),
        ),
    ]


PROFILE = 'default_profile = "r"\n[profiles.r]\nbase_url = "{base_url}"\napi = "responses"\n'


if __name__ == "__main__":
    chat_bench.main(responses_steps, config=PROFILE, description=__doc__)
