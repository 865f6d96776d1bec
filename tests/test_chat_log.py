"""Chats land in the conversation log as they happen, and resume exactly."""

from __future__ import annotations

import json
import signal
import subprocess

import pytest
from zygote import popen_chatfn

from chatfn.log.store import LogStore
from chatfn.testing import text, tool_calls


def test_parallel_tool_calls_are_logged_and_shown(chat_server, invoke_chatfn, chat_plugin_env, log_path) -> None:
    chat_server.script(tool_calls(("echo", {"text": "a"}), ("echo", {"text": "b", "times": 2})), text("ab bb"))
    assert invoke_chatfn("chat", "two calls", env=chat_plugin_env).returncode == 0
    with LogStore.open(log_path) as store:
        [summary] = store.list_conversations()
        history = store.history(summary.id)
        conversation = store.conversation(summary.id)
    assert [m["role"] for m in history] == ["system", "user", "assistant", "tool", "tool", "assistant"]
    assert history == chat_server.requests[1].messages + [{"role": "assistant", "content": "ab bb"}]
    assert conversation.model == "test-model"
    tool_rows = [m for m in conversation.messages if m.message["role"] == "tool"]
    assert all(row.duration is not None for row in tool_rows)
    answers = [m for m in conversation.messages if m.message["role"] == "assistant"]
    assert all(row.usage and row.usage["total_tokens"] > 0 and row.model == "test-model" for row in answers)

    shown = invoke_chatfn("logs", "show", "--json")
    assert shown.returncode == 0, shown.stderr
    data = json.loads(shown.stdout)
    assert "echo" in json.dumps(data) and "bb" in json.dumps(data)
    plain = invoke_chatfn("logs", "show").stdout
    assert "echo" in plain and "two calls" in plain


def test_continue_sends_exactly_the_earlier_messages(chat_server, invoke_chatfn, chat_plugin_env, log_path) -> None:
    chat_server.script(tool_calls(("echo", {"text": "x"})), text("First answer."), text("Second answer."))
    assert invoke_chatfn("chat", "first", env=chat_plugin_env).returncode == 0
    earlier = chat_server.requests[1].messages + [{"role": "assistant", "content": "First answer."}]
    resumed = invoke_chatfn("chat", "--continue", "second", env=chat_plugin_env)
    assert resumed.returncode == 0, resumed.stderr
    assert resumed.stdout == "Second answer.\n"
    assert chat_server.requests[2].messages == earlier + [{"role": "user", "content": "second"}]
    with LogStore.open(log_path) as store:
        assert len(store.list_conversations()) == 1  # continued, not a new conversation
        assert store.history(store.latest_conversation_id())[-1] == {"role": "assistant", "content": "Second answer."}


def test_cid_resumes_a_chosen_conversation(chat_server, invoke_chatfn, log_path) -> None:
    chat_server.script(text("About cats."), text("About dogs."), text("Cats again."))
    invoke_chatfn("chat", "cats")
    invoke_chatfn("chat", "dogs")
    with LogStore.open(log_path) as store:
        cats, dogs = sorted(store.list_conversations(), key=lambda c: not c.title.startswith("cats"))
    # the shortest prefix of ten or more characters that names only the cats (ids start with the time)
    prefix = next(cats.id[:n] for n in range(10, len(cats.id) + 1) if not dogs.id.startswith(cats.id[:n]))
    result = invoke_chatfn("chat", "--cid", prefix, "more")
    assert result.returncode == 0, result.stderr
    assert [m["content"] for m in chat_server.requests[2].messages[1:]] == ["cats", "About cats.", "more"]
    unknown = invoke_chatfn("chat", "--cid", "ffffffffff", "x")
    assert unknown.returncode != 0 and "Traceback" not in unknown.stderr
    assert len(unknown.stderr.strip().splitlines()) == 1


def test_no_log_writes_nothing(chat_server, invoke_chatfn, log_path) -> None:
    chat_server.script(text("Private."))
    assert invoke_chatfn("chat", "--no-log", "secret question").returncode == 0
    assert not log_path.exists() or LogStore.open(log_path).list_conversations() == []


@pytest.mark.slow
def test_sigkill_mid_answer_keeps_what_was_complete(chat_server, chatfn_env, chat_plugin_env, log_path) -> None:
    chat_server.script(tool_calls(("echo", {"text": "done"})), text("word " * 500, delay=0.02))
    process = popen_chatfn(
        "chat", "long answer please",
        env={**chatfn_env, **chat_plugin_env},
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        chat_server.wait_for_requests(2, timeout=30)
        assert process.stdout is not None
        process.stdout.read(20)  # the answer is streaming
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
    with LogStore.open(log_path) as store:
        history = store.history(store.latest_conversation_id())
    assert [m["role"] for m in history] == ["system", "user", "assistant", "tool"]
    assert history[1]["content"] == "long answer please" and history[3]["content"] == "done"


@pytest.mark.slow
def test_two_chats_at_once_are_both_fully_logged(chat_server, chatfn_env, log_path) -> None:
    chat_server.script(*[text(f"Answer {n}.", delay=0.01) for n in range(8)])
    env = {**chatfn_env}

    def chat(prompt: str) -> subprocess.Popen[bytes]:
        return popen_chatfn(
            "chat", prompt, env=env,
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )

    processes = [chat(f"question {n}") for n in range(4)]
    for process in processes:
        assert process.wait(timeout=60) == 0, process.stderr.read() if process.stderr else ""
        if process.stderr:
            process.stderr.close()
    with LogStore.open(log_path) as store:
        conversations = store.list_conversations()
        histories = [store.history(c.id) for c in conversations]
    assert len(conversations) == 4
    assert sorted(h[1]["content"] for h in histories) == [f"question {n}" for n in range(4)]
    assert all(len(h) == 3 and h[2]["role"] == "assistant" for h in histories)


def test_corrupt_log_warns_and_chat_still_works(chat_server, invoke_chatfn, log_path) -> None:
    log_path.write_bytes(b"this is not a database" * 100)
    chat_server.script(text("Still here."))
    result = invoke_chatfn("chat", "hi")
    assert result.returncode == 0
    assert result.stdout == "Still here.\n"
    assert str(log_path) in result.stderr and "warning" in result.stderr
    resumed = invoke_chatfn("chat", "--continue", "hi")
    assert resumed.returncode == 1 and str(log_path) in resumed.stderr
    assert "Traceback" not in resumed.stderr + result.stderr
