"""`chatfn chat` against the bare openai SDK, on the scripted local server (issue 3).

Usage: ``python bench/chat_bench.py [--quick]``. Starts a :class:`ScriptedServer` on
127.0.0.1 (no artificial delay), then measures, each with its comparison in the same run:

1. a one-shot chat with one tool round: ``chatfn chat -q`` vs a minimal bare-SDK script (goal <= 1.05x);
2. a 20,000-chunk answer, piped: ``chatfn chat -q --no-tools`` vs a bare SDK loop that only
   reads the chunks (goal <= 1.10x), end to end, from the request's arrival to exit, and
   the streaming loop alone inside each process;
3. 8 parallel tool calls that each sleep 0.5 s: the tool round's wall time, end to end
   (minus a round of tools that do not sleep) and in-process (goal < 0.8 s);
4. start-up: process start to the first request reaching the server;
5. Markdown rendering on a pretend terminal: mean µs per chunk over the first and the last
   2,000 chunks of a long mixed answer (goal: flat), of one long code block (fed for at most
   20 s, 5 with ``--quick``), and what one live refresh costs inside a 50- and an 800-line block.

Subprocess figures are medians of N runs (7, or 3 with ``--quick``), chatfn and the SDK
runs interleaved so load on a shared machine hits both alike.
"""

from __future__ import annotations

import argparse
import io
import os
import re
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from chatfn.testing import (
    DEFAULT_MODEL,
    RecordedRequest,
    Response,
    ScriptedServer,
    chatfn_environment,
    sse,
    text,
    tool_calls,
)

PROMPT = "What does the echo tool say?"
ANSWER = "The tool said hello."
LONG_CHUNKS = 20_000
PARALLEL_CALLS = 8

PLUGIN_SOURCE = '''
import time

import chatfn


def echo_text(text: str) -> str:
    """Return the text unchanged.

    Args:
        text: The text.
    """
    return text


def sleep_half() -> str:
    """Sleep half a second."""
    time.sleep(0.5)
    return "slept"


def no_sleep() -> str:
    """Return at once."""
    return "slept"


@chatfn.hookimpl
def register_tools(register):
    register(echo_text)
    register(sleep_half)
    register(no_sleep)
'''

# The minimal script a developer would write with the bare SDK: stream, assemble the tool
# call naively, call the function, send the result back, stream the answer.
BARE_TOOL_ROUND = '''
import json, sys, openai

def echo_text(text):
    return text

client = openai.OpenAI()
tools = [{"type": "function", "function": {"name": "echo_text", "description": "Return the text unchanged.",
          "parameters": {"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]}}}]
messages = [{"role": "system", "content": "You are a helpful AI assistant."}, {"role": "user", "content": sys.argv[2]}]
calls = {}
for chunk in client.chat.completions.create(model=sys.argv[1], messages=messages, tools=tools, stream=True,
                                            stream_options={"include_usage": True}):
    if not chunk.choices:
        continue
    for part in chunk.choices[0].delta.tool_calls or []:
        call = calls.setdefault(part.index, {"id": "", "name": "", "arguments": ""})
        call["id"] = part.id or call["id"]
        if part.function:
            call["name"] = part.function.name or call["name"]
            call["arguments"] += part.function.arguments or ""
messages.append({"role": "assistant", "content": None, "tool_calls": [
    {"id": c["id"], "type": "function", "function": {"name": c["name"], "arguments": c["arguments"]}}
    for c in calls.values()]})
for c in calls.values():
    result = echo_text(**json.loads(c["arguments"]))
    messages.append({"role": "tool", "tool_call_id": c["id"], "content": result})
for chunk in client.chat.completions.create(model=sys.argv[1], messages=messages, tools=tools, stream=True,
                                            stream_options={"include_usage": True}):
    if chunk.choices and chunk.choices[0].delta.content:
        sys.stdout.write(chunk.choices[0].delta.content)
        sys.stdout.flush()
print()
'''

