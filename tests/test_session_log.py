"""A session's conversation log: what it holds after /clear, an empty session, -c, and errors."""

from __future__ import annotations

import io
from typing import Any

import pytest

from chatfn.chat import ChatOptions, ChatSession
from chatfn.cli.logs_cmd import render_conversation
from chatfn.log.session import open_chat_log
from chatfn.log.store import LogStore, default_log_path
from chatfn.settings.config import Config
from chatfn.terminal.render import PlainRenderer
from chatfn.terminal.session import LineReader, run_interactive
from chatfn.testing import ScriptedServer, responses
from chatfn.tools.tool import make_tool
from chatfn.wire.endpoint import resolve_endpoint


class Typed(LineReader):
    """The lines a person types, then Ctrl-D."""

    def __init__(self, *lines: str) -> None:
        super().__init__(None)
        self.lines = list(lines)

    def read(self, prompt: str) -> str:
        if not self.lines:
            raise EOFError
        return self.lines.pop(0)


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Any:
    with ScriptedServer() as running:
        monkeypatch.setenv("OPENAI_BASE_URL", running.base_url)
        monkeypatch.setenv("CHATFN_MODEL", "test-model")
        yield running


def session_run(*typed: str, resume: bool = False, cid: str | None = None, tools: Any = ()) -> str:
    """Run an interactive session over ``typed`` lines; its stdout."""
    config = Config()
    endpoint = resolve_endpoint(config)
    log, history = open_chat_log(config, endpoint, resume=resume, cid=cid)
    session = ChatSession(endpoint, list(tools), ChatOptions(approve=lambda *_: True), history=history, log=log)
    out = io.StringIO()
    try:
        run_interactive(session, PlainRenderer(out, io.StringIO()), show_tools=lambda: None, reader=Typed(*typed))
    finally:
        assert log is not None
        log.close()
    return out.getvalue()


def store() -> LogStore:
    return LogStore.open(default_log_path())


def test_a_session_left_at_once_logs_nothing(server: ScriptedServer) -> None:
    session_run()
    session_run("/clear", "/usage")
    with store() as opened:
        assert opened.list_conversations(10) == []


def test_clear_starts_a_new_logged_conversation(server: ScriptedServer) -> None:
    server.script(responses.text("First answer."), responses.text("Second answer."), responses.text("Third."))
    session_run("first question", "/clear", "second question")
    with store() as opened:
        newest, oldest = opened.list_conversations(10)
        first = [message["content"] for message in opened.history(oldest.id)]
        second = [message["content"] for message in opened.history(newest.id)]
    system = "You are a helpful AI assistant."
    assert first == [system, "first question", "First answer."]
    assert second == [system, "second question", "Second answer."]
    session_run("third question", cid=newest.id)
    assert [message["content"] for message in server.requests[-1].messages] == [*second, "third question"]


def test_continuing_says_which_conversation_and_how_it_ended(
    server: ScriptedServer, capsys: pytest.CaptureFixture[str]
) -> None:
    server.script(responses.text("Paris is the capital of France."))
    session_run("what is the capital of France?")
    with store() as opened:
        (conversation,) = opened.list_conversations(10)
    capsys.readouterr()
    session_run(resume=True)
    err = capsys.readouterr().err
    assert f"continuing conversation {conversation.id} (2 messages)" in err
    assert "  User: what is the capital of France?\n  Assistant: Paris is the capital of France.\n" in err


def test_a_line_starting_with_two_slashes_is_sent_with_one(
    server: ScriptedServer, capsys: pytest.CaptureFixture[str]
) -> None:
    server.script(responses.text("It is a folder."))
    session_run("//usr/bin is what?", "/usr/bin")
    (request,) = server.requests
    assert request.messages[-1] == {"role": "user", "content": "/usr/bin is what?"}
    err = capsys.readouterr().err
    assert "unknown command /usr/bin" in err and "//" in err


def broken(path: str) -> str:
    """Read a file.

    Args:
        path: Which file.
    """
    raise OSError(f"disk on fire while reading {path}")


def test_logs_show_prints_a_tool_error_once(server: ScriptedServer) -> None:
    server.script(responses.tool_calls(("broken", {"path": "notes.txt"})), responses.text("Sorry."))
    session_run("read notes.txt", tools=[make_tool(broken)])
    with store() as opened:
        (summary,) = opened.list_conversations(10)
        shown = "\n".join(render_conversation(opened.conversation(summary.id)))
    assert shown.count("disk on fire while reading notes.txt") == 1, shown
