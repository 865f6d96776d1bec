"""Test kit: a scripted OpenAI-compatible chat server on 127.0.0.1, and a pytest plugin.

Tests of chatfn, and of tool plugins written for it, need a model that answers
exactly as told, over real HTTP, the way real servers stream. :class:`ScriptedServer`
is that model: each chat request takes the next scripted :class:`Response`, every
request is recorded, and the builders (:func:`text`, :func:`tool_calls`,
:func:`function_call`, :func:`sse`, :func:`raw`, :func:`error`) produce the bytes
OpenAI sends (``data: <json>\\n\\n`` per chunk, ``data: [DONE]\\n\\n`` last), with
faults on demand (``delay``, ``stall_after``, ``drop_after``, ``done=False``)::

    import openai
    from chatfn.testing import ScriptedServer, text, tool_calls

    with ScriptedServer() as server:
        server.script(tool_calls(("get_weather", {"city": "Paris"})), text("Sunny."))
        client = openai.OpenAI(base_url=server.base_url, api_key="sk-test-fake")
        ...  # two streamed requests get the tool call, then the answer
        assert server.requests[1].messages[-1]["role"] == "tool"

The Responses API has its own builders, for a profile with ``api = "responses"``
(served at ``/v1/responses``, and Azure's ``/openai/v1/responses`` and
``/openai/responses?api-version=``): :func:`responses_text`,
:func:`responses_tool_calls`, :func:`responses_failure` and :func:`responses_events`;
``request.input`` and ``request.previous_response_id`` show what chatfn sent.

As a pytest plugin (``pytest_plugins = ["chatfn.testing"]``, best in the top-level
``conftest.py``) it adds the fixtures ``chat_server``, ``chatfn_env`` (a complete,
isolated environment pointing chatfn at it) and ``run_chatfn`` (runs the real CLI
in a subprocess)::

    def test_my_tool(chat_server, run_chatfn):
        chat_server.script(tool_calls(("my_tool", {"x": 1})), text("Done."))
        result = run_chatfn("chat", "use my tool")
        assert result.stdout == "Done.\\n"
        assert chat_server.requests[1].messages[-1]["content"] == "expected tool output"
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator, Mapping
from pathlib import Path

from chatfn.testing.responses import (
    DEFAULT_MODEL,
    FAKE_API_KEY,
    RecordedRequest,
    Response,
    Scripted,
    ToolCallSpec,
    error,
    faults,
    function_call,
    raw,
    sse,
    text,
    tool_calls,
)
from chatfn.testing.responses_api import responses_events, responses_failure, responses_text, responses_tool_calls
from chatfn.testing.runner import RunChatfn, chatfn_environment, run_chatfn_cli
from chatfn.testing.server import ScriptedServer

__all__ = [
    "DEFAULT_MODEL",
    "FAKE_API_KEY",
    "RecordedRequest",
    "Response",
    "RunChatfn",
    "ScriptedServer",
    "Scripted",
    "ToolCallSpec",
    "chatfn_environment",
    "error",
    "faults",
    "function_call",
    "raw",
    "responses_events",
    "responses_failure",
    "responses_text",
    "responses_tool_calls",
    "run_chatfn_cli",
    "sse",
    "text",
    "tool_calls",
]

# --------------------------------------------------------------------------- pytest plugin

try:
    import pytest
except ImportError:  # the server works without pytest; only the fixtures need it
    _HAVE_PYTEST = False
else:
    _HAVE_PYTEST = True

if _HAVE_PYTEST:

    @pytest.fixture
    def chat_server() -> Iterator[ScriptedServer]:
        """A running :class:`ScriptedServer`, stopped after the test."""
        with ScriptedServer() as server:
            yield server

    @pytest.fixture
    def chatfn_env(chat_server: ScriptedServer, tmp_path: Path) -> dict[str, str]:
        """A complete environment (see :func:`chatfn_environment`) pointing chatfn at ``chat_server``."""
        return chatfn_environment(chat_server, tmp_path / "chatfn-env")

    @pytest.fixture
    def run_chatfn(chatfn_env: dict[str, str]) -> RunChatfn:
        """Run the real CLI in a subprocess with ``chatfn_env``; ``env`` entries override it (None removes)."""

        def run(
            *args: str,
            input: str | None = None,
            input_bytes: bytes | None = None,
            env: Mapping[str, str | None] | None = None,
            timeout: float = 60.0,
            cwd: str | Path | None = None,
        ) -> subprocess.CompletedProcess[str]:
            merged = dict(chatfn_env)
            for key, value in (env or {}).items():
                if value is None:
                    merged.pop(key, None)
                else:
                    merged[key] = value
            return run_chatfn_cli(*args, env=merged, input=input, input_bytes=input_bytes, timeout=timeout, cwd=cwd)

        return run

