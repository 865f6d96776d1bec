"""Connect a chat session to the conversation log.

The log must never cost the user a chat: if it cannot be opened, chatfn warns
and chats without it. Resuming (``--continue`` / ``--cid``) needs it, so there a
broken log is an error.
"""

from __future__ import annotations

from typing import Any, Protocol

from chatfn.errors import LogError, UsageError
from chatfn.output.console import warning
from chatfn.settings.config import Config
from chatfn.wire.endpoint import Endpoint


class ChatLog(Protocol):
    """What the loop needs from a conversation log (:class:`SessionLog` is the real one)."""

    def add_message(self, message: dict[str, Any], **meta: Any) -> None:
        """Store one complete message with its bookkeeping."""

    def drop_last_turn(self) -> None:
        """Delete the last user message and everything after it (``/retry`` asks it again)."""

    def start_new(self) -> None:
        """Log what follows as a new conversation (``/clear``)."""


class SessionLog:
    """Writes one session's messages into one logged conversation, created with its first user message.

    A session opened and left, or cleared and left, logs nothing: the system message
    waits here until a user message comes, and only then is the conversation made.
    """

    def __init__(self, store: Any, endpoint: Endpoint, conversation_id: str | None = None) -> None:
        self.store = store
        self.endpoint = endpoint
        self.conversation_id = conversation_id
        self._waiting: list[tuple[dict[str, Any], dict[str, Any]]] = []  # system messages before the first prompt

    def add_message(self, message: dict[str, Any], **meta: Any) -> None:
        """Store one complete message at once, so a crash loses nothing already complete."""
        if self.conversation_id is None:
            if message.get("role") != "user":
                self._waiting.append((message, meta))
                return
            self.conversation_id = self.store.new_conversation(
                model=self.endpoint.model, provider=self.endpoint.provider, profile=self.endpoint.profile
            )
            waiting, self._waiting = self._waiting, []
            for earlier, earlier_meta in waiting:
                self.store.add_message(self.conversation_id, earlier, **earlier_meta)
        self.store.add_message(self.conversation_id, message, **meta)

    def start_new(self) -> None:
        """What follows goes into a new conversation, so resuming it never re-sends what was cleared."""
        self.conversation_id = None
        self._waiting = []

    def drop_last_turn(self) -> None:
        """Delete the last user message and what followed it, so a resumed chat sends what this one does."""
        if self.conversation_id is not None:
            self.store.delete_last_turn(self.conversation_id)

    def close(self) -> None:
        """Close the database."""
        self.store.close()


def open_chat_log(
    config: Config, endpoint: Endpoint, *, resume: bool = False, cid: str | None = None
) -> tuple[SessionLog | None, list[dict[str, Any]] | None]:
    """The log for a new session, and the history to resume when asked."""
    from chatfn.log.store import LogStore, default_log_path

    path = default_log_path(config.log.path)
    try:
        store = LogStore.open(path)
    except LogError as error:
        if resume or cid:
            raise
        warning(f"{error}; chatting without a log")
        return None, None
    if not (resume or cid):
        return SessionLog(store, endpoint), None
    try:
        conversation_id = store.resolve_id(cid) if cid else store.latest_conversation_id()
        if conversation_id is None:
            raise UsageError("there is no logged conversation to continue")
        history = store.history(conversation_id)
    except Exception:
        store.close()
        raise
    return SessionLog(store, endpoint, conversation_id), history
