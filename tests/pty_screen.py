"""A real terminal for chatfn: a pty that is the process's controlling terminal, drawn by pyte.

What a person sees is what pyte's screen holds after it has interpreted every byte the
process wrote, the way a terminal emulator does: titles it was told to set, text
drawn while concealed (``ESC[8m``), and the replies a terminal types back into the
process's input when asked (``ESC[6n``), which this terminal really sends, as
xterm would. The process's stdin, stdout and stderr can each be the pty or be
redirected; the pty stays its controlling terminal (``/dev/tty``) either way.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import pty
import re
import select
import struct
import subprocess
import termios
import time
from collections.abc import Mapping
from typing import IO, Any

import pyte
from zygote import zygote


class WatchedScreen(pyte.Screen):
    """A pyte screen that also remembers what it was asked to hide and what it answered."""

    def __init__(self, columns: int, lines: int) -> None:
        super().__init__(columns, lines)
        self.concealed = False
        self.drawn_concealed = ""
        self.replies: list[str] = []
        self.reply_to: int | None = None

    def select_graphic_rendition(self, *attrs: int, **kwargs: Any) -> None:
        codes = set(attrs) or {0}
        if 8 in codes:
            self.concealed = True
        if codes & {0, 28}:
            self.concealed = False
        super().select_graphic_rendition(*attrs, **kwargs)

    def draw(self, data: str) -> None:
        if self.concealed:
            self.drawn_concealed += data
        super().draw(data)

    def write_process_input(self, data: str) -> None:
        self.replies.append(data)
        if self.reply_to is not None:
            os.write(self.reply_to, data.encode())


class PtyChatfn:
    """``python -m chatfn ARGS`` with a pty as its controlling terminal, forked from a warm interpreter (:mod:`zygote`)."""

    def __init__(
        self,
        *args: str,
        env: Mapping[str, str],
        stdin: int | IO[Any] | None = None,
        stdout: int | IO[Any] | None = None,
        stderr: int | IO[Any] | None = None,
        columns: int = 100,
        rows: int = 40,
    ) -> None:
        master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
        self.master = master
        self.raw = b""
        self.screen = WatchedScreen(columns, rows)
        self.screen.reply_to = master
        self._stream = pyte.ByteStream(self.screen)

        with contextlib.ExitStack() as opened:
            fds = [_descriptor(given, slave, opened) for given in (stdin, stdout, stderr)]
            self.process = zygote().spawn(
                args, env=env, stdin=fds[0], stdout=fds[1], stderr=fds[2], controlling_terminal=slave
            )
        os.close(slave)

    @property
    def display(self) -> str:
        """The screen's text, one line per row, trailing blanks removed."""
        return "\n".join(line.rstrip() for line in self.screen.display).rstrip()

    def _pump(self, timeout: float) -> bool:
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
        self._stream.feed(data)
        return True

    def wait_for(self, pattern: str, timeout: float = 30.0) -> str:
        """Read until the screen shows ``pattern`` (a regex); return the screen."""
        deadline = time.monotonic() + timeout
        while not re.search(pattern, self.display):
            if time.monotonic() > deadline or (not self._pump(0.1) and not re.search(pattern, self.display)):
                raise AssertionError(f"screen never showed {pattern!r}:\n{self.display}")
        return self.display

    def type(self, text: str) -> None:
        """Type at the keyboard."""
        os.write(self.master, text.encode())

    def wait(self, timeout: float = 30.0) -> int:
        """Drain the terminal until the process ends; its exit code."""
        deadline = time.monotonic() + timeout
        while self.process.poll() is None and time.monotonic() < deadline:
            self._pump(0.05)
        while self._pump(0.05) and select.select([self.master], [], [], 0)[0]:
            pass
        try:
            return self.process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            raise AssertionError(f"chatfn did not exit; screen:\n{self.display}") from None

    def close(self) -> None:
        """Kill the process if it still runs; release the pty."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        os.close(self.master)

    def __enter__(self) -> PtyChatfn:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _descriptor(given: int | IO[Any] | None, terminal: int, opened: contextlib.ExitStack) -> int:
    """The descriptor a ``Popen``-style ``stdin``/``stdout``/``stderr`` argument stands for (None: the pty)."""
    if given is None:
        return terminal
    if given == subprocess.DEVNULL:
        devnull = os.open(os.devnull, os.O_RDWR)
        opened.callback(os.close, devnull)
        return devnull
    if isinstance(given, int):
        return given
    return given.fileno()
