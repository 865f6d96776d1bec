"""Asking the user before a tool that needs approval runs.

In a terminal: yes, no, or always (for the rest of the session). Without a
terminal nobody can answer, so the call is denied unless ``--approve`` was given.
A denial goes back to the model as that call's result.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

from chatfn.output.console import BOLD, style, warning
from chatfn.settings.config import ToolSettings
from chatfn.tools.tool import Tool


class Approver:
    """The ``approve(tool, arguments) -> bool`` callback of one chat session."""

    def __init__(
        self,
        settings: ToolSettings,
        *,
        approve_all: bool,
        interactive: bool,
        ask: Callable[[str], str] | None = None,
    ) -> None:
        self.settings = settings
        self.approve_all = approve_all
        self.interactive = interactive
        self.always: set[str] = set()
        self._ask = ask or _ask_terminal

    def __call__(self, tool: Tool, arguments: dict[str, Any]) -> bool:
        from chatfn.tools.policy import needs_approval

        if not needs_approval(tool, arguments, self.settings):
            return True
        if self.approve_all or tool.name in self.always:
            return True
        if not self.interactive:
            warning(f"denied {tool.name}: it needs approval and there is no terminal to ask (use -y/--approve)")
            return False
        shown = ", ".join(f"{key}={value!r}" for key, value in arguments.items())
        question = style(f"Run {tool.name}({shown})?", BOLD) + " [y]es / [n]o / [a]lways this session: "
        while True:
            try:
                answer = self._ask(question).strip().lower()
            except EOFError:
                return False
            if answer in ("y", "yes"):
                return True
            if answer in ("n", "no", ""):
                return False
            if answer in ("a", "always"):
                self.always.add(tool.name)
                return True


def _ask_terminal(question: str) -> str:
    sys.stderr.write(question)
    sys.stderr.flush()
    line = sys.stdin.readline()
    if not line:
        raise EOFError
    return line
