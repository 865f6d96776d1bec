"""Several lines as one message: bracketed paste and the \"\"\" mode, in a real pty read through pyte."""

from __future__ import annotations

import pyte
import pytest
from terminal import Terminal

from chatfn.terminal.compose import PASTE_END, PASTE_START, read_message
from chatfn.testing import text

pytestmark = pytest.mark.slow  # a real process in a pseudo-terminal

COLUMNS, ROWS = 100, 40


def screen_of(output: str) -> list[str]:
    """The screen a person sees after ``output``, as pyte draws it."""
    screen = pyte.Screen(COLUMNS, ROWS)
    pyte.Stream(screen).feed(output)
    return [line.rstrip() for line in screen.display]


def user_messages(request) -> list[str]:
    return [message["content"] for message in request.messages if message["role"] == "user"]


def test_a_bracketed_paste_is_one_message_blank_lines_and_all(chat_server, terminal_env) -> None:
    chat_server.script(text("Got the whole block."), text("And a line."))
    term = Terminal("chat", env=terminal_env, columns=COLUMNS, rows=ROWS)
    try:
        term.read_until("User: ")
        assert "\x1b[?2004h" in term.output  # the terminal was asked to bracket pastes
        # What a terminal sends for a pasted block: its lines joined by CR, inside the markers.
        term.type(PASTE_START + "def f():\r    return 1\r\r\rprint(f())" + PASTE_END)
        term.type("\r")
        term.read_until(r"Got the whole block\.[\s\S]*User: ")
        term.type("one line\n")
        term.read_until(r"And a line\.[\s\S]*User: ")
        term.type("\n")
        assert term.wait() == 0
    finally:
        term.close()
    assert user_messages(chat_server.requests[0]) == ["def f():\n    return 1\n\n\nprint(f())"]
    assert user_messages(chat_server.requests[1])[-1] == "one line"
    assert term.output.rstrip().endswith("\x1b[?2004l")  # and set back on the way out
    shown = screen_of(term.output)
    start = shown.index("User: def f():")
    assert shown[start + 1 : start + 5] == ["    return 1", "", "", "print(f())"]
    assert any("Got the whole block." in line for line in shown)


def test_triple_quotes_open_and_close_a_multi_line_message(chat_server, terminal_env) -> None:
    chat_server.script(text("Three lines received."))
    term = Terminal("chat", env=terminal_env, columns=COLUMNS, rows=ROWS)
    try:
        term.read_until("User: ")
        term.type('"""\n')
        term.read_until(r"\.\.\.")
        for prompts, line in enumerate(("first", "", "third, after a blank line", ""), start=2):
            term.type(line + "\n")  # an empty line does not leave here: it is part of the message
            # type the next line at the next prompt, as a person does: typed ahead, the
            # terminal echoes it before chatfn draws "...", and the screen shows no prompt
            term.read_until(rf"(?:\.\.\.[\s\S]*?){{{prompts}}}")
        term.type('"""\n')
        term.read_until(r"Three lines received\.[\s\S]*User: ")
        term.type("exit\n")
        assert term.wait() == 0
    finally:
        term.close()
    assert user_messages(chat_server.requests[0]) == ["first\n\nthird, after a blank line\n"]
    shown = screen_of(term.output)
    start = shown.index('User: """')
    assert shown[start : start + 6] == [
        'User: """', "...   first", "...", "...   third, after a blank line", "...", '...   """'
    ]


def test_ctrl_c_drops_a_multi_line_message_but_not_the_session(chat_server, terminal_env) -> None:
    chat_server.script(text("Only this one."))
    term = Terminal("chat", env=terminal_env, columns=COLUMNS, rows=ROWS)
    try:
        term.read_until("User: ")
        term.type('"""\n')
        term.read_until(r"\.\.\.")
        term.type("never sent\n")
        term.read_until(r"\.\.\.[^\n]*\n[\s\S]*\.\.\.")
        term.interrupt_until(r"User: [\s\S]*User: ")
        term.type("sent\n")
        term.read_until(r"Only this one\.[\s\S]*User: ")
        term.type("\n")
        assert term.wait() == 0
    finally:
        term.close()
    assert [user_messages(request) for request in chat_server.requests] == [["sent"]]


def reader(lines: list[str]):
    """``input`` reading from ``lines``, recording the prompts it was given."""
    prompts: list[str] = []

    def read(prompt: str) -> str:
        prompts.append(prompt)
        if not lines:
            raise EOFError
        return lines.pop(0)

    read.prompts = prompts  # type: ignore[attr-defined]
    return read


def test_paste_markers_that_reach_chatfn_are_joined_without_readline() -> None:
    # Without readline the terminal's line discipline hands over the paste line by line, markers included.
    read = reader([PASTE_START + "one", "", "three" + PASTE_END, "after"])
    composed = read_message(read)
    assert (composed.text, composed.typed) == ("one\n\nthree", False)
    assert read_message(read).text == "after"


def test_a_typed_line_may_be_a_command_a_paste_never_is() -> None:
    assert read_message(reader(["/clear"])).typed is True
    assert read_message(reader([PASTE_START + "/clear" + PASTE_END])).typed is False
    assert read_message(reader(["/clear\nand more"])).typed is False  # readline returned a paste
