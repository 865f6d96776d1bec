"""Run chatfn in a real pseudo-terminal, type into it, and read the screen's text."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import signal
import struct
import subprocess
import termios
import time
from collections.abc import Mapping

from zygote import zygote

ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07]*\x07|\x1b[=>()][0-9A-Za-z]?|\r")


def plain(text: str) -> str:
    """``text`` without terminal control sequences or carriage returns."""
    return ANSI.sub("", text)


class Terminal:
    """A chatfn process whose stdin, stdout and stderr are one pseudo-terminal, its controlling terminal.

    The process is forked from a warm interpreter (:mod:`zygote`): real in all a
    terminal shows, without a second of imports each time.
    """

    def __init__(self, *args: str, env: Mapping[str, str], columns: int = 100, rows: int = 40) -> None:
        master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
        self.master = master
        self.process = zygote().spawn(
            args, env=env, stdin=slave, stdout=slave, stderr=slave, controlling_terminal=slave
        )
        os.close(slave)
        self.output = ""

    def read_until(self, pattern: str, timeout: float = 20.0) -> str:
        """Read until the plain text seen so far matches ``pattern`` (a regex); return it."""
        deadline = time.monotonic() + timeout
        while True:
            if re.search(pattern, plain(self.output)):
                return plain(self.output)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"timed out waiting for {pattern!r}; screen so far:\n{plain(self.output)}")
            ready, _, _ = select.select([self.master], [], [], min(remaining, 0.2))
            if ready:
                try:
                    data = os.read(self.master, 65536)
                except OSError:  # the process closed the terminal
                    data = b""
                if not data:
                    if re.search(pattern, plain(self.output)):
                        return plain(self.output)
                    raise AssertionError(f"terminal closed before {pattern!r}; screen:\n{plain(self.output)}")
                self.output += data.decode("utf-8", "replace")

    def type(self, text: str) -> None:
        """Type ``text`` (end lines with \\n)."""
        os.write(self.master, text.encode())

    def interrupt(self) -> None:
        """Press Ctrl-C: SIGINT to the process, as the terminal would send it."""
        self.process.send_signal(signal.SIGINT)

    def interrupt_until(self, pattern: str, timeout: float = 20.0) -> str:
        """Press Ctrl-C at a prompt and read until ``pattern``, pressing it once more if it fell into the gap.

        A SIGINT that lands between readline drawing its prompt and waiting for input is
        only noticed at the next event (a CPython readline race), as a person would see
        when a first Ctrl-C seems to do nothing. Two SIGINTs pending at once are one
        KeyboardInterrupt, so the second press cannot count twice.
        """
        self.interrupt()
        try:
            return self.read_until(pattern, timeout=3.0)
        except AssertionError:
            self.interrupt()
            return self.read_until(pattern, timeout=timeout)

    def exited_within(self, seconds: float) -> bool:
        """Drain output for up to ``seconds``; True once the process has ended."""
        deadline = time.monotonic() + seconds
        while self.process.poll() is None and time.monotonic() < deadline:
            ready, _, _ = select.select([self.master], [], [], 0.05)
            if ready:
                try:
                    self.output += os.read(self.master, 65536).decode("utf-8", "replace")
                except OSError:
                    break
        return self.process.poll() is not None

    def wait(self, timeout: float = 20.0) -> int:
        """Wait for the process to end, draining its output; return its exit code."""
        deadline = time.monotonic() + timeout
        self.exited_within(timeout)
        try:
            return self.process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            raise AssertionError(f"chatfn did not exit; screen:\n{plain(self.output)}") from None

    def close(self) -> None:
        """Kill the process if it still runs and release the terminal."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        os.close(self.master)
