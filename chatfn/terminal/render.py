"""Show chat events: Markdown in a terminal, plain text when piped, or JSON lines.

The answer goes to stdout; reasoning, tool traces, notices and errors go to
stderr. Rendering Markdown while it streams costs per chunk only what the
paragraph being written costs: finished blocks are printed once and left alone.
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import asdict
from typing import Any, TextIO

from chatfn.chat import (
    Done,
    Event,
    Notice,
    ToolCallEvent,
    ToolResultEvent,
    Usage,
    UsageEvent,
)
from chatfn.errors import ChatfnError
from chatfn.events import Delta, Started
from chatfn.output.console import DIM, RED, YELLOW, one_line, style
from chatfn.output.sanitize import clean, json_safe, visible


def tool_trace(event: ToolResultEvent) -> str:
    """``⚙ name(args) → result (0.12 s)``: one compact line per tool call."""
    outcome = event.outcome
    arguments = visible(one_line(outcome.call.arguments or "", 60))
    result = visible(one_line(outcome.content, 80))
    mark = "✗" if not outcome.ok else "→"
    return f"⚙ {visible(outcome.call.name)}({arguments}) {mark} {result} ({outcome.duration:.2f} s)"


class PlainRenderer:
    """Plain text: the answer to stdout as it arrives, everything else to stderr."""

    def __init__(self, out: TextIO | None = None, err: TextIO | None = None, *, quiet: bool = False) -> None:
        self.out = out or sys.stdout
        self.err = err or sys.stderr
        self.quiet = quiet
        self._at_line_start = True
        self._reasoning = False

    def event(self, event: Event) -> None:
        """Show one event; text from the model is sanitised first, whatever renders it."""
        if type(event) is Delta:
            if event.kind == "text" or event.kind == "refusal":
                self._text(clean(event.text))
            elif not self.quiet:
                self._reasoning_text(clean(event.text))
        elif isinstance(event, ToolResultEvent):
            if not self.quiet:
                self._end_reasoning()
                line = tool_trace(event)
                self._status(style(line, RED) if not event.outcome.ok else style(line, DIM))
        elif isinstance(event, Notice):
            self._status(style(f"chatfn: {visible(event.message)}", YELLOW))
        elif isinstance(event, Done):
            self.finish()

    def _text(self, text: str) -> None:
        self._end_reasoning()
        self.out.write(text)
        self.out.flush()
        self._at_line_start = text.endswith("\n")

    def _reasoning_text(self, text: str) -> None:
        self._reasoning = True
        self.err.write(style(text, DIM, self.err))
        self.err.flush()

    def _end_reasoning(self) -> None:
        if self._reasoning:
            self._reasoning = False
            self.err.write("\n")

    def _status(self, line: str) -> None:
        self.err.write(line + "\n")
        self.err.flush()

    def finish(self) -> None:
        """End the answer on a line of its own."""
        self._end_reasoning()
        if not self._at_line_start:
            self.out.write("\n")
            self.out.flush()
            self._at_line_start = True

    def interrupted(self) -> None:
        """The user stopped the answer."""
        self.finish()
        self._status(style("chatfn: interrupted; what arrived is kept", YELLOW))

    def error(self, error: ChatfnError) -> None:
        """Show a failure as one line."""
        from chatfn.output.console import error_line

        self.finish()
        error_line(str(error), hint=error.hint)

    def usage(self, usage: Usage) -> None:
        """Token totals, when the server reported any."""
        if usage.responses:
            self._status(
                f"tokens: {usage.prompt_tokens} prompt + {usage.completion_tokens} completion"
                f" = {usage.total_tokens} ({usage.responses} responses)"
            )
        else:
            self._status("tokens: the server reported no usage")


class JsonRenderer(PlainRenderer):
    """One JSON object per line on stdout for every event, and nothing else there."""

    def event(self, event: Event) -> None:
        self._write(event_json(event))

    def finish(self) -> None:
        """Nothing to close: every event is a whole line."""

    def interrupted(self) -> None:
        self._write({"type": "interrupted"})

    def error(self, error: ChatfnError) -> None:
        super().error(error)
        self._write({"type": "error", "message": str(error), "hint": error.hint, "exit_code": error.exit_code})

    def _write(self, data: dict[str, Any]) -> None:
        self.out.write(json_safe(json.dumps(data, ensure_ascii=False)) + "\n")
        self.out.flush()


def event_json(event: Event) -> dict[str, Any]:
    """The ``--json`` form of one event."""
    if type(event) is Delta:
        return {"type": event.kind, "text": event.text}
    if isinstance(event, ToolCallEvent):
        call = event.call
        return {"type": "tool_call", "id": call.id, "name": call.name, "arguments": call.arguments}
    if isinstance(event, ToolResultEvent):
        o = event.outcome
        return {
            "type": "tool_result",
            "id": o.call.id,
            "name": o.call.name,
            "content": o.content,
            "ok": o.ok,
            "error": o.error,
            "duration": round(o.duration, 4),
            "truncated": o.truncated,
            "denied": o.denied,
        }
    if isinstance(event, UsageEvent):
        return {"type": "usage", **event.usage}
    if isinstance(event, Notice):
        return {"type": "notice", "message": event.message}
    if isinstance(event, Done):
        return {"type": "done", "finish_reason": event.finish_reason, "rounds": event.rounds}
    if isinstance(event, Started):
        return {"type": "start", "conversation_id": event.conversation_id, "model": event.model, "profile": event.profile}
    return {"type": getattr(event, "kind", "unknown"), **asdict(event)}  # type: ignore[call-overload]


class MarkdownRenderer(PlainRenderer):
    """Markdown for terminals: finished blocks printed once, the current one live.

    Per chunk the cost stays flat however long the answer: each line is scanned once
    for block ends, the live view renders at most a screenful (the tail of the open
    block), and refreshes are spaced by what the last one cost.
    """

    REFRESH_SECONDS = 0.08
    FENCES = ("```", "~~~")

    def __init__(
        self, out: TextIO | None = None, err: TextIO | None = None, *, quiet: bool = False, console: Any = None
    ) -> None:
        super().__init__(out, err, quiet=quiet)
        if console is None:
            from rich.console import Console

            console = Console(file=self.out, soft_wrap=False)
        self.console = console
        self._block = ""
        self._scanned = 0  # how much of _block has been scanned for block ends
        self._fence: str | None = None  # the open code fence's line, if the scan is inside one
        self._live: Any = None
        self._next_refresh = 0.0

    def event(self, event: Event) -> None:
        """Show one event; lines on stderr first settle the live view, so they cannot garble it."""
        if type(event) is not Delta and not isinstance(event, (UsageEvent, Done, Started)):
            self.finish()
        super().event(event)

    def _text(self, text: str) -> None:
        self._end_reasoning()
        self._block += text
        if "\n" in text:
            self._flush_finished_blocks()
        now = time.monotonic()
        if now >= self._next_refresh:
            self._refresh()
            spent = time.monotonic() - now
            self._next_refresh = now + spent + max(self.REFRESH_SECONDS, 4 * spent)

    def _flush_finished_blocks(self) -> None:
        """Print every finished block: text up to a blank line outside a code fence."""
        block = self._block
        while True:
            end = block.find("\n", self._scanned)
            if end < 0:
                break
            line = block[self._scanned : end]
            self._scanned = end + 1
            if line.lstrip().startswith(self.FENCES):
                self._fence = None if self._fence is not None else line
            elif self._fence is None and not line.strip():
                finished = block[:end]
                if finished.strip():
                    self._print_block(finished)
                block = block[end + 1 :]
                self._scanned = 0
        self._block = block

    def _print_block(self, text: str) -> None:
        from chatfn.terminal.markdown import Markdown

        live = self._ensure_live()
        live.console.print(Markdown(text))
        live.update(Markdown(""), refresh=True)

    def _ensure_live(self) -> Any:
        if self._live is None:
            from rich.live import Live

            from chatfn.terminal.markdown import Markdown

            self._live = Live(Markdown(""), console=self.console, auto_refresh=False, transient=True)
            self._live.start()
        return self._live

    def _refresh(self) -> None:
        """Show the open block's last screenful (a taller view would be cropped anyway)."""
        from chatfn.terminal.markdown import Markdown

        height = max(self.console.size.height - 2, 4)
        lines = self._block.rsplit("\n", height)
        shown = self._block
        if len(lines) > height:
            tail = lines[1:]
            if self._fence is not None:  # keep the tail rendered as code
                tail = [self._fence, *tail[1:]]
            shown = "\n".join(tail)
        self._ensure_live().update(Markdown(shown), refresh=True)

    def finish(self) -> None:
        if self._live is not None:
            self._live.stop()
            self._live = None
        if self._block.strip():
            from chatfn.terminal.markdown import Markdown

            self.console.print(Markdown(self._block))
        self._block = ""
        self._scanned = 0
        self._fence = None
        self._end_reasoning()


def make_renderer(*, json_lines: bool, quiet: bool, out: TextIO | None = None) -> PlainRenderer:
    """JSON lines when asked, Markdown in a terminal, plain text otherwise."""
    from chatfn.output.console import answer_stream, is_terminal

    stream = out or answer_stream()
    if json_lines:
        return JsonRenderer(stream, quiet=quiet)
    if is_terminal(stream):
        return MarkdownRenderer(stream, quiet=quiet)
    return PlainRenderer(stream, quiet=quiet)
