"""The interactive session: the original sample's ``User:`` prompt, made sturdy.

An empty line or ``exit`` leaves, as in the sample. Line editing and history
across sessions come from the standard library's readline where it exists. The
SDK is imported in the background while the user types the first line.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from contextlib import closing
from pathlib import Path

from chatfn.chat import ChatSession
from chatfn.errors import ChatfnError, HangUp
from chatfn.output.console import status
from chatfn.terminal.render import PlainRenderer

HELP = """\
/clear   start over (keeps the system prompt)
/tools   list the tools the model may call
/usage   token usage so far
/help    this help
/exit    leave (so do 'exit', an empty line, Ctrl-D and Ctrl-C at the prompt)"""

LEAVE = {"", "exit", "/exit", "/quit"}


def warm_up_sdk() -> None:
    """Import the openai SDK in a background thread so the first answer starts sooner."""

    def load() -> None:
        try:
            import openai  # noqa: F401
        except Exception:  # a broken SDK is reported when the first request needs it
            pass

    threading.Thread(target=load, name="chatfn-import-sdk", daemon=True).start()


class LineReader:
    """``input()`` with readline editing and a history file, where readline exists."""

    def __init__(self, history_file: Path | None) -> None:
        self.history_file = history_file
        self._readline = None
        if history_file is None or not sys.stdin.isatty():
            return
        try:
            import readline
        except ImportError:  # Windows without pyreadline: plain input still works
            return
        self._readline = readline
        try:
            readline.read_history_file(history_file)
        except OSError:
            pass
        readline.set_history_length(2000)

    def read(self, prompt: str) -> str:
        """One line from the user; EOFError on Ctrl-D."""
        return input(prompt)

    def save(self) -> None:
        """Keep the history for the next session."""
        if self._readline is None or self.history_file is None:
            return
        try:
            self.history_file.parent.mkdir(parents=True, exist_ok=True)
            self._readline.write_history_file(self.history_file)
        except OSError:
            pass


def history_path() -> Path:
    """Where prompt history is kept between sessions."""
    from platformdirs import user_state_dir

    return Path(user_state_dir("chatfn", appauthor=False)) / "history"


def run_interactive(
    session: ChatSession,
    renderer: PlainRenderer,
    *,
    show_tools: Callable[[], None],
    reader: LineReader | None = None,
) -> None:
    """Prompt, answer, repeat, until the user leaves."""
    reader = reader or LineReader(history_path())
    status("chatfn: type a message; an empty line or 'exit' leaves, /help for commands")
    try:
        while True:
            try:
                line = reader.read("User: ")
            except HangUp:
                raise
            except (EOFError, KeyboardInterrupt):
                sys.stdout.write("\n")
                return
            text = line.strip()
            if text in LEAVE:
                return
            if text.startswith("/") and _command(text, session, renderer, show_tools):
                continue
            sys.stdout.write("\nAssistant: ")
            sys.stdout.flush()
            try:
                with closing(session.send(line)) as events:
                    for event in events:
                        renderer.event(event)
            except HangUp:
                raise
            except KeyboardInterrupt:
                renderer.interrupted()
            except ChatfnError as error:
                renderer.error(error)
            sys.stdout.write("\n")
    finally:
        reader.save()


def _command(text: str, session: ChatSession, renderer: PlainRenderer, show_tools: Callable[[], None]) -> bool:
    """Run a slash command; False when ``text`` is not one (it is then sent as is)."""
    name = text.split()[0]
    if name == "/clear":
        session.clear()
        status("chatfn: conversation cleared")
    elif name == "/tools":
        show_tools()
    elif name == "/usage":
        renderer.usage(session.usage)
    elif name == "/help":
        status(HELP)
    else:
        status(f"chatfn: unknown command {name}; /help lists them")
    return True
