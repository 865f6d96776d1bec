"""The conversation log: every message of every chat, in one SQLite file.

People come back to a conversation, want to see what a tool was called with, and
must not lose a long session to a crash. So each message is its own committed
transaction (WAL, ``synchronous=NORMAL``: a killed process loses nothing already
written), two chatfn processes may write at once (a busy timeout, ``BEGIN
IMMEDIATE``), and the message is kept exactly as it was sent so that a resumed
chat re-sends the same history. Request headers and API keys are never stored:
the API takes none.
"""

from __future__ import annotations

import json
import os
import secrets
import sqlite3
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator, Sequence

from chatfn.errors import LogError
from chatfn.history import answer_unanswered_calls, content_text
from chatfn.log.schema import LOG_DB_ENV, SCHEMA_VERSION, migrate
from chatfn.settings.resolve import resolve

__all__ = [
    "LOG_DB_ENV",
    "SCHEMA_VERSION",
    "Conversation",
    "ConversationSummary",
    "LogStore",
    "LoggedMessage",
    "SearchHit",
    "default_log_path",
]

BUSY_TIMEOUT_MS = 10_000
TITLE_CHARS = 60
STOPPED = "chatfn stopped before this tool call finished"
INTERRUPTED_RESULT = f"Error: {STOPPED}"



def default_log_path(config_log_path: str | None = None) -> Path:
    """Where the log lives: ``$CHATFN_LOG_DB``, else the config's ``log.path``, else the user data dir."""
    chosen = resolve("log_path", file=config_log_path)
    if chosen.value is not None:
        return Path(chosen.value).expanduser()
    import platformdirs

    return Path(platformdirs.user_data_dir("chatfn")) / "logs.db"


def _private_file(path: Path) -> None:
    """Make the log's folder (when chatfn makes it, or it is chatfn's own) 0700 and the database 0600.

    Conversations hold whatever the user and their tools saw. SQLite creates the -wal
    and -shm files with the database's mode, so creating the database 0600 first
    keeps all three private; existing ones are tightened.
    """
    folder = path.parent
    if not folder.exists():
        folder.mkdir(parents=True, mode=0o700)
    elif folder == Path(_platform_data_dir()) and os.name == "posix":
        _tighten(folder, 0o700)
    os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
    if os.name == "posix":
        for file in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
            if file.exists():
                _tighten(file, 0o600)


def _platform_data_dir() -> str:
    import platformdirs

    return platformdirs.user_data_dir("chatfn")


def _tighten(path: Path, mode: int) -> None:
    """Take group and other permissions off ``path`` if it is ours and has them."""
    try:
        info = path.stat()
        if info.st_uid == os.getuid() and info.st_mode & 0o077:
            os.chmod(path, mode)
    except OSError:  # not ours to change: leave it
        pass


@dataclass
class ConversationSummary:
    """One line of ``chatfn logs list``."""

    id: str
    created_at: str
    updated_at: str
    model: str | None
    provider: str | None
    profile: str | None
    title: str | None
    message_count: int


@dataclass
class LoggedMessage:
    """A message as sent (``message``) plus what chatfn noted about it."""

    seq: int
    created_at: str
    message: dict[str, Any]
    model: str | None
    duration: float | None
    usage: dict[str, Any] | None
    interrupted: bool
    error: str | None

    @property
    def role(self) -> str:
        return str(self.message.get("role", ""))


@dataclass
class Conversation(ConversationSummary):
    """A whole conversation, for ``chatfn logs show``."""

    messages: list[LoggedMessage]


@dataclass
class SearchHit:
    """One message that matched a search."""

    conversation_id: str
    seq: int
    role: str
    created_at: str
    title: str | None
    snippet: str


