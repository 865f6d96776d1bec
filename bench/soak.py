"""Soak: a long session with a tool call on every turn, against the local test server.

Usage: ``python bench/soak.py [--turns 500]``. One in-process :class:`ChatSession`
(real SDK, real HTTP to a :class:`ScriptedServer`, real SQLite log) sends N user
messages; the server answers each with a tool call, then with text, so every turn
is two requests and one tool run. Reported: peak memory (tracemalloc and maxrss)
and its growth per turn against the growth of the history itself, and the time
per turn for the first 50 and the last 50 turns. Goals: no growth beyond the
history (measured both as its JSON and as the Python objects it is); flat time per turn. The history is resent with every request, so the
request size grows linearly; the report estimates how much of any slow-down that
explains (the cost of encoding and sending the history, measured alone).
"""

from __future__ import annotations

import argparse
import gc
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

from chatfn.chat import ChatOptions, ChatSession
from chatfn.log.session import SessionLog
from chatfn.log.store import LogStore
from chatfn.settings.config import Config, Profile
from chatfn.testing import RecordedRequest, Response, ScriptedServer, text, tool_calls
from chatfn.tools.tool import make_tool
from chatfn.wire.endpoint import resolve_endpoint

WINDOW = 50


def lookup(city: str, day: int = 0) -> str:
    """Look up a made-up forecast.

    Args:
        city: The city.
        day: Days from today.
    """
    return json.dumps({"city": city, "day": day, "forecast": "sunny", "high": 21 + day % 7})


def answer(request: RecordedRequest) -> Response:
    """A tool call for a user message, text once the tool has answered."""
    last = request.messages[-1]
    if last["role"] == "tool":
        return text(f"It is {json.loads(last['content'])['forecast']} there, as usual for the season.")
    return tool_calls(("lookup", {"city": f"City {len(request.messages)}", "day": len(request.messages) % 5}))


def deep_size(value: object) -> int:
    """Bytes the history takes as Python objects (dicts, lists, strings, numbers), each object once.

    The history's JSON is a poor yardstick for memory: a short string costs about
    50 bytes more as a Python object, a dict a few hundred.
    """
    seen: set[int] = set()
    total = 0
    stack = [value]
    while stack:
        item = stack.pop()
        if id(item) in seen:
            continue
        seen.add(id(item))
        total += sys.getsizeof(item)
        if isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, (list, tuple)):
            stack.extend(item)
    return total


def maxrss_mb() -> float:
    scale = 1024 * 1024 if sys.platform == "darwin" else 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / scale


def serve(requests: int) -> None:
    """The test server in its own process, so its record of every request is not counted as ours."""
    with ScriptedServer() as server:
        server.script(*[answer] * requests)
        print(server.base_url, flush=True)
        sys.stdin.read()  # until the soak closes our stdin


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=500)
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        return serve(args.serve)
    turns = max(args.turns, 2 * WINDOW)
    server_process = subprocess.Popen(
        [sys.executable, __file__, "--serve", str(2 * (turns + WINDOW + 3))],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    assert server_process.stdout is not None and server_process.stdin is not None
    base_url = server_process.stdout.readline().strip()

    with tempfile.TemporaryDirectory() as folder:
        config = Config(profiles={"soak": Profile(base_url=base_url, model="soak-model", api_key="sk-soak")})
        endpoint = resolve_endpoint(config, profile="soak")
        store = LogStore.open(Path(folder) / "soak.db")
        session = ChatSession(
            endpoint,
            [make_tool(lookup)],
            ChatOptions(max_rounds=3, approve=lambda tool, arguments: True),
            log=SessionLog(store, endpoint),
        )
        run_turn = lambda n: [None for _ in session.send(f"Turn {n}: what is the weather?")]  # noqa: E731
        for n in range(3):  # warm up: SDK import, connection, first log writes
            run_turn(-n)
        gc.collect()
        base_rss = maxrss_mb()
        times: list[float] = []
        for n in range(turns):
            started = time.perf_counter()
            run_turn(n)
            times.append(time.perf_counter() - started)
        end_rss = maxrss_mb()
        # tracemalloc slows Python several-fold, so memory is traced over WINDOW extra, untimed turns.
        gc.collect()
        tracemalloc.start()
        base_traced = tracemalloc.get_traced_memory()[0]
        base_history = len(json.dumps(session.messages))
        base_objects = deep_size(session.messages)
        for n in range(WINDOW):
            run_turn(turns + n)
        gc.collect()
        retained, peak = (value - base_traced for value in tracemalloc.get_traced_memory())
        tracemalloc.stop()
        history_added = len(json.dumps(session.messages)) - base_history
        objects_added = deep_size(session.messages) - base_objects
        history_total = len(json.dumps(session.messages))

        # What resending the history costs on its own: encode the last request's messages.
        started = time.perf_counter()
        for _ in range(20):
            json.dumps(session.messages)
        encode_last = (time.perf_counter() - started) / 20
        first_request = len(json.dumps(session.messages[:12]))
        last_request = len(json.dumps(session.messages))
        store.close()
    server_process.stdin.close()
    server_process.wait(timeout=10)

    history_growth = history_added / WINDOW
    memory_growth = retained / WINDOW
    first, last = statistics.median(times[:WINDOW]), statistics.median(times[-WINDOW:])
    print(f"soak: {turns} turns, {len(session.messages)} messages, {2 * turns} requests, one tool call per turn")
    print(f"history (json) {history_total / 1e6:.2f} MB at the end; over the last {WINDOW} turns it grew "
          f"{history_growth:.0f} B/turn")
    objects_growth = objects_added / WINDOW
    print(f"traced memory over the last {WINDOW} turns: retained {memory_growth:.0f} B/turn "
          f"({memory_growth / history_growth:.2f}x the history's growth as JSON, "
          f"{memory_growth / objects_growth:.2f}x its growth as the Python objects it is, {objects_growth:.0f} B/turn); "
          f"peak {peak / 1e6:.2f} MB above the start")
    print(f"maxrss {base_rss:.1f} MB after warm-up -> {end_rss:.1f} MB after {turns} turns")
    print(f"time per turn (median): first {WINDOW} {first * 1000:.1f} ms, last {WINDOW} {last * 1000:.1f} ms "
          f"({last / first:.2f}x)")
    print(f"messages in a request: {first_request / 1e3:.1f} kB at the start -> {last_request / 1e3:.1f} kB at the end; "
          f"encoding the last history once takes {encode_last * 1000:.2f} ms (x2 requests per turn = "
          f"{2 * encode_last * 1000:.2f} ms of the {(last - first) * 1000:.1f} ms slow-down, "
          "plus sending, receiving, parsing it on the server)")


if __name__ == "__main__":
    main()
