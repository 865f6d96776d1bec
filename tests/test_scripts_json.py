"""What a script needs: the conversation id up front, a follow-up by id, deleting, the API's format."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from chatfn.testing import text


def events_of(stdout: str) -> list[dict]:
    return [json.loads(line) for line in stdout.splitlines()]


def test_json_starts_with_the_conversation_id_and_model_and_cid_follows_up(chat_server, invoke_chatfn) -> None:
    chat_server.script(text("Seven."), text("Eleven."))
    first = invoke_chatfn("chat", "--json", "Name a prime.")
    assert first.returncode == 0, first.stderr
    start = events_of(first.stdout)[0]
    assert start["type"] == "start" and start["model"] == "test-model"
    listed = json.loads(invoke_chatfn("logs", "list", "--json").stdout)
    assert [row["id"] for row in listed] == [start["conversation_id"]]

    second = invoke_chatfn("chat", "--json", "--cid", start["conversation_id"], "Another one?")
    assert second.returncode == 0, second.stderr
    assert events_of(second.stdout)[0]["conversation_id"] == start["conversation_id"]
    assert [(m["role"], m["content"]) for m in chat_server.requests[1].messages] == [
        ("system", "You are a helpful AI assistant."),
        ("user", "Name a prime."),
        ("assistant", "Seven."),
        ("user", "Another one?"),
    ]
    assert len(json.loads(invoke_chatfn("logs", "list", "--json").stdout)) == 1


def test_json_without_a_log_says_so_in_the_first_event(chat_server, invoke_chatfn) -> None:
    chat_server.script(text("Hi."))
    result = invoke_chatfn("chat", "--json", "--no-log", "-m", "other-model", "hello")
    assert result.returncode == 0, result.stderr
    assert events_of(result.stdout)[0] == {
        "type": "start", "conversation_id": None, "model": "other-model", "profile": "environment"
    }


def test_logs_show_json_messages_are_what_the_api_took(chat_server, invoke_chatfn) -> None:
    chat_server.script(text("Seven."))
    assert invoke_chatfn("chat", "Name a prime.").returncode == 0
    shown = json.loads(invoke_chatfn("logs", "show", "--json").stdout)
    assert shown["messages"] == [*chat_server.requests[0].messages, {"role": "assistant", "content": "Seven."}]
    assert [entry["seq"] for entry in shown["log"]] == [1, 2, 3]
    assert shown["log"][2]["model"] == "test-model"


def search_index_rows(log: Path, word: str) -> int:
    with sqlite3.connect(log) as db:
        return db.execute("SELECT count(*) FROM messages_fts WHERE messages_fts MATCH ?", (word,)).fetchone()[0]


def test_logs_rm_deletes_rows_and_search_hits(chat_server, invoke_chatfn, chatfn_env) -> None:
    log = Path(chatfn_env["CHATFN_LOG_DB"])
    chat_server.script(text("Aubergine soup."), text("Kohlrabi salad."))
    first = events_of(invoke_chatfn("chat", "--json", "aubergine recipe").stdout)[0]["conversation_id"]
    second = events_of(invoke_chatfn("chat", "--json", "kohlrabi recipe").stdout)[0]["conversation_id"]
    assert search_index_rows(log, "aubergine") == 2

    # the shortest prefix of ten or more characters that names only the first (ids start with the time)
    prefix = next(first[:n] for n in range(10, len(first) + 1) if not second.startswith(first[:n]))
    removed = invoke_chatfn("logs", "rm", prefix)
    assert removed.returncode == 0, removed.stderr
    assert "deleted 1 conversation" in removed.stderr
    assert json.loads(invoke_chatfn("logs", "search", "aubergine", "--json").stdout) == []
    assert search_index_rows(log, "aubergine") == 0
    with sqlite3.connect(log) as db:
        assert db.execute("SELECT count(*) FROM messages WHERE conversation_id = ?", (first,)).fetchone()[0] == 0
    kept = json.loads(invoke_chatfn("logs", "search", "kohlrabi", "--json").stdout)
    assert {hit["conversation_id"] for hit in kept} == {second}
    assert [row["id"] for row in json.loads(invoke_chatfn("logs", "list", "--json").stdout)] == [second]


def test_logs_rm_with_an_unknown_id_deletes_nothing(chat_server, invoke_chatfn) -> None:
    chat_server.script(text("Kept."))
    kept = events_of(invoke_chatfn("chat", "--json", "keep me").stdout)[0]["conversation_id"]
    result = invoke_chatfn("logs", "rm", kept, "ffffffffffff")
    assert result.returncode == 1 and "ffffffffffff" in result.stderr and "Traceback" not in result.stderr
    assert [row["id"] for row in json.loads(invoke_chatfn("logs", "list", "--json").stdout)] == [kept]


def test_logs_rm_all_needs_a_confirmation(chat_server, invoke_chatfn, chatfn_env) -> None:
    chat_server.script(text("One."), text("Two."))
    invoke_chatfn("chat", "one")
    invoke_chatfn("chat", "two")
    refused = invoke_chatfn("logs", "rm", "--all")  # no terminal to ask at
    assert refused.returncode == 2 and "--yes" in refused.stderr
    assert len(json.loads(invoke_chatfn("logs", "list", "--json").stdout)) == 2
    assert invoke_chatfn("logs", "rm").returncode == 2  # neither ids nor --all

    done = invoke_chatfn("logs", "rm", "--all", "--yes")
    assert done.returncode == 0 and "deleted 2 conversations" in done.stderr
    assert json.loads(invoke_chatfn("logs", "list", "--json").stdout) == []
    assert search_index_rows(Path(chatfn_env["CHATFN_LOG_DB"]), "one") == 0


@pytest.mark.slow
def test_logs_rm_all_asks_in_a_terminal(chat_server, invoke_chatfn, chatfn_env) -> None:
    from terminal import Terminal

    chat_server.script(text("Kept for now."))
    invoke_chatfn("chat", "one")
    for answer, left in (("n", 1), ("y", 0)):
        term = Terminal("logs", "rm", "--all", env={**chatfn_env, "TERM": "xterm-256color"})
        try:
            term.read_until(r"Delete all 1 logged conversations\? \[y/N\]")
            term.type(answer + "\n")
            assert term.wait() == 0
        finally:
            term.close()
        assert len(json.loads(invoke_chatfn("logs", "list", "--json").stdout)) == left