class LogStore:
    """An open conversation log; one connection, safe to share between threads."""

    def __init__(self, connection: sqlite3.Connection, path: Path) -> None:
        self._db = connection
        self.path = path
        self._lock = threading.Lock()

    @classmethod
    def open(cls, path: Path) -> LogStore:
        """Open (creating or upgrading) the log at ``path``; LogError names the file if it cannot."""
        path = Path(path)
        connection: sqlite3.Connection | None = None
        try:
            _private_file(path)
            connection = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
            connection.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            connection.execute("PRAGMA journal_mode = WAL").fetchone()
            connection.execute("PRAGMA synchronous = NORMAL")
            connection.execute("PRAGMA foreign_keys = ON")
            migrate(connection, path)
        except (sqlite3.Error, OSError) as error:
            if connection is not None:
                connection.close()
            raise LogError(f"cannot open conversation log {path}: {_reason(error)}") from None
        except LogError:
            if connection is not None:
                connection.close()
            raise
        return cls(connection, path)

    def close(self) -> None:
        """Close the database; everything written is already committed."""
        with self._lock:
            self._db.close()

    def __enter__(self) -> LogStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- writing -------------------------------------------------------------

    def new_conversation(self, *, model: str, provider: str, profile: str | None) -> str:
        """Start a conversation and return its id (time-ordered, unique)."""
        conversation_id = _new_id()
        now = _now()
        with self._write() as db:
            db.execute(
                f"INSERT INTO conversations (id, created_at, updated_at, activity, model, provider, profile)"
                f" VALUES (?, ?, ?, ({_NEXT_ACTIVITY}), ?, ?, ?)",
                (conversation_id, now, now, model, provider, profile),
            )
        return conversation_id

    def add_message(
        self,
        conversation_id: str,
        message: dict[str, Any],
        *,
        model: str | None = None,
        usage: dict[str, Any] | None = None,
        duration: float | None = None,
        interrupted: bool = False,
        error: str | None = None,
    ) -> int:
        """Store one OpenAI chat message, committed at once; return its sequence number."""
        try:
            raw = json.dumps(message, ensure_ascii=False)
            usage_json = json.dumps(usage, ensure_ascii=False) if usage else None
        except (TypeError, ValueError) as exc:
            raise LogError(f"cannot write to conversation log {self.path}: message is not JSON: {exc}") from None
        role = str(message.get("role", ""))
        text = content_text(message.get("content"))
        calls = _tool_calls(message)
        now = _now()
        with self._write() as db:
            found = db.execute(
                f"UPDATE conversations SET updated_at = ?, activity = ({_NEXT_ACTIVITY}), title = coalesce(title, ?) WHERE id = ?",
                (now, _title(text) if role == "user" else None, conversation_id),
            )
            if found.rowcount == 0:
                raise LogError(f"no conversation {conversation_id} in conversation log {self.path}")
            # BEGIN IMMEDIATE holds the write lock, so no other process can take this seq.
            seq = db.execute("SELECT coalesce(max(seq), 0) + 1 FROM messages WHERE conversation_id = ?", (conversation_id,)).fetchone()[0]
            db.execute(
                """INSERT INTO messages (conversation_id, seq, role, content, tool_calls, tool_call_id, name,
                       created_at, model, duration_ms, usage, interrupted, error, message)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                (
                    conversation_id, seq, role, text, json.dumps(calls, ensure_ascii=False) if calls else None,
                    message.get("tool_call_id"), message.get("name"), now, model,
                    None if duration is None else round(duration * 1000), usage_json,
                    int(interrupted), error, raw,
                ),
            )
        return int(seq)

    def delete_conversations(self, conversation_ids: Sequence[str]) -> int:
        """Delete these conversations, their messages and their search index entries; return how many.

        The rows go in one transaction, with ``secure_delete`` so the text is overwritten
        in the file, and the search index is then merged so no deleted word lingers in
        its segments (``logs rm`` is for text that must go).
        """
        if not conversation_ids:
            return 0
        marks = ", ".join("?" for _ in conversation_ids)
        with self._write() as db:
            db.execute("PRAGMA secure_delete = ON")
            db.execute(f"DELETE FROM messages WHERE conversation_id IN ({marks})", tuple(conversation_ids))
            deleted = db.execute(f"DELETE FROM conversations WHERE id IN ({marks})", tuple(conversation_ids)).rowcount
        with self._write() as db:
            db.execute("INSERT INTO messages_fts(messages_fts) VALUES ('optimize')")
        return int(deleted)

    def delete_last_turn(self, conversation_id: str) -> int:
        """Delete the conversation's last user message and every message after it; return how many."""
        with self._write() as db:
            deleted = db.execute(
                """DELETE FROM messages WHERE conversation_id = ? AND seq >= (
                       SELECT max(seq) FROM messages WHERE conversation_id = ? AND role = 'user')""",
                (conversation_id, conversation_id),
            ).rowcount
        return int(deleted)

    def all_conversation_ids(self) -> list[str]:
        """Every conversation's id, oldest first."""
        return [row[0] for row in self._read("SELECT id FROM conversations ORDER BY id")]

    # -- reading -------------------------------------------------------------

    def history(self, conversation_id: str) -> list[dict[str, Any]]:
        """The messages to re-send to the server, exactly as they were added.

        A tool call whose result never got logged (chatfn was killed while the tool
        ran) gets an error result, or the server would refuse the whole history.
        """
        rows = self._read("SELECT message FROM messages WHERE conversation_id = ? ORDER BY seq", (conversation_id,))
        if not rows and self._summary(conversation_id) is None:
            raise LogError(f"no conversation {conversation_id} in conversation log {self.path}")
        return answer_unanswered_calls([json.loads(row[0]) for row in rows], STOPPED)

    def latest_conversation_id(self) -> str | None:
        """The conversation written to most recently."""
        rows = self._read("SELECT id FROM conversations ORDER BY activity DESC LIMIT 1")
        return rows[0][0] if rows else None

    def resolve_id(self, prefix: str) -> str:
        """The one conversation whose id is, or starts with, ``prefix``."""
        prefix = prefix.strip().lower()
        if not prefix:
            raise LogError("give a conversation id (or the start of one)")
        rows = self._read("SELECT id FROM conversations WHERE substr(id, 1, ?) = ? ORDER BY id LIMIT 3", (len(prefix), prefix))
        if not rows:
            raise LogError(f"no logged conversation has an id starting with {prefix!r}", hint="see 'chatfn logs list'")
        exact = [row[0] for row in rows if row[0] == prefix]
        if len(rows) > 1 and not exact:
            raise LogError(f"{prefix!r} starts more than one conversation id; give more of it")
        return exact[0] if exact else rows[0][0]

    def list_conversations(self, limit: int = 20) -> list[ConversationSummary]:
        """The most recently active conversations, newest first."""
        rows = self._read(f"{_SUMMARY_SQL} ORDER BY c.activity DESC LIMIT ?", (max(0, limit),))
        return [ConversationSummary(*row) for row in rows]

    def conversation(self, conversation_id: str) -> Conversation:
        """A conversation with every message and its bookkeeping."""
        summary = self._summary(conversation_id)
        if summary is None:
            raise LogError(f"no conversation {conversation_id} in conversation log {self.path}")
        rows = self._read(
            """SELECT seq, created_at, message, model, duration_ms, usage, interrupted, error
               FROM messages WHERE conversation_id = ? ORDER BY seq""",
            (conversation_id,),
        )
        messages = [
            LoggedMessage(
                seq=seq, created_at=created, message=json.loads(raw), model=model,
                duration=None if ms is None else ms / 1000, usage=json.loads(usage) if usage else None,
                interrupted=bool(interrupted), error=error,
            )
            for seq, created, raw, model, ms, usage, interrupted, error in rows
        ]
        return Conversation(**vars(summary), messages=messages)

    def search(self, text: str, limit: int = 50) -> list[SearchHit]:
        """Messages whose content, tool calls or tool results hold every word of ``text``."""
        query = fts_query(text)
        if not query:
            return []
        rows = self._read(
            """SELECT m.conversation_id, m.seq, m.role, m.created_at, c.title,
                      snippet(messages_fts, -1, '[', ']', '…', 12)
               FROM messages_fts JOIN messages m ON m.id = messages_fts.rowid
               JOIN conversations c ON c.id = m.conversation_id
               WHERE messages_fts MATCH ? ORDER BY rank LIMIT ?""",
            (query, max(0, limit)),
        )
        return [SearchHit(*row) for row in rows]

    # -- plumbing ------------------------------------------------------------

    def _summary(self, conversation_id: str) -> ConversationSummary | None:
        rows = self._read(f"{_SUMMARY_SQL} WHERE c.id = ?", (conversation_id,))
        return ConversationSummary(*rows[0]) if rows else None

    def _read(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        try:
            with self._lock:
                return self._db.execute(sql, params).fetchall()
        except sqlite3.Error as error:
            raise LogError(f"cannot read conversation log {self.path}: {_reason(error)}") from None

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One committed transaction, holding the write lock from the start."""
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as error:
                raise LogError(f"cannot write to conversation log {self.path}: {_reason(error)}") from None
            try:
                yield self._db
                self._db.execute("COMMIT")
            except BaseException as error:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                if isinstance(error, sqlite3.Error):
                    raise LogError(f"cannot write to conversation log {self.path}: {_reason(error)}") from None
                raise


# Every write bumps its conversation to the top: a counter, since clocks tie and step back.
_NEXT_ACTIVITY = "SELECT coalesce(max(activity), 0) + 1 FROM conversations"
_SUMMARY_SQL = """SELECT c.id, c.created_at, c.updated_at, c.model, c.provider, c.profile, c.title,
       (SELECT count(*) FROM messages m WHERE m.conversation_id = c.id)
FROM conversations c"""


def fts_query(text: str) -> str:
    """User text as an FTS5 query: every word must appear; punctuation is never syntax."""
    return " ".join('"' + word.replace('"', '""') + '"' for word in text.split())


def _tool_calls(message: dict[str, Any]) -> list[dict[str, Any]] | None:
    """The message's tool calls, a legacy ``function_call`` as a one-call list."""
    calls = message.get("tool_calls")
    if isinstance(calls, list) and calls:
        return calls
    function_call = message.get("function_call")
    if isinstance(function_call, dict):
        return [{"id": None, "type": "function", "function": function_call}]
    return None


def _title(text: str | None) -> str | None:
    """The first words of a message, cut at a word boundary."""
    words = " ".join((text or "").split())
    if len(words) <= TITLE_CHARS:
        return words or None
    cut = words[:TITLE_CHARS].rsplit(" ", 1)[0] or words[:TITLE_CHARS]
    return cut + "…"


def _new_id() -> str:
    """48 bits of milliseconds then 32 random bits, as hex: unique and sortable by time."""
    return f"{time.time_ns() // 1_000_000:012x}{secrets.token_hex(4)}"


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


def _reason(error: BaseException) -> str:
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    return str(error) or type(error).__name__
