"""chatfn-tools-shell: no shell interpretation, timeouts kill the group, capped output, allow-list."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import chatfn_tools_shell
import pytest

pytest_plugins = ["chatfn.testing"]  # the scripted chat server and the run_chatfn fixture

PY = sys.executable


def load_tool(config: dict[str, Any] | None = None) -> tuple[Callable[..., str], dict[str, Any]]:
    """Call the plugin's hook as chatfn would; return run_command and its register options."""
    registered: list[tuple[Callable[..., str], dict[str, Any]]] = []

    def register(function: Callable[..., str], name: str | None = None, **options: Any) -> None:
        registered.append((function, options))

    chatfn_tools_shell.register_tools(register=register, plugin_config={"shell": config or {}})
    assert len(registered) == 1
    return registered[0]


def run(config: dict[str, Any] | None = None, **arguments: Any) -> str:
    return load_tool(config)[0](**arguments)


def test_registered_with_approval_and_a_backstop_timeout() -> None:
    function, options = load_tool({"timeout": 7})
    assert function.__name__ == "run_command"
    assert options["needs_approval"] is True
    assert options["timeout"] > 7


def test_runs_and_reports_exit_code_and_output(tmp_path: Path) -> None:
    result = run(command=f"{PY} -c \"import sys; print('out'); print('err', file=sys.stderr); sys.exit(3)\"")
    lines = result.splitlines()
    assert lines[0].startswith("exit code: 3 (")
    assert lines[1:] == ["--- stdout ---", "out", "--- stderr ---", "err"]


def test_cwd(tmp_path: Path) -> None:
    result = run(command=f"{PY} -c \"import os; print(os.getcwd())\"", cwd=str(tmp_path))
    assert result.splitlines()[2] == str(tmp_path.resolve())
    with pytest.raises(NotADirectoryError, match="not an existing directory"):
        run(command="true", cwd=str(tmp_path / "missing"))


def test_no_shell_interpretation() -> None:
    result = run(command="echo $HOME '*' ~ \"a  b\"")
    assert result.splitlines()[2] == "$HOME * ~ a  b"


@pytest.mark.parametrize("command", ["ls | wc -l", "echo hi > out.txt", "true && rm -rf x", "echo a; echo b", "sleep 1 &", "echo `id`", "echo a\necho b"])
def test_shell_operators_refused_when_shell_is_off(command: str) -> None:
    with pytest.raises(PermissionError, match="shell is off"):
        run(command=command)


def test_quoted_operators_are_plain_text() -> None:
    assert run(command="echo 'a|b' \"c > d\" e\\;f").splitlines()[2] == "a|b c > d e;f"


def test_shell_mode_interprets() -> None:
    result = run({"shell": True}, command="echo one | tr o 0 && echo two")
    assert result.splitlines()[2:4] == ["0ne", "two"]


def test_unknown_program_and_builtin_hint() -> None:
    with pytest.raises(FileNotFoundError, match="command not found: no-such-program-xyz"):
        run(command="no-such-program-xyz --help")
    with pytest.raises(FileNotFoundError, match="use cwd instead of cd"):
        run(command="cd /tmp")


def test_unbalanced_quotes_refused() -> None:
    with pytest.raises(ValueError, match="cannot parse the command"):
        run(command="echo 'oops")


def test_timeout_kills_the_process_group(tmp_path: Path) -> None:
    pid_file = tmp_path / "child.pid"
    script = (
        "import subprocess, sys, time;"
        f"child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)']);"
        f"open({str(pid_file)!r}, 'w').write(str(child.pid));"
        "print('started', flush=True); time.sleep(60)"
    )
    result = run({"timeout": 0.5}, command=f"{PY} -c \"{script}\"")
    assert result.startswith("timed out after 0.5 s; the command was killed")
    assert "started" in result
    child = int(pid_file.read_text())
    for _ in range(100):  # the orphaned grandchild is reaped by init shortly after the kill
        try:
            os.kill(child, 0)
        except ProcessLookupError:
            break
        time.sleep(0.05)
    else:
        pytest.fail(f"grandchild {child} survived the timeout")


def test_output_is_capped() -> None:
    result = run({"max_output_chars": 1000}, command=f"{PY} -c \"print('x' * 1_000_000)\"")
    stdout = result.split("--- stdout ---\n", 1)[1].split("\n--- stderr ---", 1)[0]
    assert stdout.startswith("x" * 1000)
    assert stdout.endswith("[stdout truncated: 1000 of 1000001 bytes shown]")
    assert len(result) < 1200


