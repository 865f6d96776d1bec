"""Ctrl-C during a round of tool calls keeps what finished and says so; only the rest is 'interrupted'."""

from __future__ import annotations

import io
import os
import signal
import threading
from contextlib import closing

import pytest

from chatfn.chat import ChatOptions, ChatSession
from chatfn.log.session import open_chat_log
from chatfn.log.store import LogStore, default_log_path
from chatfn.settings.config import Config
from chatfn.terminal.render import PlainRenderer
from chatfn.testing import ScriptedServer, responses
from chatfn.tools.tool import make_tool
from chatfn.wire.endpoint import resolve_endpoint

RELEASE = threading.Event()


def count_words(text: str) -> str:
    """Count the words.

    Args:
        text: The text.
    """
    threading.Timer(0.2, os.kill, (os.getpid(), signal.SIGINT)).start()  # Ctrl-C while the other one runs
    return f"{len(text.split())} words"


def slow_lookup(query: str) -> str:
    """Look something up, slowly.

    Args:
        query: What to look up.
    """
    RELEASE.wait(10)
    return "found it"


def test_ctrl_c_keeps_finished_results_and_their_traces(monkeypatch: pytest.MonkeyPatch) -> None:
    RELEASE.clear()
    with ScriptedServer() as server:
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        monkeypatch.setenv("CHATFN_MODEL", "test-model")
        server.script(responses.tool_calls(("count_words", {"text": "one two three"}), ("slow_lookup", {"query": "x"})))
        config = Config()
        endpoint = resolve_endpoint(config)
        log, _ = open_chat_log(config, endpoint)
        tools = [make_tool(count_words), make_tool(slow_lookup)]
        session = ChatSession(endpoint, tools, ChatOptions(approve=lambda *_: True), log=log)
        err = io.StringIO()
        renderer = PlainRenderer(io.StringIO(), err)
        with pytest.raises(KeyboardInterrupt):
            with closing(session.send("count and look up")) as events:
                for event in events:
                    renderer.event(event)
        RELEASE.set()
        assert log is not None
        log.close()
    results = {message["tool_call_id"]: message["content"] for message in session.messages if message["role"] == "tool"}
    assert results == {"call_1": "3 words", "call_2": "Error: interrupted by the user"}
    assert "⚙ count_words" in err.getvalue() and "→ 3 words" in err.getvalue()
    with LogStore.open(default_log_path()) as store:
        conversation = store.latest_conversation_id()
        assert conversation is not None
        logged = [message for message in store.history(conversation) if message["role"] == "tool"]
    assert [message["content"] for message in logged] == ["3 words", "Error: interrupted by the user"]
