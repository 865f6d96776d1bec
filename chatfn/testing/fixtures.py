"""The pytest fixtures of the kit: a scripted server, an environment pointing at it, and two runners.

Loaded by ``pytest_plugins = ["chatfn.testing"]`` (which names this module), so that
``from chatfn.testing import ScriptedServer`` works without pytest installed.
"""

from __future__ import annotations

import signal
import subprocess
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import pytest

from chatfn.testing.runner import (
    RunChatfn,
    chatfn_environment,
    invoke_chatfn_cli,
    run_chatfn_cli,
)
from chatfn.testing.server import ScriptedServer

__all__ = ["chat_server", "chatfn_env", "invoke_chatfn", "run_chatfn"]


def pytest_configure(config: pytest.Config) -> None:
    """Let Ctrl-C reach the chatfn processes a test starts, however pytest itself was started.

    A shell starts a background job (``pytest &``, or a CI script that backgrounds it)
    with SIGINT ignored, and an ignored signal stays ignored in every child through
    ``exec``: each Ctrl-C test would then send a signal that nobody receives. A handled
    signal is reset to its default in the child instead, so give pytest a handler.
    """
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


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
    return _runner(chatfn_env, run_chatfn_cli)


@pytest.fixture
def invoke_chatfn(chatfn_env: dict[str, str]) -> RunChatfn:
    """:func:`run_chatfn`'s call, run inside the test's process (see :func:`invoke_chatfn_cli`)."""
    return _runner(chatfn_env, invoke_chatfn_cli)


def _runner(base: dict[str, str], run: Callable[..., subprocess.CompletedProcess[str]]) -> RunChatfn:
    def runner(
        *args: str,
        input: str | None = None,
        input_bytes: bytes | None = None,
        env: Mapping[str, str | None] | None = None,
        timeout: float = 60.0,
        cwd: str | Path | None = None,
    ) -> subprocess.CompletedProcess[str]:
        merged = dict(base)
        for key, value in (env or {}).items():
            if value is None:
                merged.pop(key, None)
            else:
                merged[key] = value
        return run(*args, env=merged, input=input, input_bytes=input_bytes, timeout=timeout, cwd=cwd)

    return runner
