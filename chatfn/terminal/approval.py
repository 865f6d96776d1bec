"""Asking the user before a tool call that the policy says must be asked.

The question goes to the controlling terminal (``/dev/tty``), never to stdin and
stderr: redirected streams must neither hide it (``2>log``) nor answer it (piped
text). It starts on a fresh line after a full attribute reset, so nothing the model
wrote before (``ESC[8m``, a half-drawn line) can hide or dress it; it names the tool
and its plugin, shows the arguments with every long value shortened in the middle,
says why it asks, and ``[v]iew`` shows the whole call through a pager. Without a
controlling terminal nobody can answer, so the call is denied unless ``-y`` was
given; the denial, with its reason, goes back to the model as the call's result.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
from collections.abc import Callable
from typing import Any

from chatfn.output.console import warning
from chatfn.output.sanitize import visible
from chatfn.settings.config import ToolSettings
from chatfn.tools.policy import Denied, Exposure, approval_scope, decide
from chatfn.tools.tool import Tool

KEEP = 60
"""Characters kept at each end of a long value; the middle is replaced by a count."""
MAX_CALL_CHARS = 1200
"""The whole call, as shown in the prompt, is shortened in the middle past this."""
RESET = "\x1b[0m"
CHOICES = "please answer y (run it), n (do not run it), a (run it and stop asking, as said) or v (view the whole call)"


def shorten(text: str, keep: int = KEEP) -> str:
    """``text`` with its middle replaced by ``… N characters hidden …`` when it is long."""
    if len(text) <= 2 * keep + 40:
        return text
    return f"{text[:keep]} … {len(text) - 2 * keep:,} characters hidden … {text[-keep:]}"


def _shown_value(value: Any) -> str:
    if isinstance(value, str):
        if len(value) <= 2 * KEEP + 40:
            return json.dumps(value, ensure_ascii=False)
        head, tail = json.dumps(value[:KEEP], ensure_ascii=False), json.dumps(value[-KEEP:], ensure_ascii=False)
        return f"{head[:-1]} … {len(value) - 2 * KEEP:,} characters hidden … {tail[1:]}"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_shown_value(str(k))}: {_shown_value(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_shown_value(item) for item in value) + "]"
    return json.dumps(value)


def shown_call(tool: Tool, arguments: dict[str, Any]) -> str:
    """``name(key="value", ...)`` with long values shortened and every control character visible."""
    shown = ", ".join(f"{visible(shorten(str(key), 40))}={_shown_value(value)}" for key, value in arguments.items())
    return visible(f"{tool.name}({shorten(shown, MAX_CALL_CHARS // 2)})")


def whole_call(tool: Tool, arguments: dict[str, Any], reason: str) -> str:
    """The call in full, for ``[v]iew``: nothing shortened, control characters visible."""
    origin = f"plugin {tool.plugin}" + (f" ({tool.distribution})" if tool.distribution else "")
    body = json.dumps(arguments, indent=2, ensure_ascii=False)
    return visible(f"{tool.name} from {origin}\nasking because {reason}\n\narguments:\n{body}\n")


class Terminal:
    """The controlling terminal, opened for one question and closed after it."""

    def __init__(self, read_fd: int, write_fd: int | None = None) -> None:
        self.read_fd = read_fd
        self.write_fd = read_fd if write_fd is None else write_fd

    @classmethod
    def open(cls) -> Terminal | None:
        """``/dev/tty`` (the console on Windows), or None when the process has none."""
        try:
            if os.name == "nt":
                return cls(os.open("CONIN$", os.O_RDWR), os.open("CONOUT$", os.O_RDWR))
            return cls(os.open("/dev/tty", os.O_RDWR | os.O_NOCTTY))
        except OSError:
            return None

    def write(self, text: str) -> None:
        data = text.replace("\r\n", "\n").replace("\n", "\r\n").encode("utf-8", "replace")
        while data:
            data = data[os.write(self.write_fd, data) :]

    def read_line(self) -> str:
        """One line typed at the terminal; EOFError on Ctrl-D."""
        data = b""
        while not data.endswith(b"\n"):
            piece = os.read(self.read_fd, 1024)
            if not piece:
                if data:
                    break
                raise EOFError
            data += piece
        return data.decode("utf-8", "replace")

    def page(self, text: str) -> None:
        """Show ``text`` through ``$PAGER`` (default ``less``) on this terminal, or plainly."""
        command = shlex.split(os.environ.get("PAGER") or ("more" if os.name == "nt" else "less"))
        try:
            subprocess.run(
                command, input=text.encode("utf-8", "replace"), stdout=self.write_fd, stderr=self.write_fd, check=False
            )
        except (OSError, ValueError):
            self.write(text + "\n")

    def close(self) -> None:
        os.close(self.read_fd)
        if self.write_fd != self.read_fd:
            os.close(self.write_fd)


class Approver:
    """The ``approve(tool, arguments)`` callback of one chat session: the policy, then the question."""

    def __init__(
        self,
        settings: ToolSettings,
        *,
        approve_all: bool,
        exposure: Exposure | None = None,
        terminal: Callable[[], Terminal | None] = Terminal.open,
    ) -> None:
        self.settings = settings
        self.approve_all = approve_all
        self.exposure = exposure if exposure is not None else Exposure()
        self.always: set[tuple[str, str | None]] = set()
        self._terminal = terminal

    def __call__(self, tool: Tool, arguments: dict[str, Any]) -> bool | Denied:
        decision = decide(tool, arguments, self.settings, self.exposure)
        if not decision.ask or self.approve_all:
            return True
        scope = approval_scope(tool, arguments)
        if (tool.name, scope) in self.always:
            return True
        terminal = self._terminal()
        if terminal is None:
            warning(f"denied {tool.name}: {decision.reason}; there is no terminal to ask (use -y/--approve, or [tools] settings)")
            return Denied(f"not run: denied because {decision.reason}, and there was no terminal to ask the user")
        try:
            return self._ask(terminal, tool, arguments, decision.reason, scope)
        finally:
            terminal.close()

    def _ask(self, terminal: Terminal, tool: Tool, arguments: dict[str, Any], reason: str, scope: str | None) -> bool | Denied:
        covers = (
            f"every {tool.name} call"
            if scope is None
            else f"{tool.name} with exactly {visible(json.dumps(shorten(scope, 24), ensure_ascii=False))}"
        )
        origin = "chatfn" if tool.plugin == "builtin" else f"plugin {visible(tool.plugin)}"
        terminal.write(
            f"{RESET}\n"
            f"chatfn asks: run {visible(tool.name)} from {origin}?\n"
            f"  {shown_call(tool, arguments)}\n"
            f"  asking because {visible(reason)}\n"
        )
        question = f"{RESET}[y]es / [n]o / [a]lways: {covers}, this session / [v]iew the whole call: "
        while True:
            terminal.write(question)
            try:
                answer = terminal.read_line().strip().lower()
            except EOFError:
                terminal.write("\n")
                return Denied(f"the user denied this tool call (asked because {reason})")
            if answer in ("y", "yes"):
                return True
            if answer in ("n", "no", ""):
                return Denied(f"the user denied this tool call (asked because {reason})")
            if answer in ("a", "always"):
                self.always.add((tool.name, scope))
                return True
            if answer in ("v", "view"):
                terminal.page(whole_call(tool, arguments, reason))
                continue
            terminal.write(f"{CHOICES}\n")
