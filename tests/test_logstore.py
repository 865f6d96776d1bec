"""The conversation log: exact round trips, durability, concurrency, migrations, search."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from chatfn.errors import LogError
from chatfn.log.store import (
    INTERRUPTED_RESULT,
    SCHEMA_VERSION,
    LogStore,
    default_log_path,
)

WEATHER_CALLS = [
    {"id": "call_w", "type": "function", "function": {"name": "get_current_weather", "arguments": '{"city": "Reykjavík"}'}},
    {"id": "call_d", "type": "function", "function": {"name": "get_current_date", "arguments": "{}"}},
]
CONVERSATION = [
    {"role": "system", "content": "You are terse."},
    {"role": "user", "content": "What is the weather in Reykjavík today, and what day is it?"},
    {"role": "assistant", "content": None, "tool_calls": WEATHER_CALLS},
    {"role": "tool", "tool_call_id": "call_w", "content": '{"temperature": 4, "sky": "drizzle"}'},
    {"role": "tool", "tool_call_id": "call_d", "content": "2024-03-01"},
    {"role": "assistant", "content": "Drizzle, 4 °C. It is Friday 1 March."},
]


@pytest.fixture
def store(tmp_path: Path):
    with LogStore.open(tmp_path / "logs.db") as opened:
        yield opened


def fill(store: LogStore, messages: list[dict] = CONVERSATION) -> str:
    conversation_id = store.new_conversation(model="gpt-test", provider="openai", profile="work")
    for message in messages:
        store.add_message(conversation_id, message)
    return conversation_id


def test_history_returns_parallel_tool_calls_exactly_as_added(store: LogStore) -> None:
    conversation_id = fill(store)

    history = store.history(conversation_id)

    assert history == CONVERSATION
    assert [list(message) for message in history] == [list(message) for message in CONVERSATION]
    assert json.dumps(history, ensure_ascii=False) == json.dumps(CONVERSATION, ensure_ascii=False)


def test_conversation_keeps_bookkeeping_and_is_json(store: LogStore) -> None:
    conversation_id = store.new_conversation(model="gpt-test", provider="azure", profile=None)
    store.add_message(conversation_id, {"role": "user", "content": "  Tell   me a very long story about " + "dragons " * 20})
    store.add_message(
        conversation_id,
        {"role": "assistant", "content": "Once upon"},
        model="gpt-test-0613",
        usage={"prompt_tokens": 9, "completion_tokens": 2, "total_tokens": 11},
        duration=1.25,
        interrupted=True,
        error="connection reset",
    )

    conversation = store.conversation(conversation_id)

    assert (conversation.model, conversation.provider, conversation.profile) == ("gpt-test", "azure", None)
    assert conversation.message_count == 2
    assert conversation.title.startswith("Tell me a very long story about dragons")
    assert conversation.title.endswith("…") and len(conversation.title) <= 61
    first, second = conversation.messages
    assert (first.seq, first.role, first.interrupted, first.error, first.usage, first.duration) == (1, "user", False, None, None, None)
    assert (second.seq, second.model, second.duration, second.interrupted, second.error) == (2, "gpt-test-0613", 1.25, True, "connection reset")
    assert second.usage == {"prompt_tokens": 9, "completion_tokens": 2, "total_tokens": 11}
    assert json.loads(json.dumps(dataclasses.asdict(conversation)))["messages"][1]["message"] == {"role": "assistant", "content": "Once upon"}


def test_history_answers_tool_calls_whose_results_were_never_logged(store: LogStore) -> None:
    """A crash while tools ran must not leave a history the server refuses."""
    conversation_id = fill(store, CONVERSATION[:4])  # call_d never got its result

    history = store.history(conversation_id)

    assert history[:4] == CONVERSATION[:4]
    assert history[4:] == [{"role": "tool", "tool_call_id": "call_d", "content": INTERRUPTED_RESULT}]


def test_legacy_function_call_round_trip_and_repair(store: LogStore) -> None:
    call = {"role": "assistant", "content": None, "function_call": {"name": "get_current_date", "arguments": "{}"}}
    complete = fill(store, [{"role": "user", "content": "date?"}, call, {"role": "function", "name": "get_current_date", "content": "2024-03-01"}])
    dangling = fill(store, [{"role": "user", "content": "date?"}, call])

    assert store.history(complete)[1:] == [call, {"role": "function", "name": "get_current_date", "content": "2024-03-01"}]
    assert store.history(dangling)[2:] == [{"role": "function", "name": "get_current_date", "content": INTERRUPTED_RESULT}]
    assert [hit.seq for hit in store.search("get_current_date") if hit.conversation_id == complete] == [2, 3]


def test_ids_resolve_by_unique_prefix(store: LogStore) -> None:
    first, second = fill(store), fill(store)
    assert first != second and len(first) == 20

    assert store.resolve_id(first) == first
    assert store.resolve_id(second[:16]) == second
    shared = os.path.commonprefix([first, second])
    with pytest.raises(LogError, match="more than one"):
        store.resolve_id(shared)
    with pytest.raises(LogError, match="no logged conversation"):
        store.resolve_id("zzzz")
    with pytest.raises(LogError):
        store.resolve_id("")


def test_latest_is_the_last_conversation_written_to(store: LogStore) -> None:
    assert store.latest_conversation_id() is None
    assert store.list_conversations() == []
    first = fill(store)
    second = fill(store)
    assert store.latest_conversation_id() == second

    store.add_message(first, {"role": "user", "content": "one more thing"})

    assert store.latest_conversation_id() == first
    assert [summary.id for summary in store.list_conversations()] == [first, second]
    assert [summary.id for summary in store.list_conversations(limit=1)] == [first]
    assert store.list_conversations()[0].message_count == len(CONVERSATION) + 1


def test_unknown_conversation_is_a_log_error(store: LogStore) -> None:
    with pytest.raises(LogError, match="no conversation nope"):
        store.add_message("nope", {"role": "user", "content": "hi"})
    with pytest.raises(LogError, match="no conversation nope"):
        store.conversation("nope")
    with pytest.raises(LogError, match="no conversation nope"):
        store.history("nope")


def test_search_finds_content_tool_arguments_and_results(store: LogStore) -> None:
    conversation_id = fill(store)

    def seqs(text: str) -> list[int]:
        return sorted(hit.seq for hit in store.search(text))

    assert seqs("weather") == [2, 3]  # the question, and get_current_weather
    assert seqs("reykjavik") == [2, 3]  # the question, and the call's arguments (diacritics folded)
    assert seqs("drizzle") == [4, 6]  # the tool result, and the answer
    assert seqs("get_current_date") == [3]
    assert seqs("weather today") == [2]
    assert seqs("weather drizzle") == []
    hit = store.search("drizzle")[0]
    assert hit.conversation_id == conversation_id and "[" in hit.snippet
    assert hit.title.startswith("What is the weather")


@pytest.mark.parametrize("text", ['"foo', "a AND (", "NEAR(x", "*", "col:umn", "-", '""', "", "   ", "OR"])
def test_search_treats_punctuation_and_operators_as_text(store: LogStore, text: str) -> None:
    fill(store)
    assert store.search(text) == []


def test_search_matches_words_next_to_punctuation(store: LogStore) -> None:
    fill(store, [{"role": "user", "content": 'she said "foo" and (bar)'}])
    assert [hit.seq for hit in store.search('"foo')] == [1]
    assert [hit.seq for hit in store.search("(bar) OR")] == []  # OR is a word here, and absent
    assert [hit.seq for hit in store.search("(bar)")] == [1]


def test_deleted_messages_leave_the_search_index(tmp_path: Path) -> None:
    with LogStore.open(tmp_path / "logs.db") as store:
        fill(store)
    with sqlite3.connect(tmp_path / "logs.db") as raw:
        raw.execute("DELETE FROM messages WHERE seq = 4")
    with LogStore.open(tmp_path / "logs.db") as store:
        assert sorted(hit.seq for hit in store.search("drizzle")) == [6]


def test_opens_in_wal_mode_and_creates_parent_directories(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "er" / "logs.db"
    with LogStore.open(path):
        pass
    with sqlite3.connect(path) as raw:
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert raw.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


V1_SCHEMA = """
CREATE TABLE conversations (id TEXT PRIMARY KEY, created_at TEXT NOT NULL, updated_at TEXT NOT NULL,
    activity INTEGER NOT NULL, model TEXT, provider TEXT, profile TEXT, title TEXT);
