""":class:`pty_screen.PtyChatfn` with scrollback: the whole history a person can scroll back to.

An answer taller than the terminal scrolls its top off the screen; comparing what a
person sees then needs the lines above the screen too. :class:`Screen` draws with
pyte's ``HistoryScreen`` and gives back everything, scrollback and screen, as plain
lines (trailing spaces and trailing empty lines dropped).
"""

from __future__ import annotations

import os
import re
import signal
import time
from collections.abc import Mapping

import pyte
from pty_screen import PtyChatfn


class Screen(PtyChatfn):
    """chatfn in a pty of ``columns`` x ``rows``, drawn by pyte with scrollback."""

    def __init__(self, *args: str, env: Mapping[str, str], columns: int = 80, rows: int = 24) -> None:
        super().__init__(*args, env={**env, "TERM": "xterm-256color"}, columns=columns, rows=rows)
        # nothing has been read yet: output waits in the pty until the first _pump
        self.screen = pyte.HistoryScreen(columns, rows, history=5000)
        self.screen.set_mode(pyte.modes.LNM)  # a bare \n also returns the carriage, as the tty's onlcr does
        self._stream = pyte.ByteStream(self.screen)
        self.columns = columns

    def text(self) -> str:
        """Everything a person can see or scroll back to, as plain lines."""
        lines = ["".join(row[column].data for column in range(self.columns)).rstrip() for row in self.screen.history.top]
        lines += [line.rstrip() for line in self.screen.display]
        while lines and not lines[-1]:
            lines.pop()
        return "\n".join(lines)

    def wait_for(self, pattern: str, timeout: float = 20.0) -> str:
        """Read until the text (scrollback included) matches ``pattern`` (multi-line); return it."""
        deadline = time.monotonic() + timeout
        while not re.search(pattern, self.text(), re.M):
            if time.monotonic() > deadline or (not self._pump(0.05) and not re.search(pattern, self.text(), re.M)):
                raise AssertionError(f"never saw {pattern!r}; screen:\n{self.text()}")
        return self.text()

    def settle(self, quiet: float = 0.3, timeout: float = 10.0) -> str:
        """Read until nothing arrives for ``quiet`` seconds; return the text."""
        deadline = time.monotonic() + timeout
        last = time.monotonic()
        while time.monotonic() < deadline and time.monotonic() - last < quiet:
            before = len(self.raw)
            if not self._pump(0.05):
                break
            if len(self.raw) != before:
                last = time.monotonic()
        return self.text()

    def interrupt(self) -> None:
        """Ctrl-C: SIGINT to the process group, as the terminal sends it."""
        os.killpg(self.process.pid, signal.SIGINT)
