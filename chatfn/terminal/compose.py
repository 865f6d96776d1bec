"""Composing one message at the ``User:`` prompt: pasted blocks, multi-line mode, $EDITOR.

The sample's rule stays: a line is a message, and an empty line or ``exit`` leaves.
Three ways to send more than one line:

- **Paste.** With bracketed paste turned on (``ESC[?2004h``) the terminal wraps a
  paste in ``ESC[200~`` … ``ESC[201~``. GNU readline reads those markers itself and
  returns the block, newlines and all, when Enter is pressed; without readline the
  markers arrive in the text and :func:`read_message` joins the lines between them.
  Either way a pasted block is one message, blank lines in it included.
- **Multi-line mode.** A line of ``\"\"\"`` opens it and another closes it; every line
  between, empty ones included, is part of the message (this is how to send a blank
  line). Ctrl-C drops the message being written.
- **/edit** opens ``$VISUAL`` or ``$EDITOR`` on a file; what it holds when the editor
  exits is the message.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TextIO

from chatfn.errors import HangUp, UsageError
from chatfn.output.console import is_terminal

PASTE_ON = "\x1b[?2004h"
PASTE_OFF = "\x1b[?2004l"
PASTE_START = "\x1b[200~"
PASTE_END = "\x1b[201~"
FENCE = '"""'
PROMPT = "User: "
MORE = "...   "


@dataclass(frozen=True)
class Composed:
    """What the user entered: a typed line (maybe a command or ``exit``), or a message that is only text."""

    text: str
    typed: bool
    """True for a single typed line, which may be a command or a way out; False for a paste or a block."""


_paste_stream: TextIO | None = None
"""Where bracketed paste was turned on, while it is on."""


@contextmanager
def bracketed_paste(out: TextIO | None = None) -> Iterator[None]:
    """Turn bracketed paste on for the session, and off again however it ends."""
    global _paste_stream
    stream = out or sys.stdout
    enabled = is_terminal(stream) and is_terminal(sys.stdin) and os.environ.get("TERM") != "dumb"
    if enabled:
        _switch(stream, PASTE_ON)
        _paste_stream = stream
    try:
        yield
    finally:
        if enabled:
            _paste_stream = None
            _switch(stream, PASTE_OFF)


def _switch(stream: TextIO, sequence: str) -> None:
    try:
        stream.write(sequence)
        stream.flush()
    except (OSError, ValueError):  # the terminal is gone
        pass


def read_message(read: Callable[[str], str]) -> Composed:
    """One message from ``read`` (``input``-like); EOFError and KeyboardInterrupt pass through."""
    line = read(PROMPT)
    if PASTE_START in line:
        return Composed(_read_paste(line, read), typed=False)
    if "\n" in line:  # readline read a bracketed paste itself
        return Composed(line, typed=False)
    if line.strip() == FENCE:
        try:
            return Composed(_read_block(read), typed=False)
        except HangUp:
            raise
        except KeyboardInterrupt:  # drop the message being written, not the session
            sys.stderr.write("\n")  # for the terminal's sake; stdout may be a --json stream
            return Composed("", typed=False)
    return Composed(line, typed=True)


def _read_paste(line: str, read: Callable[[str], str]) -> str:
    """Join the lines of a paste whose markers reached us (no readline to read them)."""
    lines = [line.replace(PASTE_START, "", 1)]
    while PASTE_END not in lines[-1]:
        lines.append(read(""))
    last = lines[-1]
    lines[-1] = last.replace(PASTE_END, "", 1)
    return "\n".join(lines)


def _read_block(read: Callable[[str], str]) -> str:
    """Lines up to a closing fence; empty lines belong to the message."""
    lines: list[str] = []
    while True:
        line = read(MORE)
        if line.strip() == FENCE:
            return "\n".join(lines)
        lines.append(line.replace(PASTE_START, "").replace(PASTE_END, ""))


def edit_message(initial: str = "") -> str:
    """Open ``$VISUAL``/``$EDITOR`` (else ``vi``) on a private file; return what it holds afterwards.

    UsageError when the editor cannot start or fails, so the session can say so in
    one line and carry on.
    """
    command = os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi"
    try:
        argv = shlex.split(command)
    except ValueError as error:
        raise UsageError(f"cannot read $EDITOR ({command!r}): {error}") from None
    handle, path = tempfile.mkstemp(prefix="chatfn-message-", suffix=".md")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(initial)
        paused = _paste_stream
        if paused is not None:  # the editor sets up the terminal its own way
            _switch(paused, PASTE_OFF)
        try:
            finished = subprocess.run([*argv, path], check=False)
        except OSError as error:
            raise UsageError(f"cannot start the editor {argv[0]!r}: {error.strerror or error}",
                             hint="set $EDITOR (or $VISUAL) to an editor that waits until you close the file") from None
        finally:
            if paused is not None:
                _switch(paused, PASTE_ON)
        if finished.returncode != 0:
            raise UsageError(f"the editor {argv[0]!r} exited with status {finished.returncode}; nothing sent")
        with open(path, encoding="utf-8", errors="replace") as file:
            return file.read()
    finally:
        try:
            os.unlink(path)
        except OSError:
            pass

