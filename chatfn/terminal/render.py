"""Show chat events: Markdown in a terminal, plain text when piped, or JSON lines.

The answer goes to stdout; reasoning, tool traces, notices and errors go to
stderr. Rendering Markdown while it streams costs per chunk only what the
paragraph being written costs: finished blocks are printed once and left alone.
"""

from __future__ import annotations

import json
import signal
import sys
import threading
import time
from contextlib import contextmanager
from dataclasses import asdict
from typing import Any, Iterator, TextIO

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


def tool_trace(event: ToolResultEvent, columns: int | None = None) -> str:
    """``⚙ name(args) → result (0.12 s)``: one compact line per tool call, cut to ``columns``."""
    from chatfn.output.fit import fit

    outcome = event.outcome
    arguments = visible(one_line(outcome.call.arguments or "", 60))
    result = visible(one_line(outcome.content, 80))
    mark = "✗" if not outcome.ok else "→"
    line = f"⚙ {visible(outcome.call.name)}({arguments}) {mark} {result}"
    return fit(line, columns, keep=f" ({outcome.duration:.2f} s)")


class PlainRenderer:
    """Plain text: the answer to stdout as it arrives, everything else to stderr."""

    machine_readable = False
    """True when stdout is for programs: nothing but this renderer may write there."""

    def __init__(self, out: TextIO | None = None, err: TextIO | None = None, *, quiet: bool = False) -> None:
        self.out = out or sys.stdout
        self.err = err or sys.stderr
        self.quiet = quiet
        self._at_line_start = True
        self._reasoning = False

    def begin_answer(self) -> None:
        """In a session: the ``Assistant:`` label the answer follows, as in the original sample."""
        self.out.write("\nAssistant: ")
        self.out.flush()

    def end_answer(self) -> None:
        """In a session: a blank line before the next prompt."""
        self.out.write("\n")
        self.out.flush()

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
                from chatfn.output.fit import columns_of

                line = tool_trace(event, columns_of(self.err))
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

    machine_readable = True

    def event(self, event: Event) -> None:
        self._write(event_json(event))

    def begin_answer(self) -> None:
        """Nothing: stdout carries only JSON lines."""

    def end_answer(self) -> None:
        """Nothing: stdout carries only JSON lines."""

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

    The final screen is what rich draws for the whole answer at once: finished blocks
    (text up to a blank line outside a code fence) are printed for good, one blank line
    apart, and only the open block is live. The live region starts at column 0 (the
    label stands on its own line) and is never taller than the screen, so rich always
    erases exactly what it drew; drawing defers Ctrl-C (:func:`deferred_interrupt`), so
    an interrupt never leaves half a region behind. An open code block taller than the
    screen prints its finished lines for good as they come, so its top stays in view
    instead of scrolling away.

    Per chunk the cost stays flat however long the answer: each line is scanned once
    for block ends, the live view renders at most a screenful, and refreshes are
    spaced by what the last one cost.
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
        self._fence_start = 0  # where in _block the open fence's line starts
        self._continued = False  # _block continues a code block whose top is printed: drop its top padding
        self._printed = False  # a block of this answer is printed: the next one may follow a blank line
        self._gap_after = True  # the last printed block wants a blank line after it
        self._ends_with_rule = False  # the last block drawn ends in a horizontal rule
        self._live: Any = None
        self._next_refresh = 0.0

    def begin_answer(self) -> None:
        """The label on a line of its own, so the live region below it starts at column 0."""
        self.out.write("\nAssistant:\n")
        self.out.flush()
        self._printed = False

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
            first = self._live is None
            self._refresh()
            # the first refresh pays for imports once: spacing later ones by it would leave text
            # unshown for seconds when the stream pauses
            spent = 0.0 if first else time.monotonic() - now
            self._next_refresh = now + spent + max(self.REFRESH_SECONDS, 4 * spent)

    def _flush_finished_blocks(self) -> None:
        """Print every finished block: text up to a blank line outside a code fence."""
        block = self._block
        while True:
            end = block.find("\n", self._scanned)
            if end < 0:
                break
            line = block[self._scanned : end]
            start, self._scanned = self._scanned, end + 1
            if line.lstrip().startswith(self.FENCES):
                self._fence = None if self._fence is not None else line
                self._fence_start = start
            elif self._fence is None and not line.strip():
                finished = block[:end]
                if finished.strip():
                    self._print_block(finished)
                block = block[end + 1 :]
                self._scanned = 0
        self._block = block
        if self._fence is not None:
            self._print_code_top()

    def _print_code_top(self) -> None:
        """Print an open code block's finished lines for good once they fill most of the screen."""
        budget = max(self._height() // 2, 2)
        body_start = self._block.find("\n", self._fence_start) + 1
        finished = self._block[body_start : self._scanned]
        if finished.count("\n") < budget:
            return
        fence = self._fence or "```"
        lines = self._render(self._block[: self._scanned] + fence.strip()[:3] + "\n")
        self._print_lines(lines[:-1])  # the rest of the block follows: not its bottom padding yet
        self._gap_after = True
        self._block = fence + "\n" + self._block[self._scanned :]
        self._fence_start = 0
        self._scanned = len(fence) + 1
        self._continued = True

    def _height(self) -> int:
        return max(self.console.size.height - 1, 4)

    def _render(self, text: str) -> list[Any]:
        """``text`` as rich draws it at the console's width, with the blank line rich would put before it.

        Drawn alone, a block lacks the blank line that separates it from the block
        before; rich puts one there unless the block before ends in a rule, and a
        block that opens with a list or quote already starts with it.
        """
        from chatfn.terminal.markdown import Markdown

        markdown = Markdown(text)
        lines = self.console.render_lines(markdown, self.console.options, pad=False)
        top_level = [token.type for token in markdown.parsed if token.level == 0]
        self._ends_with_rule = bool(top_level) and top_level[-1] == "hr"
        if self._continued:
            return lines[1:]  # the top padding of a code block whose top is printed
        if self._printed and self._gap_after and top_level and top_level[0] not in _OPENS_WITH_BLANK:
            lines = [[], *lines]
        return lines

    def _print_block(self, text: str) -> None:
        self._print_lines(self._render(text))
        self._gap_after = not self._ends_with_rule  # a rule brings its own blank line
        self._continued = False

    def _print_lines(self, lines: list[Any]) -> None:
        """Print drawn lines for good above the live region."""
        with deferred_interrupt():
            live = self._ensure_live()
            live.console.print(_Lines(lines))
            self._printed = True
            live.update(_Lines([]), refresh=True)

    def _ensure_live(self) -> Any:
        if self._live is None:
            from rich.live import Live

            self._live = Live(_Lines([]), console=self.console, auto_refresh=False, transient=True)
            self._live.start()
        return self._live

    def _refresh(self) -> None:
        """Show the open block's last screenful of drawn lines (a taller view could not be erased)."""
        height = self._height() - (1 if self._printed else 0)
        tail = self._block
        source_lines = tail.rsplit("\n", height)
        if len(source_lines) > height:  # rendering more than a screenful of source would be wasted
            tail_lines = source_lines[1:]
            if self._fence is not None:  # keep the tail rendered as code
                tail_lines = [self._fence, *tail_lines[1:]]
            tail = "\n".join(tail_lines)
        lines = self._render(tail) if tail.strip() else []
        with deferred_interrupt():
            self._ensure_live().update(_Lines(lines[-height:]), refresh=True)

    def finish(self) -> None:
        with deferred_interrupt():
            if self._live is not None:
                self._live.stop()
                self._live = None
            if self._block.strip():
                self.console.print(_Lines(self._render(self._block)))
                self._printed = True
                self._gap_after = not self._ends_with_rule
        self._block = ""
        self._scanned = self._fence_start = 0
        self._fence = None
        self._continued = False
        self._end_reasoning()


_OPENS_WITH_BLANK = ("bullet_list_open", "ordered_list_open", "blockquote_open")
"""Blocks rich draws with a blank line of their own at the top."""


class _Lines:
    """Lines rich has already drawn, printed as they are."""

    def __init__(self, lines: list[Any]) -> None:
        self.lines = lines

    def __rich_console__(self, console: Any, options: Any) -> Any:
        from rich.segment import Segment

        for line in self.lines:
            yield from line
            yield Segment.line()


@contextmanager
def deferred_interrupt() -> Iterator[None]:
    """Hold Ctrl-C while the terminal is being drawn on, and deliver it right after.

    A KeyboardInterrupt in the middle of rich's drawing leaves lines on the screen
    that rich no longer knows about; after the stop they would stay as duplicates.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    held: list[Any] = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: held.append(frame))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        if held and callable(previous):
            previous(signal.SIGINT, held[-1])


def make_renderer(*, json_lines: bool, quiet: bool, out: TextIO | None = None) -> PlainRenderer:
    """JSON lines when asked, Markdown in a terminal, plain text otherwise."""
    from chatfn.output.console import answer_stream, is_terminal

    stream = out or answer_stream()
    if json_lines:
        return JsonRenderer(stream, quiet=quiet)
    if is_terminal(stream):
        return MarkdownRenderer(stream, quiet=quiet)
    return PlainRenderer(stream, quiet=quiet)
