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
isolated environment pointing chatfn at it), ``run_chatfn`` (runs the real CLI
in a subprocess) and ``invoke_chatfn`` (the same call, run inside the test's
process: much faster, for everything but signals, terminals and import costs)::

    def test_my_tool(chat_server, run_chatfn):
        chat_server.script(tool_calls(("my_tool", {"x": 1})), text("Done."))
        result = run_chatfn("chat", "use my tool")
        assert result.stdout == "Done.\\n"
        assert chat_server.requests[1].messages[-1]["content"] == "expected tool output"
"""

from __future__ import annotations

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
from chatfn.testing.responses_api import (
    responses_events,
    responses_failure,
    responses_text,
    responses_tool_calls,
)
from chatfn.testing.runner import (
    RunChatfn,
    chatfn_environment,
    invoke_chatfn_cli,
    run_chatfn_cli,
)
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
    "invoke_chatfn_cli",
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

pytest_plugins = ["chatfn.testing.fixtures"]
"""The fixtures live in their own module, so importing the kit never imports pytest."""
