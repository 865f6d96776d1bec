"""/model, /system, /retry and /edit in a real pty session: they change the next request, and the log."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from terminal import Terminal

from chatfn.log.store import LogStore
from chatfn.testing import text

pytestmark = pytest.mark.slow  # a real process in a pseudo-terminal


def logged_messages(env: dict[str, str]) -> list[tuple[str, str, str | None]]:
    with LogStore.open(Path(env["CHATFN_LOG_DB"])) as store:
        (summary,) = store.list_conversations()
        conversation = store.conversation(summary.id)
    return [(m.role, m.message.get("content"), m.model) for m in conversation.messages]


def test_model_and_system_change_the_next_request_and_are_logged(chat_server, terminal_env) -> None:
    chat_server.script(text("From the first."), text("From the second."))
    term = Terminal("chat", env=terminal_env)
    try:
        term.read_until("User: ")
        term.type("one\n")
        term.read_until(r"From the first\.[\s\S]*User: ")
        term.type("/model bigger-model\n")
        term.read_until("model bigger-model from the next message on")
        term.type("/system Answer in French.\n")
        term.read_until("new system message")
        term.type("/model\n")
        term.read_until(r"chatfn: model bigger-model\s")
        term.type("two\n")
        term.read_until(r"From the second\.[\s\S]*User: ")
        term.type("\n")
        assert term.wait() == 0
    finally:
        term.close()
    first, second = chat_server.requests
    assert first.body["model"] == "test-model" and second.body["model"] == "bigger-model"
    assert [(m["role"], m["content"]) for m in second.messages] == [
        ("system", "You are a helpful AI assistant."),
        ("user", "one"),
        ("assistant", "From the first."),
        ("system", "Answer in French."),
        ("user", "two"),
    ]
    logged = logged_messages(terminal_env)
    assert logged[3] == ("system", "Answer in French.", None)
    assert [(role, model) for role, _, model in logged if role == "assistant"] == [
        ("assistant", "test-model"), ("assistant", "bigger-model")
    ]


def test_retry_asks_again_and_the_new_answer_replaces_the_old(chat_server, terminal_env) -> None:
    chat_server.script(text("A dull answer."), text("A better answer."), text("Noted."))
    term = Terminal("chat", env=terminal_env)
    try:
        term.read_until("User: ")
        term.type("/retry\n")
        term.read_until("nothing to retry")
        term.type("tell me something\n")
        term.read_until(r"A dull answer\.[\s\S]*User: ")
        term.type("/retry\n")
        term.read_until(r"A better answer\.[\s\S]*User: ")
        term.type("thanks\n")
        term.read_until(r"Noted\.[\s\S]*User: ")
        term.type("exit\n")
        assert term.wait() == 0
    finally:
        term.close()
    assert chat_server.requests[1].messages == chat_server.requests[0].messages
    assert [(m["role"], m["content"]) for m in chat_server.requests[2].messages][1:] == [
        ("user", "tell me something"), ("assistant", "A better answer."), ("user", "thanks")
    ]
    # the log holds what a resumed chat would send: the retried answer, not the dull one
    assert [(role, content) for role, content, _ in logged_messages(terminal_env)][1:] == [
        ("user", "tell me something"), ("assistant", "A better answer."), ("user", "thanks"), ("assistant", "Noted.")
    ]


def test_edit_sends_what_the_editor_saved(chat_server, terminal_env, tmp_path: Path) -> None:
    editor = tmp_path / "editor.py"
    editor.write_text(
        "import sys\n"
        "with open(sys.argv[1], 'w') as f:\n"
        "    f.write('Written in the editor.\\n\\nWith a second paragraph.\\n')\n"
    )
    failing = tmp_path / "failing.py"
    failing.write_text("import sys\nsys.exit(3)\n")
    chat_server.script(text("Edited message received."))
    env = {**terminal_env, "EDITOR": f"{sys.executable} {editor}", "VISUAL": ""}
    term = Terminal("chat", env=env)
    try:
        term.read_until("User: ")
        term.type("/edit\n")
        term.read_until(r"Edited message received\.[\s\S]*User: ")
        term.type("\n")
        assert term.wait() == 0
    finally:
        term.close()
    assert chat_server.requests[0].messages[-1] == {
        "role": "user", "content": "Written in the editor.\n\nWith a second paragraph."
    }

    term = Terminal("chat", env={**env, "EDITOR": f"{sys.executable} {failing}"})
    try:
        term.read_until("User: ")
        term.type("/edit\n")
        term.read_until(r"exited with status 3; nothing sent[\s\S]*User: ")
        term.type("\n")
        assert term.wait() == 0
    finally:
        term.close()
    assert len(chat_server.requests) == 1