CREATE TABLE messages (id INTEGER PRIMARY KEY,
    conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    seq INTEGER NOT NULL, role TEXT NOT NULL, content TEXT, tool_calls TEXT, tool_call_id TEXT, name TEXT,
    created_at TEXT NOT NULL, model TEXT, duration_ms INTEGER, usage TEXT,
    interrupted INTEGER NOT NULL DEFAULT 0, error TEXT, message TEXT NOT NULL, UNIQUE (conversation_id, seq));
CREATE INDEX conversations_activity ON conversations(activity);
PRAGMA user_version = 1;
"""


def test_a_version_1_log_is_upgraded_and_keeps_its_data(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    stamp = "2024-01-02T03:04:05.000+00:00"
    call = {"role": "assistant", "content": None, "tool_calls": [WEATHER_CALLS[0]]}
    result = {"role": "tool", "tool_call_id": "call_w", "content": "hailstorm"}
    with sqlite3.connect(path) as raw:
        raw.executescript(V1_SCHEMA)
        raw.execute("INSERT INTO conversations VALUES ('0000aaaa', ?, ?, 1, 'old-model', 'openai', NULL, 'weather?')", (stamp, stamp))
        for seq, message in enumerate([{"role": "user", "content": "weather?"}, call, result], start=1):
            tool_calls = json.dumps(message.get("tool_calls")) if message.get("tool_calls") else None
            raw.execute(
                "INSERT INTO messages (conversation_id, seq, role, content, tool_calls, tool_call_id, created_at, message)"
                " VALUES ('0000aaaa', ?, ?, ?, ?, ?, ?, ?)",
                (seq, message["role"], message["content"], tool_calls, message.get("tool_call_id"), stamp, json.dumps(message)),
            )
    raw.close()

    with LogStore.open(path) as store:
        assert store.history("0000aaaa") == [{"role": "user", "content": "weather?"}, call, result]
        assert [hit.seq for hit in store.search("hailstorm")] == [3]  # old rows were indexed
        assert [hit.seq for hit in store.search("reykjavik")] == [2]
        store.add_message("0000aaaa", {"role": "assistant", "content": "Hail, sadly."})
        assert [hit.seq for hit in store.search("sadly")] == [4]

    with sqlite3.connect(path) as raw:
        assert raw.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 2


def test_a_log_from_a_newer_chatfn_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "logs.db"
    with LogStore.open(path) as store:
        fill(store)
    with sqlite3.connect(path) as raw:
        raw.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    raw.close()

    with pytest.raises(LogError, match="newer chatfn") as caught:
        LogStore.open(path)
    assert str(path) in str(caught.value) and "\n" not in str(caught.value)


def test_a_corrupt_file_is_a_log_error_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "logs.db"
    path.write_bytes(os.urandom(8192))

    with pytest.raises(LogError) as caught:
        LogStore.open(path)

    assert str(caught.value) == f"cannot open conversation log {path}: file is not a database"


def test_a_directory_in_the_way_is_a_log_error(tmp_path: Path) -> None:
    (tmp_path / "logs.db").mkdir()
    with pytest.raises(LogError, match="cannot open conversation log .*logs.db"):
        LogStore.open(tmp_path / "logs.db")


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root reads any file")
def test_an_unreadable_file_is_a_log_error_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "logs.db"
    with LogStore.open(path) as store:
        fill(store)
    path.chmod(0)
    try:
        with pytest.raises(LogError, match=f"cannot open conversation log {path}"):
            LogStore.open(path)
    finally:
        path.chmod(0o600)


def _child(script: str, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-c", textwrap.dedent(script), *args], stdout=subprocess.PIPE, text=True)


WRITER = """
    import sys
    from pathlib import Path
    from chatfn.log.store import LogStore
    path, conversation_id, tag, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    store = LogStore.open(Path(path))
    print("started", flush=True)
    for n in range(count):
        store.add_message(conversation_id, {"role": "user", "content": f"{tag} {n}"})
    print("ready", flush=True)