# A bare SDK loop that only reads the chunks; prints the loop's own time on stderr.
BARE_READ_LOOP = '''
import sys, time, openai

client = openai.OpenAI()
started = time.perf_counter()
for chunk in client.chat.completions.create(model=sys.argv[1], messages=[{"role": "user", "content": "go"}],
                                            stream=True):
    pass
print(f"LOOP {time.perf_counter() - started:.6f}", file=sys.stderr)
'''

# chatfn's library doing what `chatfn chat -q --no-tools` does, timing the loop alone.
CHATFN_READ_LOOP = '''
import sys, time
from chatfn.chat import ChatOptions, ChatSession
from chatfn.settings.config import load_config
from chatfn.wire.endpoint import resolve_endpoint
from chatfn.terminal.render import PlainRenderer

session = ChatSession(resolve_endpoint(load_config()), [], ChatOptions())
renderer = PlainRenderer(sys.stdout, quiet=True)
session.client  # the SDK import and client, outside the timed loop as in the bare script
started = time.perf_counter()
for event in session.send("go"):
    renderer.event(event)
print(f"LOOP {time.perf_counter() - started:.6f}", file=sys.stderr)
'''


@dataclass
class Run:
    """One subprocess run: when it started and ended, and what the server saw meanwhile."""

    started: float
    ended: float
    stamps: list[float]
    stdout: str
    stderr: str

    @property
    def wall(self) -> float:
        return self.ended - self.started

    @property
    def to_first_request(self) -> float:
        return self.stamps[0] - self.started

    @property
    def request_to_exit(self) -> float:
        return self.ended - self.stamps[0]

    @property
    def loop(self) -> float:
        match = re.search(r"^LOOP ([0-9.]+)$", self.stderr, re.MULTILINE)
        if match is None:
            raise RuntimeError(f"no LOOP line in stderr: {self.stderr[-500:]}")
        return float(match.group(1))


