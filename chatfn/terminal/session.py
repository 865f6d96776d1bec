"""The interactive session: the original sample's ``User:`` prompt, made sturdy.

An empty line or ``exit`` leaves, as in the sample. Line editing and history
across sessions come from the standard library's readline where it exists. The
SDK is imported in the background while the user types the first line.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import closing
from functools import partial
from pathlib import Path
from typing import Any, TextIO

from chatfn.chat import ChatSession
from chatfn.errors import ChatfnError, HangUp
from chatfn.events import Event
from chatfn.output.console import status
from chatfn.terminal.render import PlainRenderer

HELP = """\
\"\"\"          on a line of its own: start a multi-line message; another \"\"\" sends it
             (empty lines inside are part of the message; a pasted block is one message too)
/edit        write the next message in $EDITOR
/retry       ask again for the last answer (it replaces the old one, in the log too)
/model NAME  use another model from the next message on (no NAME: show the model)
/system TEXT add a system message from the next message on (no TEXT: show the prompt)
/clear       start over (keeps the system prompt)
/tools       list the tools the model may call
/usage       token usage so far
/help        this help
/exit        leave (so do 'exit', an empty line, Ctrl-D and Ctrl-C at the prompt)
//text       send '/text' as a message (a line starting with one / is a command)"""

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

    def __init__(self, history_file: Path | None, *, prompt_to: TextIO | None = None) -> None:
        self.history_file = history_file
        self.prompt_to = prompt_to  # None: input() writes the prompt to stdout, as usual
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
        if self.prompt_to is None:
            return input(prompt)
        self.prompt_to.write(prompt)
        self.prompt_to.flush()
        return input()

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
    from chatfn.terminal.compose import bracketed_paste, read_message

    # with --json, stdout is the JSON stream: prompts and the rest of the dialogue go to stderr
    side = sys.stderr if renderer.machine_readable else sys.stdout
    reader = reader or LineReader(history_path(), prompt_to=sys.stderr if renderer.machine_readable else None)
    status("chatfn: an empty line or 'exit' leaves; \"\"\" for several lines; /help for more")
    if session.conversation_id is not None:  # -c / --cid: say where this picks up
        for line in resumed(session.conversation_id, session.messages):
            status(line)
    try:
        with bracketed_paste():
            while True:
                try:
                    composed = read_message(reader.read)
                except HangUp:
                    raise
                except (EOFError, KeyboardInterrupt):
                    side.write("\n")
                    return
                text = composed.text.strip()
                turn: Turn | None = None
                if composed.typed and text in LEAVE:
                    return
                if composed.typed and text.startswith("//"):
                    turn = partial(session.send, composed.text.replace("/", "", 1))
                elif composed.typed and text.startswith("/"):
                    turn = _command(text, session, renderer, show_tools)
                elif text:  # an empty block or paste sends nothing
                    turn = partial(session.send, composed.text)
                if turn is not None:
                    _answer(turn, renderer)
    finally:
        reader.save()


def resumed(conversation_id: str, messages: list[dict[str, Any]]) -> list[str]:
    """Which conversation a session continues, and its last question and answer."""
    from chatfn.output.console import one_line
    from chatfn.output.sanitize import visible

    said = [message for message in messages if message.get("role") in ("user", "assistant")]
    lines = [f"chatfn: continuing conversation {conversation_id} ({len(said)} messages); it ended with:"]
    last_user = next((i for i in range(len(said) - 1, -1, -1) if said[i]["role"] == "user"), None)
    for message in said[last_user:] if last_user is not None else []:
        text = _text_of(message.get("content"))
        if text:
            lines.append(f"  {message['role'].capitalize()}: {visible(one_line(text, 100))}")
    return lines


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # content parts
        return " ".join(str(part.get("text", "")) for part in content if isinstance(part, dict))
    return ""


Turn = Callable[[], Iterator[Event]]
"""What answering one message takes: a fresh generator of the loop's events."""


def _answer(turn: Turn, renderer: PlainRenderer) -> None:
    renderer.begin_answer()
    try:
        with closing(turn()) as events:
            for event in events:
                renderer.event(event)
    except HangUp:
        raise
    except KeyboardInterrupt:
        renderer.interrupted()
    except ChatfnError as error:
        renderer.error(error)
    renderer.end_answer()


def _command(text: str, session: ChatSession, renderer: PlainRenderer, show_tools: Callable[[], None]) -> Turn | None:
    """Run a slash command; return the turn it asks for (/retry, /edit), else None.

    A typed line starting with ``/`` is always a command, so a typo is never sent to
    the model; ``//text`` sends ``/text`` (see :data:`HELP`).
    """
    name, _, argument = text.partition(" ")
    argument = argument.strip()
    if name == "/clear":
        session.clear()
        status("chatfn: conversation cleared")
    elif name == "/tools":
        show_tools()
    elif name == "/usage":
        renderer.usage(session.usage)
    elif name == "/help":
        status(HELP)
    elif name == "/retry":
        return session.retry
    elif name == "/edit":
        return _edited(session)
    elif name == "/model":
        if argument:
            session.set_model(argument)
            status(f"chatfn: model {argument} from the next message on")
        else:
            status(f"chatfn: model {session.endpoint.model}")
    elif name == "/system":
        if argument:
            session.set_system_prompt(argument)
            status("chatfn: new system message from the next message on")
        else:
            status(f"chatfn: system prompt: {session.endpoint.system_prompt}")
    else:
        status(f"chatfn: unknown command {name}; /help lists them; start with // to send it as a message")
    return None


def _edited(session: ChatSession) -> Turn | None:
    """The message written in $EDITOR, shown before it is sent; None if there is none."""
    from chatfn.terminal.compose import edit_message

    try:
        message = edit_message()
    except ChatfnError as error:
        from chatfn.output.console import error_line

        error_line(str(error), hint=error.hint)
        return None
    if not message.strip():
        status("chatfn: the message was empty; nothing sent")
        return None
    status(f"User: {message.rstrip()}")
    return lambda: session.send(message.rstrip("\n"))
