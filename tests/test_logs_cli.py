"""`chatfn logs list | show | search | path` as a user runs them, in a subprocess.

conftest points ``$CHATFN_LOG_DB``, HOME and the XDG directories into tmp; each test
fills the log through :class:`LogStore`, the same API the chat loop writes with.
"""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

import pytest
from test_logstore import CONVERSATION

from chatfn.log.store import LogStore


@pytest.fixture
def logged(log_path: Path) -> tuple[str, str]:
    """Two conversations: an older short one, then the weather one with parallel tool calls."""
    with LogStore.open(log_path) as store:
        older = store.new_conversation(model="small-model", provider="openai", profile=None)
        store.add_message(older, {"role": "user", "content": "Name a prime number"})
        store.add_message(older, {"role": "assistant", "content": "Seven."}, model="small-model", duration=0.2)
        newer = store.new_conversation(model="gpt-test", provider="azure", profile="work")
        for message in CONVERSATION[:-1]:
            store.add_message(newer, message)
        store.add_message(newer, CONVERSATION[-1], usage={"total_tokens": 77}, duration=2.5, interrupted=True)
    return older, newer


def assert_one_line_error(result, *needles: str) -> None:
    assert result.returncode == 1, result
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    for needle in needles:
        assert needle in lines[0]


def test_list_shows_newest_first(cli, logged) -> None:
    older, newer = logged

    result = cli("logs", "list")

    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert [line.split()[0] for line in lines] == [newer, older]
    assert "gpt-test" in lines[0] and "6 msgs" in lines[0] and "What is the weather in Reykjavík" in lines[0]
    assert "small-model" in lines[1] and "2 msgs" in lines[1] and "Name a prime number" in lines[1]
    assert [line.split()[0] for line in cli("logs", "list", "-n", "1").stdout.splitlines()] == [newer]


def test_list_json_is_one_array(cli, logged) -> None:
    older, newer = logged

    result = cli("logs", "list", "--json")

    assert result.returncode == 0, result.stderr
    listed = json.loads(result.stdout)
    assert [item["id"] for item in listed] == [newer, older]
    assert listed[0]["message_count"] == 6 and listed[0]["profile"] == "work" and listed[0]["provider"] == "azure"
    assert listed[1]["title"] == "Name a prime number"


def test_an_empty_log_lists_nothing(cli, log_path: Path) -> None:
    result = cli("logs", "list")

    assert (result.returncode, result.stdout) == (0, "")
    assert "no conversations logged yet" in result.stderr
    assert not log_path.exists()  # reading never creates the log
    assert json.loads(cli("logs", "list", "--json").stdout) == []
    with LogStore.open(log_path):
        pass
    result = cli("logs", "list")
    assert (result.returncode, result.stdout) == (0, "")
    assert "no conversations logged yet" in result.stderr


def test_show_without_id_shows_the_latest_with_tool_calls_and_results(cli, logged) -> None:
    _, newer = logged

    result = cli("logs", "show")

    assert result.returncode == 0, result.stderr
    text = result.stdout
    assert newer in text.splitlines()[0] and "gpt-test" in text.splitlines()[0]
    assert '→ get_current_weather({"city": "Reykjavík"})' in text
    assert "→ get_current_date({})" in text
    assert '← get_current_weather: {"temperature": 4, "sky": "drizzle"}' in text
    assert "← get_current_date: 2024-03-01" in text
    assert "You are terse." in text and "Drizzle, 4 °C. It is Friday 1 March." in text
    answer_header = [line for line in text.splitlines() if line.startswith("── assistant") and "[interrupted]" in line]
    assert len(answer_header) == 1 and "2.5s" in answer_header[0] and "77 tokens" in answer_header[0]
    for role in ("system", "user", "assistant", "tool"):
        assert f"── {role} ──" in text
    assert text.index("What is the weather") < text.index("→ get_current_weather") < text.index("← get_current_date")


def test_show_by_id_prefix(cli, logged) -> None:
    older, _ = logged

    result = cli("logs", "show", older[:-4])

    assert result.returncode == 0, result.stderr
    assert older in result.stdout and "Name a prime number" in result.stdout and "Seven." in result.stdout
    assert "Reykjavík" not in result.stdout


def test_show_json_has_messages_and_bookkeeping(cli, logged) -> None:
    _, newer = logged

    result = cli("logs", "show", newer, "--json")

    assert result.returncode == 0, result.stderr
    shown = json.loads(result.stdout)
    assert shown["id"] == newer and shown["model"] == "gpt-test"
    assert shown["messages"] == CONVERSATION  # as the API takes them
    assert [entry["seq"] for entry in shown["log"]] == [1, 2, 3, 4, 5, 6]
    last = shown["log"][-1]
    assert (last["interrupted"], last["duration"], last["usage"]) == (True, 2.5, {"total_tokens": 77})


def test_search_prints_conversation_ids_and_snippets(cli, logged) -> None:
    older, newer = logged

    result = cli("logs", "search", "drizzle")

    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 2 and all(line.startswith(newer) for line in lines)
    assert any("#4 tool" in line and "[drizzle]" in line for line in lines)
    assert [hit["conversation_id"] for hit in json.loads(cli("logs", "search", "prime", "--json").stdout)] == [older]


def test_search_with_punctuation_or_no_hits_is_not_an_error(cli, logged) -> None:
    for text in ('"foo', "a AND (", "NEAR(", "*"):
        result = cli("logs", "search", text)
        assert (result.returncode, result.stdout) == (0, ""), (text, result.stderr)
        assert "nothing matches" in result.stderr and "Traceback" not in result.stderr


def test_path_follows_env_then_config_then_the_data_dir(cli, log_path: Path, tmp_path: Path, isolated_environment: Path) -> None:
    assert cli("logs", "path").stdout.strip() == str(log_path)

    env = {key: value for key, value in os.environ.items() if key != "CHATFN_LOG_DB"}
    config = tmp_path / "config.toml"
    config.write_text('[log]\npath = "~/my-chats.db"\n')
    result = cli("logs", "path", env={**env, "CHATFN_CONFIG": str(config)})
    assert result.stdout.strip() == str(isolated_environment / "my-chats.db"), result.stderr

    result = cli("logs", "path", env=env)
    assert result.stdout.strip() == os.path.join(env["XDG_DATA_HOME"], "chatfn", "logs.db"), result.stderr


def test_unknown_id_is_one_line_and_exit_1(cli, logged) -> None:
    assert_one_line_error(cli("logs", "show", "ffffffff"), "ffffffff")


def test_show_on_an_empty_log_is_one_line_and_exit_1(cli) -> None:
    assert_one_line_error(cli("logs", "show"), "no conversations logged yet")


def test_a_corrupt_log_is_one_line_naming_the_file(cli, log_path: Path) -> None:
    log_path.write_bytes(os.urandom(4096))

    for command in (("logs", "list"), ("logs", "show"), ("logs", "search", "x")):
        assert_one_line_error(cli(*command), str(log_path), "not a database")


def test_a_log_from_a_newer_chatfn_is_one_line(cli, logged, log_path: Path) -> None:
    with sqlite3.connect(log_path) as raw:
        raw.execute("PRAGMA user_version = 999")
    raw.close()

    assert_one_line_error(cli("logs", "list"), str(log_path), "newer chatfn")
