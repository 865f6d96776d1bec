"""What a person sees: the whole final screen of a real pty equals the answer, drawn once.

chatfn runs in a pseudo-terminal whose output pyte draws (scrollback included). The
expected screen is what rich draws for the whole answer at once at that width, so a
first fragment drawn twice, a stray piece of a heading on the label line, a live
region left behind by a wrap or by Ctrl-C, or a missing blank line before a heading
all show up as a difference.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from screen import Screen

from chatfn.testing import ScriptedServer, responses
from chatfn.testing.runner import chatfn_environment

pytestmark = pytest.mark.slow

WIDTHS = [80, 120]
ROWS = 24
LONG_PARAGRAPH = " ".join(f"word{index}" for index in range(90))
CODE = "```python\n" + "".join(f"print({index})  # line {index}\n" for index in range(1, 41)) + "```"
ANSWERS = {
    "short": "Sorry, I was interrupted by something. Let me try again.",
    "heading-first": "# Hello\n\nSome text after the heading.",
    "heading-after-paragraph": "A first paragraph.\n## Part two\nMore text under it.\n\n### Part three\n\nThe end.",
    "wrapped": f"{LONG_PARAGRAPH}\n\n- a list item that is long enough to wrap at eighty columns, {LONG_PARAGRAPH[:120]}",
    "code-taller-than-the-screen": f"Here is the code:\n\n{CODE}\n\nThat was it.",
}


def drawn(markdown: str, width: int) -> list[str]:
    """``markdown`` as rich draws it in one go at ``width`` columns: plain lines."""
    from rich.console import Console

    from chatfn.terminal.markdown import Markdown

    console = Console(file=io.StringIO(), width=width, force_terminal=True, soft_wrap=False, record=True)
    console.print(Markdown(markdown))
    return [line.rstrip() for line in console.export_text(styles=False).splitlines()]


def screen_lines(*lines: str) -> str:
    """Lines as the screen shows them: trailing spaces and trailing empty lines dropped."""
    text = [line.rstrip() for line in lines]
    while text and not text[-1]:
        text.pop()
    return "\n".join(text)


def wrapped(line: str, width: int) -> list[str]:
    """A line longer than the terminal, as the terminal wraps it (at the column, mid-word)."""
    return [line[start : start + width] for start in range(0, max(len(line), 1), width)]


def environment(server: ScriptedServer, tmp_path: Path) -> dict[str, str]:
    env = chatfn_environment(server, tmp_path / "env")
    env.pop("NO_COLOR")  # draw as in a real terminal: colours, Markdown, the live view
    return env


BANNER = "chatfn: an empty line or 'exit' leaves; \"\"\" for several lines; /help for more"


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("case", list(ANSWERS))
def test_a_one_shot_answer_leaves_exactly_its_rendering(case: str, width: int, tmp_path: Path) -> None:
    answer = ANSWERS[case]
    with ScriptedServer() as server:
        server.script(responses.text(answer, chunk_size=7, delay=0.004))
        screen = Screen("chat", "--no-tools", "--no-log", "hi", env=environment(server, tmp_path), columns=width, rows=ROWS)
        try:
            assert screen.wait() == 0
            assert screen.text() == screen_lines(*drawn(answer, width))
        finally:
            screen.close()


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("case", ["short", "heading-first", "wrapped"])
def test_a_session_answer_follows_its_label_once(case: str, width: int, tmp_path: Path) -> None:
    answer = ANSWERS[case]
    with ScriptedServer() as server:
        server.script(responses.text(answer, chunk_size=5, delay=0.004))
        screen = Screen("chat", "--no-tools", "--no-log", env=environment(server, tmp_path), columns=width, rows=ROWS)
        try:
            screen.wait_for("^User:$")
            screen.type("hi\r")
            screen.wait_for("(?s)Assistant:.*^User:$")
            screen.type("\r")
            assert screen.wait() == 0
            expected = [*wrapped(BANNER, width), "User: hi", "", "Assistant:", *drawn(answer, width), "", "User:"]
            assert screen.text() == screen_lines(*expected)
        finally:
            screen.close()


def _kept_answer(log: Path) -> str:
    """The partial answer chatfn kept in the log after Ctrl-C."""
    from chatfn.log.store import LogStore

    with LogStore.open(log) as store:
        conversation = store.latest_conversation_id()
        assert conversation is not None
        history = store.history(conversation)
    return next(str(message["content"]) for message in reversed(history) if message["role"] == "assistant")


def _stalling(server: ScriptedServer, answer: str) -> None:
    """The first half of ``answer`` arrives, then the server goes quiet until chatfn gives up on it."""
    pieces = len(answer) // 7 // 2
    server.script(responses.text(answer, chunk_size=7, delay=0.004, stall_after=pieces, stall_seconds=30))


def _interrupt_when(screen: Screen, pattern: str) -> None:
    screen.wait_for(pattern)
    screen.settle(0.5)
    screen.interrupt()


def _kept_once(screen: Screen, env: dict[str, str], answer: str, width: int, before: list[str], after: list[str]) -> None:
    """The whole screen: ``before``, the kept part of ``answer`` drawn once, ``after``."""
    kept = _kept_answer(Path(env["CHATFN_LOG_DB"]))
    assert kept and answer.startswith(kept.rstrip())
    assert screen.text() == screen_lines(*before, *drawn(kept, width), *after)


@pytest.mark.parametrize("width", WIDTHS)
def test_ctrl_c_mid_answer_leaves_what_arrived_once(width: int, tmp_path: Path) -> None:
    answer = ANSWERS["wrapped"] + "\n\n" + ANSWERS["code-taller-than-the-screen"]
    with ScriptedServer() as server:
        _stalling(server, answer)
        env = environment(server, tmp_path)
        screen = Screen("chat", "--no-tools", "hi", env=env, columns=width, rows=ROWS)
        try:
            _interrupt_when(screen, "word89")
            assert screen.wait() == 130
            _kept_once(screen, env, answer, width, [], wrapped("chatfn: interrupted; what arrived is kept", width))
        finally:
            screen.close()


@pytest.mark.parametrize("width", WIDTHS)
def test_ctrl_c_mid_answer_in_a_session_leaves_what_arrived_once(width: int, tmp_path: Path) -> None:
    answer = ANSWERS["wrapped"] + "\n\n" + ANSWERS["heading-after-paragraph"]
    with ScriptedServer() as server:
        _stalling(server, answer)
        env = environment(server, tmp_path)
        screen = Screen("chat", "--no-tools", env=env, columns=width, rows=ROWS)
        try:
            screen.wait_for("^User:$")
            screen.type("hi\r")
            _interrupt_when(screen, "word3[0-9]")
            screen.wait_for("(?s)interrupted.*^User:$")
            screen.type("\r")
            assert screen.wait() == 0
            before = [*wrapped(BANNER, width), "User: hi", "", "Assistant:"]
            _kept_once(screen, env, answer, width, before, ["chatfn: interrupted; what arrived is kept", "", "User:"])
        finally:
            screen.close()
