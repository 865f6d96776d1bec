"""A real pseudo-terminal whose screen is emulated by pyte, for comparing whole screens.

:class:`Screen` runs chatfn with stdin, stdout and stderr on one pty of a fixed size,
feeds everything it writes to a pyte screen with scrollback, and gives back the text
a person would see: the whole history (scrollback and screen), trailing spaces
dropped, trailing empty lines dropped.
"""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import signal
import struct
import subprocess
import sys
import termios
import time
from collections.abc import Mapping

import pyte


class Screen:
    """chatfn in a pty of ``columns`` x ``rows``, its output drawn by pyte."""

    def __init__(self, *args: str, env: Mapping[str, str], columns: int = 80, rows: int = 24) -> None:
        self.columns, self.rows = columns, rows
        self.screen = pyte.HistoryScreen(columns, rows, history=5000)
        self.screen.set_mode(pyte.modes.LNM)  # a bare \n also returns the carriage, as the tty's onlcr does
        self.stream = pyte.ByteStream(self.screen)
        master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
        self.master = master
        self.raw = b""
        self.process = subprocess.Popen(
            [sys.executable, "-m", "chatfn", *args],
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env={**env, "TERM": "xterm-256color"},
            start_new_session=True,
        )
        os.close(slave)

    # -- reading ------------------------------------------------------------------

    def _pump(self, timeout: float) -> bool:
        """Feed what arrives within ``timeout``; False once the terminal is closed."""
        ready, _, _ = select.select([self.master], [], [], timeout)
        if not ready:
            return True
        try:
            data = os.read(self.master, 65536)
        except OSError:
            return False
        if not data:
            return False
        self.raw += data
        self.stream.feed(data)
        return True

    def text(self) -> str:
        """Everything a person can see or scroll back to, as plain lines."""
        lines = [self._row(row) for row in self.screen.history.top]
        lines += [line.rstrip() for line in self.screen.display]
        while lines and not lines[-1]:
            lines.pop()
        return "\n".join(lines)

    def _row(self, row: Mapping[int, pyte.screens.Char]) -> str:
        return "".join(row[column].data for column in range(self.columns)).rstrip()

    def wait_for(self, pattern: str, timeout: float = 20.0) -> str:
        """Read until the visible text matches ``pattern``; return that text."""
        deadline = time.monotonic() + timeout
        while not re.search(pattern, self.text(), re.M):
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {pattern!r}; screen:\n{self.text()}")
            if not self._pump(0.05):
                if re.search(pattern, self.text(), re.M):
                    break
                raise AssertionError(f"terminal closed before {pattern!r}; screen:\n{self.text()}")
        return self.text()

    def settle(self, quiet: float = 0.3, timeout: float = 10.0) -> str:
        """Read until nothing arrives for ``quiet`` seconds; return the text."""
        deadline = time.monotonic() + timeout
        last = time.monotonic()
        while time.monotonic() < deadline and time.monotonic() - last < quiet:
            before = self.screen.history.top, self.text()
            if not self._pump(0.05):
                break
            if self.text() != before[1]:
                last = time.monotonic()
        return self.text()

    # -- typing -------------------------------------------------------------------

    def type(self, text: str) -> None:
        """Type ``text`` (a line ends with \\r, as the Enter key sends)."""
        os.write(self.master, text.encode())

    def interrupt(self) -> None:
        """Ctrl-C: SIGINT to the process group, as the terminal sends it."""
        os.killpg(self.process.pid, signal.SIGINT)

    def wait(self, timeout: float = 20.0) -> int:
        """Drain output until the process ends; its exit code."""
        deadline = time.monotonic() + timeout
        while self.process.poll() is None and time.monotonic() < deadline:
            self._pump(0.05)
        while self._pump(0.05) and self.process.poll() is not None:
            break
        self.settle(0.1, 2.0)
        try:
            return self.process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            raise AssertionError(f"chatfn did not exit; screen:\n{self.text()}") from None

    def close(self) -> None:
        """Kill the process if it still runs and release the terminal."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        os.close(self.master)