@dataclass
class Bench:
    """The running server, the subprocess environment, and the rows of the result table."""

    server: ScriptedServer
    env: dict[str, str]
    runs: int
    rows: list[tuple[str, str, str, str, str]] = field(default_factory=list)
    stamps: list[float] = field(default_factory=list)

    def stamped(self, response: Response) -> Callable[[RecordedRequest], Response]:
        """A scripted reply that notes when its request arrived (same clock as Popen start)."""

        def reply(request: RecordedRequest) -> Response:
            self.stamps.append(time.perf_counter())
            return response

        return reply

    def run(self, command: Sequence[str], responses: Sequence[Response], check: Callable[[Run], None]) -> Run:
        """Script ``responses``, run ``command`` with piped stdout drained, and check what it did."""
        if self.server.pending:
            raise RuntimeError(f"{self.server.pending} scripted replies left over from the previous run")
        self.stamps = []
        self.server.script(*(self.stamped(response) for response in responses))
        started = time.perf_counter()
        process = subprocess.Popen(
            command, env=self.env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        out, err = process.communicate(timeout=120)
        ended = time.perf_counter()
        run = Run(started, ended, list(self.stamps), out.decode("utf-8", "replace"), err.decode("utf-8", "replace"))
        if process.returncode != 0 or len(run.stamps) != len(responses):
            raise RuntimeError(
                f"{' '.join(command[:6])}: exit {process.returncode}, {len(run.stamps)} requests\n{run.stderr[-2000:]}"
            )
        check(run)
        return run

    def interleaved(self, jobs: dict[str, Callable[[], Run]]) -> dict[str, list[Run]]:
        """One warm-up run of each job, then N rounds running each job once, in turn."""
        for job in jobs.values():
            job()
        results: dict[str, list[Run]] = {name: [] for name in jobs}
        for _ in range(self.runs):
            for name, job in jobs.items():
                results[name].append(job())
        return results

    def row(
        self, label: str, chatfn: float, other: float | None, goal: str = "", unit: str = "s", ratio: bool = True
    ) -> None:
        """A line of the table; the ratio is chatfn's figure over the baseline's."""
        shown = f"{chatfn / other:.2f}x" if other and ratio else ""
        self.rows.append((label, _fmt(chatfn, unit), _fmt(other, unit) if other is not None else "", shown, goal))


def _fmt(value: float, unit: str) -> str:
    if unit == "s":
        return f"{value:.3f} s"
    return f"{value:.1f} {unit}"


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


# --------------------------------------------------------------------------- 1 and 4


def chat_tool_round() -> list[Response]:
    return [tool_calls(("echo_text", {"text": "hello"})), text(ANSWER)]


def chat_tool_result(request: RecordedRequest) -> Any:
    """What the follow-up request carried as the tool's result."""
    message = request.messages[-1]
    return message.get("content") if message.get("role") == "tool" else message


def bench_tool_round(
    bench: Bench,
    *,
    responses: Callable[[], list[Response]] = chat_tool_round,
    tool_result: Callable[[RecordedRequest], Any] = chat_tool_result,
    bare: str = BARE_TOOL_ROUND,
    label: str = "1.",
    startup: bool = True,
) -> None:
    """One-shot chat with one tool round, and start-up to the first request (with tools loaded)."""
    python = sys.executable

    def expect_answer(run: Run) -> None:
        if run.stdout.strip() != ANSWER:
            raise RuntimeError(f"unexpected answer {run.stdout!r}")
        result = tool_result(bench.server.requests[-1])
        if result != "hello":
            raise RuntimeError(f"the tool result did not reach the server: {result!r}")

    results = bench.interleaved(
        {
            "chatfn": lambda: bench.run([python, "-m", "chatfn", "chat", "-q", PROMPT], responses(), expect_answer),
            "sdk": lambda: bench.run([python, "-c", bare, DEFAULT_MODEL, PROMPT], responses(), expect_answer),
        }
    )
    chatfn, sdk = results["chatfn"], results["sdk"]
    bench.row(
        f"{label} one-shot, one tool round (wall)",
        median([r.wall for r in chatfn]),
        median([r.wall for r in sdk]),
        "<= 1.05x",
    )
    if startup:
        bench.row(
            "4. start -> 1st request (tools loaded)",
            median([r.to_first_request for r in chatfn]),
            median([r.to_first_request for r in sdk]),
        )


# --------------------------------------------------------------------------- 2


def long_answer(chunks: int) -> tuple[Response, int]:
    """An answer of ``chunks`` one-word content deltas, built once and sent as is; and its length."""
    base = {"id": "chatcmpl-bench", "object": "chat.completion.chunk", "created": 1727346168, "model": DEFAULT_MODEL}

    def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        return {**base, "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]}

    words = [" word", " token", " chunk", " fast"]
    body = [chunk({"role": "assistant", "content": ""})]
    body += [chunk({"content": words[i % len(words)]}) for i in range(chunks)]
    body.append(chunk({}, "stop"))
    return sse(body), sum(len(words[i % len(words)]) for i in range(chunks))


def in_big_parts(response: Response, size: int = 65536) -> Response:
    """The same bytes sent in ``size``-byte writes (a fast network coalescing events)."""
    assert not callable(response.parts)
    body = b"".join(response.parts)
    return replace(response, parts=[body[i : i + size] for i in range(0, len(body), size)])


def bench_long_answer(
    bench: Bench,
    chunks: int,
    *,
    answer: Callable[[int], tuple[Response, int]] = long_answer,
    bare_loop: str = BARE_READ_LOOP,
    label: str = "2.",
    startup: bool = True,
) -> None:
    """A long answer piped: chatfn's CLI and library loop against a bare SDK loop."""
    python = sys.executable
    per_event, expected = answer(chunks)

    def expect_text(run: Run) -> None:
        if len(run.stdout.rstrip("\n")) != expected:
            raise RuntimeError(f"expected {expected} characters on stdout, got {len(run.stdout)}")

    def expect_nothing(run: Run) -> None:
        if run.stdout:
            raise RuntimeError(f"the bare loop printed {run.stdout[:200]!r}")

    def jobs(response: Response) -> dict[str, Callable[[], Run]]:
        return {
            "cli": lambda: bench.run(
                [python, "-m", "chatfn", "chat", "-q", "--no-tools", "go"], [response], expect_text
            ),
            "lib": lambda: bench.run([python, "-c", CHATFN_READ_LOOP], [response], expect_text),
            "sdk": lambda: bench.run([python, "-c", bare_loop, DEFAULT_MODEL], [response], expect_nothing),
        }

    for mode, response in (("one write per event", per_event), ("64 KiB writes", in_big_parts(per_event))):
        results = bench.interleaved(jobs(response))
        cli, lib, sdk = results["cli"], results["lib"], results["sdk"]
        goal = "<= 1.10x"
        wall = median([r.wall for r in cli]), median([r.wall for r in sdk])
        bench.row(f"{label} {chunks:,} chunks, {mode}: wall", *wall, goal)
        bench.row(
            "   request arrives -> process exit",
            median([r.request_to_exit for r in cli]),
            median([r.request_to_exit for r in sdk]),
            goal,
        )
        loop = median([r.loop for r in lib]), median([r.loop for r in sdk])
        bench.row("   streaming loop in-process (library)", *loop, goal)
        if mode == "one write per event" and startup:
            bench.row(
                "4. start -> 1st request (--no-tools)",
                median([r.to_first_request for r in cli]),
                median([r.to_first_request for r in sdk]),
            )


# --------------------------------------------------------------------------- 3


def bench_parallel_tools(bench: Bench) -> None:
    """8 calls of a tool that sleeps 0.5 s: the round end to end, and run_tool_calls in-process."""
    python = sys.executable

    def checker(content: str) -> Callable[[Run], None]:
        def check(run: Run) -> None:
            answers = [m for m in bench.server.requests[-1].messages if m.get("role") == "tool"]
            if len(answers) != PARALLEL_CALLS or any(m.get("content") != content for m in answers):
                raise RuntimeError(f"unexpected tool results: {answers!r}")

        return check

    def job(tool: str) -> Callable[[], Run]:
        return lambda: bench.run(
            [python, "-m", "chatfn", "chat", "-q", "sleep"],
            [tool_calls(*[(tool, {})] * PARALLEL_CALLS), text("Done.")],
            checker("slept"),
        )

    results = bench.interleaved({"sleep": job("sleep_half"), "none": job("no_sleep")})
    sleep, none = results["sleep"], results["none"]
    goal = "< 0.800 s"
    bench.row(
        f"3. {PARALLEL_CALLS} x sleep 0.5 s: e2e wall minus no-sleep",
        median([r.wall for r in sleep]) - median([r.wall for r in none]),
        None,
        goal,
    )
    gap = [r.stamps[1] - r.stamps[0] for r in sleep]
    gap_none = [r.stamps[1] - r.stamps[0] for r in none]
    bench.row("   request 1 -> request 2 (baseline: no-sleep)", median(gap), median(gap_none), ratio=False)
    bench.row("   request 1 -> request 2, minus no-sleep", median(gap) - median(gap_none), None, goal)
    bench.row("   run_tool_calls in-process", median(in_process_round(bench.runs)), None, goal)


def in_process_round(runs: int) -> list[float]:
    """Wall times of ``run_tool_calls`` over 8 sleeping calls, in this process."""
    from chatfn.events import ToolCall
    from chatfn.settings.config import ToolSettings
    from chatfn.tools.run import run_tool_calls
    from chatfn.tools.tool import make_tool

    def sleep_half() -> str:
        """Sleep half a second."""
        time.sleep(0.5)
        return "slept"

    tool = make_tool(sleep_half)
    calls = [ToolCall(f"call_{i}", "sleep_half", "{}") for i in range(PARALLEL_CALLS)]
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        outcomes = run_tool_calls(calls, {tool.name: tool}, ToolSettings(), approve=lambda tool, arguments: True)
        times.append(time.perf_counter() - started)
        if not all(outcome.ok and outcome.content == "slept" for outcome in outcomes):
            raise RuntimeError(f"run_tool_calls failed: {outcomes!r}")
    return times


# --------------------------------------------------------------------------- 5


class TerminalBuffer(io.StringIO):
    """A StringIO that says it is a terminal, so rich renders (and Live refreshes) as on a tty."""

    def isatty(self) -> bool:
        return True


MARKDOWN_SECTION = """\
## Section {n}

This paragraph explains step {n} with **bold words**, some *emphasis* and `inline code`, \
and it goes on for a while so that it wraps across several lines of the terminal as a real \
answer does when the model is being thorough about the details.

- first item of list {n} with a [link](https://example.com/{n})
- second item, a little longer than the first one
- third item

```python
def step_{n}(values):
    total = 0
    for value in values:
        total += value * {n}
    return total
```

"""


def markdown_deltas(count: int) -> list[str]:
    """``count`` deltas of Markdown: words with their leading whitespace, as tokens arrive."""
    deltas: list[str] = []
    n = 0
    while len(deltas) < count:
        n += 1
        deltas += re.findall(r"\s*\S+|\s+", MARKDOWN_SECTION.format(n=n))
    return deltas[:count]


CODE_LINE = "    total += compute(value, index) * factor  # accumulate\n"


def code_block_deltas(count: int) -> list[str]:
    """``count`` deltas of one long fenced code block (a model writing a whole file)."""
    lines = count // 8 + 1  # a line is about 8 deltas
    return re.findall(r"\s*\S+|\s+", "Here is the file:\n\n```python\n" + CODE_LINE * lines + "```\n")[:count]


def feed(
    deltas: Sequence[str], *, refresh: float | None = None, budget: float | None = None
) -> tuple[list[float], str]:
    """CPU seconds per delta through a MarkdownRenderer on a pretend terminal, and what it wrote.

    ``refresh`` overrides the live view's refresh interval; feeding stops after ``budget`` s.
    """
    from chatfn.events import Delta
    from chatfn.terminal.render import MarkdownRenderer

    out = TerminalBuffer()
    renderer = MarkdownRenderer(out, io.StringIO(), quiet=True)
    if not renderer.console.is_terminal:
        raise RuntimeError("rich does not take the buffer for a terminal")
    if refresh is not None:
        renderer.REFRESH_SECONDS = refresh  # type: ignore[misc]
    costs: list[float] = []
    # CPU time, not wall time: on a shared machine a chunk that waited for a core would
    # count another process's work as the renderer's, and the windows compared are seconds apart.
    clock = time.thread_time
    began = time.perf_counter()
    for piece in deltas:
        started = clock()
        renderer.event(Delta("text", piece))
        costs.append(clock() - started)
        if budget is not None and time.perf_counter() - began > budget:
            break
    renderer.finish()
    return costs, out.getvalue()


def bench_markdown(bench: Bench, count: int, window: int, budget: float) -> None:
    """Mean cost per chunk of MarkdownRenderer, early vs late in a long answer."""
    if os.environ.get("TERM", "dumb").lower() in ("", "dumb", "unknown"):
        os.environ["TERM"] = "xterm-256color"  # rich skips Live refreshes on dumb terminals
    deltas = markdown_deltas(count)
    feed(deltas[:500])  # imports and parser set-up, outside the figures
    for label, refresh in (("throttled refresh (as shipped)", None), ("refresh on every chunk", 0.0)):
        costs, shown = feed(deltas, refresh=refresh)
        if "step_1" not in shown or "Section" not in shown:
            raise RuntimeError("the Markdown renderer wrote nothing recognisable")
        first = statistics.mean(costs[:window]) * 1e6
        last = statistics.mean(costs[-window:]) * 1e6
        bench.row(f"5. Markdown µs/chunk, last vs first {window:,}, {label}", last, first, "flat", unit="µs")

    costs, shown = feed(code_block_deltas(count), budget=budget)
    done = f"all {len(costs):,}" if len(costs) == count else f"stopped at {len(costs):,} after {budget:g} s"
    first = statistics.mean(costs[:window]) * 1e6
    last = statistics.mean(costs[-window:]) * 1e6
    bench.row(f"   one code block, {count:,} deltas ({done}), as shipped", last, first, "flat", unit="µs")
    small, large = refresh_cost(50), refresh_cost(800)
    label = "   one chunk, refreshed, in an open code block: 800 vs 50 lines"
    bench.row(label, large * 1e3, small * 1e3, "flat", unit="ms")


def refresh_cost(lines: int) -> float:
    """Seconds one chunk costs when the live view refreshes while a ``lines``-line code block is open."""
    from chatfn.events import Delta
    from chatfn.terminal.render import MarkdownRenderer

    renderer = MarkdownRenderer(TerminalBuffer(), io.StringIO(), quiet=True)
    renderer.REFRESH_SECONDS = 0.0  # type: ignore[misc]
    renderer.event(Delta("text", "```python\n" + CODE_LINE * lines))
    started = time.perf_counter()
    renderer.event(Delta("text", "    x"))
    cost = time.perf_counter() - started
    renderer.finish()
    return cost


# --------------------------------------------------------------------------- main


def make_plugin(directory: Path) -> Path:
    """The bench's tool plugin as an installed distribution would look (found via PYTHONPATH)."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "chatfn_bench_tools.py").write_text(textwrap.dedent(PLUGIN_SOURCE), encoding="utf-8")
    info = directory / "chatfn_bench_tools-1.0.dist-info"
    info.mkdir(exist_ok=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: chatfn-bench-tools\nVersion: 1.0\n", encoding="utf-8")
    (info / "entry_points.txt").write_text("[chatfn]\nbenchtools = chatfn_bench_tools\n", encoding="utf-8")
    (info / "RECORD").write_text("", encoding="utf-8")
    return directory


def print_table(rows: list[tuple[str, str, str, str, str]]) -> None:
    header = ("measure (baseline: the bare SDK unless said)", "chatfn", "baseline", "ratio", "goal")
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(5)]
    for row in [header, *rows]:
        print("  ".join(cell.ljust(widths[i]) if i == 0 else cell.rjust(widths[i]) for i, cell in enumerate(row)))


Steps = Callable[["Bench", argparse.Namespace], Sequence[tuple[str, Callable[[], None]]]]


def chat_steps(bench: Bench, options: argparse.Namespace) -> list[tuple[str, Callable[[], None]]]:
    return [
        ("tool round", lambda: bench_tool_round(bench)),
        ("long answer", lambda: bench_long_answer(bench, LONG_CHUNKS)),
        ("parallel tools", lambda: bench_parallel_tools(bench)),
        ("markdown", lambda: bench_markdown(bench, LONG_CHUNKS, 2_000, 5.0 if options.quick else 20.0)),
    ]


def main(steps: Steps = chat_steps, *, config: str = "", description: str = __doc__) -> None:
    """Run ``steps`` against a fresh scripted server (``{base_url}`` in ``config`` is its address)."""
    parser = argparse.ArgumentParser(description=description.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 runs of each instead of 7.")
    parser.add_argument("--only", action="append", metavar="STEP", help="Run only this step (repeatable), e.g. 'tool round'.")
    options = parser.parse_args()
    runs = 3 if options.quick else 7
    load = os.getloadavg()
    print(
        f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}, {os.cpu_count()} CPUs, "
        f"Python {sys.version.split()[0]}, median of {runs} runs (+1 warm-up)",
        flush=True,
    )
    with ScriptedServer() as server, tempfile.TemporaryDirectory() as scratch:
        env = chatfn_environment(server, Path(scratch) / "env")
        # As after `pip install`, which compiles bytecode: with PYTHONDONTWRITEBYTECODE set,
        # chatfn's editable source would be compiled again on every run, and the SDK's not.
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        if config:
            Path(env["CHATFN_CONFIG"]).write_text(config.replace("{base_url}", server.base_url), encoding="utf-8")
        plugin = make_plugin(Path(scratch) / "plugin")
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(plugin), env.get("PYTHONPATH")]))
        env["CHATFN_LOAD_PLUGINS"] = "benchtools"
        bench = Bench(server, env, runs)
        for name, step in steps(bench, options):
            if options.only and name not in options.only:
                continue
            started = time.perf_counter()
            step()
            print(f"  ({name}: {time.perf_counter() - started:.0f} s)", file=sys.stderr, flush=True)
    print_table(bench.rows)
    load = os.getloadavg()
    print(f"load average at the end {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")


if __name__ == "__main__":
    main()