"""


@pytest.mark.slow
def test_two_processes_writing_at_once_lose_nothing(tmp_path: Path) -> None:
    path = tmp_path / "logs.db"
    with LogStore.open(path) as store:
        conversation_id = store.new_conversation(model="m", provider="openai", profile=None)

    writers = [_child(WRITER, str(path), conversation_id, tag, "200") for tag in ("left", "right")]
    outputs = [writer.communicate(timeout=120)[0] for writer in writers]

    assert [writer.returncode for writer in writers] == [0, 0], outputs
    with LogStore.open(path) as store:
        messages = store.conversation(conversation_id).messages
    assert [message.seq for message in messages] == list(range(1, 401))
    for tag in ("left", "right"):
        assert [m.message["content"] for m in messages if m.message["content"].startswith(tag)] == [f"{tag} {n}" for n in range(200)]


@pytest.mark.slow
@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_messages_survive_the_writer_being_killed(tmp_path: Path) -> None:
    path = tmp_path / "logs.db"
    with LogStore.open(path) as store:
        conversation_id = store.new_conversation(model="m", provider="openai", profile=None)
    child = _child(WRITER + "\n    import time; time.sleep(60)\n", str(path), conversation_id, "kept", "25")
    try:
        assert child.stdout.readline().strip() == "started"
        assert child.stdout.readline().strip() == "ready"
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        child.stdout.close()
    assert child.returncode == -signal.SIGKILL

    with LogStore.open(path) as store:
        assert [m["content"] for m in store.history(conversation_id)] == [f"kept {n}" for n in range(25)]
        assert [hit.seq for hit in store.search("kept 24")] == [25]


def test_default_log_path_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHATFN_LOG_DB", str(tmp_path / "from-env.db"))
    assert default_log_path("~/from-config.db") == tmp_path / "from-env.db"

    monkeypatch.delenv("CHATFN_LOG_DB")
    assert default_log_path("~/from-config.db") == Path.home() / "from-config.db"

    import platformdirs

    assert default_log_path() == Path(platformdirs.user_data_dir("chatfn")) / "logs.db"
    assert default_log_path(None).name == "logs.db"
