"""Decoding cost per MB of SSEDecoder, from 1 MB to 64 MB: it must stay flat.

Usage: ``python bench/sse_bench.py [--runs 3] [--read 65536]``. Two shapes of body,
each fed in reads of ``--read`` bytes as a network delivers them:

- one ``data:`` line of N MB (the attack: one huge event; a decoder that re-joins
  its buffer per read is quadratic here), decoded with the event limit raised;
- N MB of ordinary small events (content deltas), the everyday case.

Prints the best run's milliseconds per MB and its ratio to the 1 MB figure; flat
means ratios near 1.0 (the issue's old decoder took 80 s on one 50 MB line).
"""

from __future__ import annotations

import argparse
import json
import time

from chatfn.wire.sse import MIB, SSEDecoder

SIZES = (1, 4, 16, 64)


def one_line(megabytes: int) -> bytes:
    """One event whose data is a JSON string of ``megabytes`` MB."""
    return b'data: {"choices": [{"index": 0, "delta": {"content": "' + b"x" * (megabytes * MIB) + b'"}}]}\n\n'


def many_events(megabytes: int) -> bytes:
    """Ordinary content deltas adding up to about ``megabytes`` MB."""
    event = ("data: " + json.dumps({"choices": [{"index": 0, "delta": {"content": " word"}}]}) + "\n\n").encode()
    return event * (megabytes * MIB // len(event))


def decode(body: bytes, read: int) -> float:
    """Seconds to decode ``body`` in reads of ``read`` bytes."""
    decoder = SSEDecoder(max_event_bytes=len(body) + 1, max_body_bytes=len(body) + 1, idle_timeout=None)
    view = memoryview(body)
    started = time.perf_counter()
    for start in range(0, len(body), read):
        decoder.feed(bytes(view[start : start + read]))
    decoder.finish()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--read", type=int, default=65536)
    args = parser.parse_args()
    print(f"{'shape':<12} {'MB':>4} {'ms/MB':>8} {'vs 1 MB':>8}")
    for name, build in (("one line", one_line), ("many events", many_events)):
        base = None
        for size in SIZES:
            body = build(size)
            best = min(decode(body, args.read) for _ in range(args.runs))
            per_mb = best * 1000 / (len(body) / MIB)
            base = base or per_mb
            print(f"{name:<12} {size:>4} {per_mb:>8.2f} {per_mb / base:>8.2f}")


if __name__ == "__main__":
    main()
