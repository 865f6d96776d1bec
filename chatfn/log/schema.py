"""The conversation log's schema and its migrations, applied in order on open.

Each migration is a list of statements; a database records the last one applied in
``PRAGMA user_version``, so a later chatfn opens an older log and upgrades it in one
transaction, and an older chatfn refuses a newer log instead of damaging it.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from chatfn.errors import LogError

LOG_DB_ENV = "CHATFN_LOG_DB"

# Text searched for a message's tool calls: each call's name and arguments (not its
# JSON keys, or "function" would match every call), and a tool result's name.
_TOOL_TEXT = """coalesce({row}.name, '') || ' ' || coalesce((
    SELECT group_concat(coalesce(json_extract(value, '$.function.name'), '') || ' '
                        || coalesce(json_extract(value, '$.function.arguments'), ''), ' ')
    FROM json_each({row}.tool_calls)), '')"""

# Ordered; migration N brings a database from user_version N-1 to N. Never edit one
# that has shipped: append a new one.
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (  # 1: conversations and their messages
        """CREATE TABLE conversations (
            id TEXT PRIMARY KEY,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            activity INTEGER NOT NULL,
            model TEXT,
            provider TEXT,
            profile TEXT,
            title TEXT
        )""",
        """CREATE TABLE messages (
            id INTEGER PRIMARY KEY,
            conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
            seq INTEGER NOT NULL,
            role TEXT NOT NULL,
            content TEXT,
            tool_calls TEXT,
            tool_call_id TEXT,
            name TEXT,
            created_at TEXT NOT NULL,
            model TEXT,
            duration_ms INTEGER,
            usage TEXT,
            interrupted INTEGER NOT NULL DEFAULT 0,
            error TEXT,
            message TEXT NOT NULL,
            UNIQUE (conversation_id, seq)
        )""",
        "CREATE INDEX conversations_activity ON conversations(activity)",
    ),
    (  # 2: full-text search over content, tool call names/arguments and tool results
        "CREATE VIRTUAL TABLE messages_fts USING fts5(content, tools, tokenize = 'unicode61 remove_diacritics 2')",
        f"""CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN
            INSERT INTO messages_fts(rowid, content, tools) VALUES (new.id, new.content, {_TOOL_TEXT.format(row='new')});
        END""",
        """CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN
            DELETE FROM messages_fts WHERE rowid = old.id;
        END""",
        f"""CREATE TRIGGER messages_fts_update AFTER UPDATE OF content, tool_calls, name ON messages BEGIN
            DELETE FROM messages_fts WHERE rowid = old.id;
            INSERT INTO messages_fts(rowid, content, tools) VALUES (new.id, new.content, {_TOOL_TEXT.format(row='new')});
        END""",
        f"INSERT INTO messages_fts(rowid, content, tools) SELECT id, content, {_TOOL_TEXT.format(row='messages')} FROM messages",
    ),
)
SCHEMA_VERSION = len(MIGRATIONS)


def migrate(connection: sqlite3.Connection, path: Path) -> None:
    """Bring the schema up to date in one transaction; refuse a log from a newer chatfn."""
    version = connection.execute("PRAGMA user_version").fetchone()[0]
    if version == SCHEMA_VERSION:
        return
    connection.execute("BEGIN IMMEDIATE")
    try:
        version = connection.execute("PRAGMA user_version").fetchone()[0]  # another process may have migrated
        if version > SCHEMA_VERSION:
            raise LogError(
                f"conversation log {path} was written by a newer chatfn "
                f"(schema version {version}, this chatfn knows up to {SCHEMA_VERSION})",
                hint=f"upgrade chatfn, or set {LOG_DB_ENV} to another file",
            )
        for number in range(version + 1, SCHEMA_VERSION + 1):
            for statement in MIGRATIONS[number - 1]:
                connection.execute(statement)
        connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        connection.execute("COMMIT")
    except BaseException:
        if connection.in_transaction:
            connection.execute("ROLLBACK")
        raise