def test_allow_list_decides_approval() -> None:
    function, _ = load_tool({"allow": ["git status", "ls"]})
    check = function.chatfn_needs_approval  # type: ignore[attr-defined]
    assert check({"command": "ls"}) is False
    assert check({"command": "ls -la src"}) is False
    assert check({"command": "git status --short"}) is False
    assert check({"command": "lsblk"}) is True  # a prefix of words, not of characters
    assert check({"command": "git push"}) is True
    assert check({"command": "ls | sh"}) is True
    assert check({"command": "ls 'unbalanced"}) is True
    assert check({}) is True
    assert load_tool()[0].chatfn_needs_approval({"command": "ls"}) is True  # type: ignore[attr-defined]


def test_allow_list_is_strict_in_shell_mode() -> None:
    function, _ = load_tool({"allow": ["ls"], "shell": True})
    check = function.chatfn_needs_approval  # type: ignore[attr-defined]
    assert check({"command": "ls -l"}) is False
    for sneaky in ("ls $(rm -rf ~)", 'ls "$(id)"', "ls && rm x", "ls `id`", "ls; id", "ls *"):
        assert check({"command": sneaky}) is True, sneaky


@pytest.mark.parametrize(
    "config, message",
    [
        ({"allow": "ls"}, "allow must be a list"),
        ({"timeout": 0}, "timeout must be a positive"),
        ({"max_output_chars": "big"}, "max_output_chars"),
        ({"shell": "yes"}, "shell must be true or false"),
        ({"alow": []}, "unknown key"),
    ],
)
def test_bad_settings_are_refused(config: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        load_tool(config)


# -- end to end: a scripted model calls the tool through the real CLI ---------------


def _chat_kit(request: pytest.FixtureRequest) -> tuple[Any, Any, Any]:
    from chatfn import testing

    return testing, request.getfixturevalue("chat_server"), request.getfixturevalue("run_chatfn")


def test_chat_runs_a_command(request: pytest.FixtureRequest) -> None:
    testing, chat_server, run_chatfn = _chat_kit(request)
    chat_server.script(testing.tool_calls(("run_command", {"command": "echo hello $USER"})), testing.text("It printed hello."))
    result = run_chatfn("chat", "-y", "say hello", env={"CHATFN_LOAD_PLUGINS": "shell"})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "It printed hello."
    [tool_message] = [m for m in chat_server.requests[1].messages if m["role"] == "tool"]
    assert tool_message["content"].startswith("exit code: 0 (")
    assert "--- stdout ---\nhello $USER\n--- stderr ---\n(empty)" in tool_message["content"]


def test_chat_without_a_terminal_runs_only_allow_listed_commands(request: pytest.FixtureRequest, tmp_path: Path) -> None:
    testing, chat_server, run_chatfn = _chat_kit(request)
    config = tmp_path / "config.toml"
    config.write_text('[plugins.shell]\nallow = ["echo"]\n')
    chat_server.script(
        testing.tool_calls(("run_command", {"command": "echo allowed"}), ("run_command", {"command": "touch created"})),
        testing.text("One of two."),
    )
    result = run_chatfn("chat", "go", env={"CHATFN_LOAD_PLUGINS": "shell", "CHATFN_CONFIG": str(config)}, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    allowed, denied = [m["content"] for m in chat_server.requests[1].messages if m["role"] == "tool"]
    assert "allowed" in allowed and allowed.startswith("exit code: 0")
    assert denied.startswith("Error:") and "denied" in denied
    assert not (tmp_path / "created").exists()


def test_chat_in_a_terminal_asks_before_running(request: pytest.FixtureRequest, tmp_path: Path) -> None:
    import pty
    import select

    testing, chat_server, _ = _chat_kit(request)
    env = {**request.getfixturevalue("chatfn_env"), "CHATFN_LOAD_PLUGINS": "shell"}
    chat_server.script(testing.tool_calls(("run_command", {"command": "touch created"})), testing.text("Made it."))
    master, slave = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "chatfn", "chat", "make a file"],
        stdin=slave, stdout=slave, stderr=slave, env=env, cwd=tmp_path,
    )
    os.close(slave)
    screen = b""
    try:
        deadline = time.monotonic() + 30
        while b"Run run_command" not in screen and time.monotonic() < deadline:
            if select.select([master], [], [], 0.2)[0]:
                screen += os.read(master, 4096)
        assert b"Run run_command(command='touch created')?" in screen, screen
        os.write(master, b"y\n")
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
        os.close(master)
    assert (tmp_path / "created").exists()
    assert chat_server.requests[1].messages[-1]["content"].startswith("exit code: 0")
