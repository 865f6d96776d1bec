"""Cost per chunk of decoding and assembling a long streamed answer.

Usage: ``python bench/assemble_bench.py [--chunks 20000] [--runs 5]``. Builds an
OpenAI-style stream of N text chunks (plus role, finish and usage chunks), then
times SSEDecoder + StreamAssembler over it, read one event at a time (a server
flushing every token) and in 64 KiB reads (a fast local network). Prints the best
run in µs per chunk, next to ``json.loads`` of the same payloads for scale (most of
the cost is that parse).
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable

from chatfn.wire.assemble import StreamAssembler
from chatfn.wire.sse import SSEDecoder

WORDS = ["The", " quick", " brown", " fox", " jumps", " over", " the", " lazy", " dog", ".", " Ünïcode", " 世界"]


def stream(count: int) -> tuple[list[bytes], list[bytes]]:
    """Events of an N-token answer, and their JSON payloads."""
    base = {
        "id": "chatcmpl-ABfw031mOJeYCSHe4yI2ZjOA6kMJL",
        "object": "chat.completion.chunk",
        "created": 1727346168,
        "model": "gpt-4o-2024-08-06",
        "system_fingerprint": "fp_5050236cbd",
    }

    def chunk(delta: dict, finish: str | None = None) -> dict:
        return {**base, "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]}

    chunks = [chunk({"role": "assistant", "content": "", "refusal": None})]
    chunks += [chunk({"content": WORDS[i % len(WORDS)]}) for i in range(count)]
    chunks.append(chunk({}, "stop"))
    chunks.append({**base, "choices": [], "usage": {"prompt_tokens": 14, "completion_tokens": count, "total_tokens": count + 14}})
    payloads = [json.dumps(item, ensure_ascii=False, separators=(",", ":")).encode() for item in chunks]
    events = [b"data: " + payload + b"\n\n" for payload in payloads] + [b"data: [DONE]\n\n"]
    return events, payloads


def best_of(runs: int, work: Callable[[], None]) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return min(times)


def decode_and_assemble(reads: list[bytes], expected_length: int) -> Callable[[], None]:
    def work() -> None:
        decoder = SSEDecoder()
        assembler = StreamAssembler()
        feed = assembler.feed
        for read in reads:
            for chunk in decoder.feed(read):
                feed(chunk)
        for chunk in decoder.finish():
            feed(chunk)
        assert decoder.done and len(assembler.result().content) == expected_length

    return work


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunks", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    events, payloads = stream(args.chunks)
    body = b"".join(events)
    big_reads = [body[i : i + 65536] for i in range(0, len(body), 65536)]
    expected = sum(len(WORDS[i % len(WORDS)]) for i in range(args.chunks))
    per_chunk = 1e6 / len(payloads)

    floor = best_of(args.runs, lambda: [json.loads(payload) for payload in payloads])
    decoded = [json.loads(payload) for payload in payloads]

    def assemble_only() -> None:
        assembler = StreamAssembler()
        for chunk in decoded:
            assembler.feed(chunk)
        assembler.result()

    rows = [
        ("json.loads of each payload, for scale", floor),
        ("StreamAssembler only", best_of(args.runs, assemble_only)),
        ("decode + assemble, one read per event", best_of(args.runs, decode_and_assemble(events, expected))),
        ("decode + assemble, 64 KiB reads", best_of(args.runs, decode_and_assemble(big_reads, expected))),
    ]
    print(f"{len(payloads):,} chunks ({len(body) / 1e6:.1f} MB), best of {args.runs} runs")
    for label, seconds in rows:
        print(f"  {label:<40} {seconds * per_chunk:6.2f} µs/chunk  ({seconds * 1e3:7.1f} ms total)")


if __name__ == "__main__":
    main()
