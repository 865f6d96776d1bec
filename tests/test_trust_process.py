"""Private files, SIGTERM and a pure ``--json`` stdout (issue 9, items 6 and 7)."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
from pathlib import Path

import pytest
from plugin_factory import make_plugin, plugin_env
from zygote import popen_chatfn

from chatfn.log.store import LogStore
from chatfn.testing import text, tool_calls


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# -- file modes ---------------------------------------------------------------------------------


def test_log_folder_database_wal_and_shm_are_private(chat_server, invoke_chatfn, tmp_path: Path) -> None:
    database = tmp_path / "fresh" / "logs" / "chat.db"
    chat_server.script(text("hello"))
    result = invoke_chatfn("chat", "hi", env={"CHATFN_LOG_DB": str(database)})
    assert result.returncode == 0, result.stderr
    assert mode(database.parent) == 0o700
    assert mode(database) == 0o600
    with LogStore.open(database):  # while open, WAL mode keeps -wal and -shm beside it
        for suffix in ("-wal", "-shm"):
            sidecar = database.with_name(database.name + suffix)
            if sidecar.exists():
                assert mode(sidecar) == 0o600, suffix


def test_existing_wide_database_is_tightened(tmp_path: Path) -> None:
    database = tmp_path / "old.db"
    LogStore.open(database).close()
    os.chmod(database, 0o644)
    LogStore.open(database).close()
    assert mode(database) == 0o600


def test_config_init_writes_a_private_file(invoke_chatfn, tmp_path: Path) -> None:
    target = tmp_path / "conf" / "config.toml"
    result = invoke_chatfn("config", "init", "--config", str(target))
    assert result.returncode == 0, result.stderr
    assert mode(target) == 0o600


def test_a_readable_config_holding_a_key_is_warned_about(invoke_chatfn, tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[profiles.p]\nmodel = "m"\napi_key = "sk-in-a-file-123456"\n', encoding="utf-8")
    os.chmod(config, 0o644)
    warned = invoke_chatfn("config", "show", "--config", str(config))
    assert "other users can read it" in warned.stderr and "chmod 600" in warned.stderr
    assert "sk-in-a-file" not in warned.stderr + warned.stdout
    os.chmod(config, 0o600)
    assert "other users can read it" not in invoke_chatfn("config", "show", "--config", str(config)).stderr


# -- SIGTERM ------------------------------------------------------------------------------------


@pytest.mark.slow
def test_sigterm_mid_answer_keeps_the_partial_answer(chat_server, chatfn_env) -> None:
    chat_server.script(text("tock " * 300, delay=0.03))
    process = popen_chatfn(
        "chat", "go",
        env=chatfn_env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        chat_server.wait_for_requests(1, timeout=30)
        assert process.stdout is not None
        process.stdout.read(10)
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 130, stderr
    assert b"Traceback" not in stderr
    with LogStore.open(Path(chatfn_env["CHATFN_LOG_DB"])) as store:
        last = store.conversation(store.latest_conversation_id()).messages[-1]
    assert last.message["content"].startswith("tock") and last.interrupted


# -- --json stdout carries only chatfn's JSON -----------------------------------------------------

NOISY = '''
import os
import sys
import threading
import time

import chatfn

print("IMPORT-PRINT")
sys.stdout.flush()
os.write(1, b"IMPORT-FD1\\n")


def late() -> str:
    """Prints after chatfn stopped waiting for it."""
    def later():
        time.sleep(0.6)
        print("LATE-PRINT", flush=True)
        os.write(1, b"LATE-FD1\\n")
    threading.Thread(target=later).start()
    time.sleep(0.3)
    return "too late"


@chatfn.hookimpl
def register_tools(register):
    print("HOOK-PRINT")
    register(late, timeout=0.1, read_only_hint=True, open_world_hint=False)
'''


def noisy_env(tmp_path: Path) -> dict[str, str]:
    directory = make_plugin(tmp_path / "noisy", NOISY, module="chatfn_noisy", distribution="chatfn-noisy", entry_point="noisy")
    env = plugin_env(directory, load="noisy", base={})
    return {"PYTHONPATH": env["PYTHONPATH"], "CHATFN_LOAD_PLUGINS": "noisy"}


@pytest.mark.slow
def test_chat_json_stdout_is_only_json(chat_server, invoke_chatfn, tmp_path: Path) -> None:
    chat_server.script(tool_calls(("late", {})), text("after the tool", delay=0.5))
    result = invoke_chatfn("chat", "--no-log", "--json", "go", env=noisy_env(tmp_path))
    assert result.returncode == 0, result.stderr
    events = [json.loads(line) for line in result.stdout.splitlines()]  # every line is JSON
    assert events[-1]["type"] == "done"
    for noise in ("IMPORT-PRINT", "IMPORT-FD1", "HOOK-PRINT", "LATE-PRINT", "LATE-FD1"):
        assert noise not in result.stdout
        assert noise in result.stderr, noise


def test_list_json_stdout_is_only_json(invoke_chatfn, tmp_path: Path) -> None:
    for command in (("tools", "list", "--json"), ("plugins", "list", "--json")):
        result = invoke_chatfn(*command, env=noisy_env(tmp_path))
        assert result.returncode == 0, result.stderr
        json.loads(result.stdout)
        assert "IMPORT-PRINT" in result.stderr and "IMPORT-FD1" in result.stderr
