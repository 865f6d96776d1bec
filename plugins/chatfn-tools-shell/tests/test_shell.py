"""chatfn-tools-shell: no shell interpretation, exact allow rules, a confined cwd, capped output,
and process groups that never outlive a timeout, a signal to chatfn or chatfn itself."""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import chatfn_tools_shell
import pytest

pytest_plugins = ["chatfn.testing"]  # the scripted chat server and the invoke_chatfn fixture

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


def test_cwd_is_confined_to_the_root(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "out").symlink_to(tmp_path.parent)
    config = {"root": str(tmp_path)}
    where = f"{PY} -c \"import os; print(os.getcwd())\""
    assert run(config, command=where).splitlines()[2] == str(tmp_path.resolve())
    assert run(config, command=where, cwd="sub").splitlines()[2] == str((tmp_path / "sub").resolve())
    assert run(config, command=where, cwd=str(tmp_path / "sub")).splitlines()[2] == str((tmp_path / "sub").resolve())
    for outside in ("..", "/", str(tmp_path.parent), "out", "sub/../..", "~"):
        with pytest.raises(PermissionError, match="outside the allowed root"):
            run(config, command="true", cwd=outside)
    with pytest.raises(NotADirectoryError, match="not an existing directory"):
        run(config, command="true", cwd="missing")


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


@pytest.mark.slow
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


def approval_check(config: dict[str, Any]) -> Callable[[dict[str, Any]], bool]:
    return load_tool(config)[0].chatfn_needs_approval  # type: ignore[attr-defined,no-any-return]


def test_the_old_readme_allow_list_no_longer_matches_by_prefix(tmp_path: Path) -> None:
    """Issue 10: with allow = ["git status", "git diff", "ls"], a model read a secret and truncated a file."""
    check = approval_check({"allow": ["git status", "git diff", "ls"], "root": str(tmp_path)})
    assert check({"command": "git diff"}) is False
    assert check({"command": "git status"}) is False
    for sneaky in ("git diff --no-index /dev/null ~/.secretfile", "git diff --output=victim.txt", "git diff HEAD",
                   "git status --porcelain -uall --ignored", "ls -la /", "ls ~"):
        assert check({"command": sneaky}) is True, sneaky


def test_placeholders_match_safe_arguments_only(tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "docs").mkdir()
    (tmp_path / "leak").symlink_to("/etc/passwd")
    (tmp_path / "main").symlink_to(tmp_path.parent)
    rules = ["ls {path}...", "git diff {path} {path}", "git log --oneline -n {int}", "git show {word}", "echo {word}..."]
    check = approval_check({"allow": rules, "root": str(tmp_path)})
    for allowed in ("ls", "ls src", "ls src docs ./src/../docs", "git diff src docs", "git log --oneline -n 5",
                    "git show HEAD~3", "git show v1.2.3", "echo hello world"):
        assert check({"command": allowed}) is False, allowed
    for refused in ("ls -la", "ls /etc", "ls ..", "ls src/../..", "ls leak", "ls src --", "git diff src",
                    "git diff src /dev/null", "git diff --output=x src", "git log --oneline -n 5 --output=x",
                    "git log --oneline -n -5", "git show main", "git show a/b", "git show --format=%H",
                    "echo -e hi", "echo $(id)", "lsblk", "ls | sh", "ls 'unbalanced"):
        assert check({"command": refused}) is True, refused
    assert check({}) is True
    assert check({"command": "ls", "cwd": ".."}) is True  # a cwd outside the root never matches
    assert check({"command": "ls", "cwd": "src"}) is False
    assert approval_check({})({"command": "ls"}) is True


def test_allow_list_is_strict_in_shell_mode(tmp_path: Path) -> None:
    check = approval_check({"allow": ["ls {word}..."], "shell": True, "root": str(tmp_path)})
    assert check({"command": "ls"}) is False
    assert check({"command": "ls src"}) is False
    for sneaky in ("ls $(rm -rf ~)", 'ls "$(id)"', "ls && rm x", "ls `id`", "ls; id", "ls *", "ls -l"):
        assert check({"command": sneaky}) is True, sneaky


@pytest.mark.parametrize(
    "rule, message",
    [("{path}", "must start with the program"), ("ls {file}", "the placeholders are"), ("ls {path}... x", "the placeholders are"),
     ("ls 'x", "cannot parse")],
)
def test_bad_rules_are_refused(rule: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        load_tool({"allow": [rule]})


def test_registered_as_changing_things_with_private_output_and_an_exact_scope() -> None:
    _, options = load_tool()
    assert options["read_only_hint"] is False
    assert options["destructive_hint"] is True
    assert options["private_data"] is True
    assert options["open_world_hint"] is True
    scope = options["approval_scope"]
    assert scope({"command": "echo   harmless"}) == "echo harmless"
    assert scope({"command": "touch x"}) != scope({"command": "echo harmless"})
    assert scope({"command": "ls", "cwd": "sub"}) == "ls (in sub)"
    assert scope({"command": "echo 'a b'"}) != scope({"command": "echo a b"})


@pytest.mark.parametrize(
    "config, message",
    [
        ({"allow": "ls"}, "allow must be a list"),
        ({"timeout": 0}, "timeout must be a positive"),
        ({"max_output_chars": "big"}, "max_output_chars"),
        ({"shell": "yes"}, "shell must be true or false"),
        ({"alow": []}, "unknown key"),
        ({"kill_grace": -1}, "kill_grace must be a positive"),
        ({"root": ""}, "root must be a non-empty"),
    ],
)
def test_bad_settings_are_refused(config: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        load_tool(config)


# -- end to end: a scripted model calls the tool through the real CLI ---------------


def _chat_kit(request: pytest.FixtureRequest) -> tuple[Any, Any, Any]:
    from chatfn import testing

    return testing, request.getfixturevalue("chat_server"), request.getfixturevalue("invoke_chatfn")


def test_chat_runs_a_command(request: pytest.FixtureRequest) -> None:
    testing, chat_server, run_chatfn = _chat_kit(request)
    chat_server.script(testing.tool_calls(("run_command", {"command": "echo hello $USER"})), testing.text("It printed hello."))
    result = run_chatfn("chat", "-y", "say hello", env={"CHATFN_LOAD_PLUGINS": "shell"})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "It printed hello."
    [tool_message] = [m for m in chat_server.requests[1].messages if m["role"] == "tool"]
    assert tool_message["content"].startswith("exit code: 0 (")
    assert "--- stdout ---\nhello $USER\n--- stderr ---\n(empty)" in tool_message["content"]


def chat_without_a_terminal(request: pytest.FixtureRequest, tmp_path: Path, allow: list[str], *commands: str) -> list[str]:
    """Run chatfn with no terminal and no -y while a scripted model calls ``commands``; the tool results."""
    testing, chat_server, run_chatfn = _chat_kit(request)
    config = tmp_path / "config.toml"
    config.write_text(f"[plugins.shell]\nallow = {json.dumps(allow)}\n")
    chat_server.script(testing.tool_calls(*(("run_command", {"command": command}) for command in commands)), testing.text("Done."))
    result = run_chatfn("chat", "go", env={"CHATFN_LOAD_PLUGINS": "shell", "CHATFN_CONFIG": str(config)}, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    return [m["content"] for m in chat_server.requests[1].messages if m["role"] == "tool"]


def test_chat_without_a_terminal_runs_only_allow_listed_commands(request: pytest.FixtureRequest, tmp_path: Path) -> None:
    allowed, denied = chat_without_a_terminal(request, tmp_path, ["echo {word}..."], "echo allowed", "touch created")
    assert "allowed" in allowed and allowed.startswith("exit code: 0")
    assert denied.startswith("Error:") and "denied" in denied
    assert not (tmp_path / "created").exists()


@pytest.mark.slow
def test_chat_in_a_terminal_asks_before_running(request: pytest.FixtureRequest, tmp_path: Path) -> None:
    import pty
    import select

    testing, chat_server, _ = _chat_kit(request)
    env = {**request.getfixturevalue("chatfn_env"), "CHATFN_LOAD_PLUGINS": "shell"}
    chat_server.script(testing.tool_calls(("run_command", {"command": "touch created"})), testing.text("Made it."))
    master, slave = pty.openpty()
    import fcntl
    import termios

    def take_terminal() -> None:  # the pty becomes the process's /dev/tty, where chatfn asks
        fcntl.ioctl(slave, termios.TIOCSCTTY, 0)

    process = subprocess.Popen(
        [sys.executable, "-m", "chatfn", "chat", "make a file"],
        stdin=slave, stdout=slave, stderr=slave, env=env, cwd=tmp_path,
        start_new_session=True, pass_fds=(slave,), preexec_fn=take_terminal,
    )
    os.close(slave)
    screen = b""
    try:
        deadline = time.monotonic() + 30
        while b"[v]iew" not in screen and time.monotonic() < deadline:
            if select.select([master], [], [], 0.2)[0]:
                screen += os.read(master, 4096)
        assert b'run_command(command="touch created")' in screen, screen
        os.write(master, b"y\n")
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
        os.close(master)
    assert (tmp_path / "created").exists()
    assert chat_server.requests[1].messages[-1]["content"].startswith("exit code: 0")


# -- process groups: nothing a command starts outlives it ----------------------------


def _alive(pid: int) -> bool:
    """True while ``pid`` runs (a zombie waiting to be reaped does not count)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False
    except OSError:  # no /proc: ask the kernel
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return True


def _wait_gone(pids: list[int], seconds: float = 10.0) -> list[int]:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        alive = [pid for pid in pids if _alive(pid)]
        if not alive:
            return []
        time.sleep(0.05)
    return alive


SPAWNER = """
import os, signal, subprocess, sys, time
pid_file, ignore_term = sys.argv[1], sys.argv[2] == "ignore-term"
if ignore_term:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
child = subprocess.Popen([sys.executable, "-c", "import signal, sys, time; "
    + ("signal.signal(signal.SIGTERM, signal.SIG_IGN); " if ignore_term else "") + "time.sleep(60)"])
with open(pid_file + ".tmp", "w") as out:
    out.write(f"{os.getpid()} {child.pid}")
os.rename(pid_file + ".tmp", pid_file)
print("started", flush=True)
time.sleep(60)
"""


def _spawner(pid_file: Path, *, ignore_term: bool = False) -> str:
    """A command that starts a grandchild, writes both pids, and waits (as an approved ``sleep 47`` would)."""
    script = pid_file.parent / "spawner.py"
    script.write_text(SPAWNER)
    return shlex.join([PY, str(script), str(pid_file), "ignore-term" if ignore_term else "plain"])


def _pids(pid_file: Path, seconds: float = 30.0) -> list[int]:
    deadline = time.monotonic() + seconds
    while not pid_file.exists():
        assert time.monotonic() < deadline, "the command never started"
        time.sleep(0.05)
    return [int(pid) for pid in pid_file.read_text().split()]


@pytest.mark.slow
def test_a_command_ignoring_sigterm_is_killed_after_the_grace(tmp_path: Path) -> None:
    pid_file = tmp_path / "pids"
    started = time.monotonic()
    result = run({"timeout": 0.5, "kill_grace": 0.5}, command=_spawner(pid_file, ignore_term=True))
    assert result.startswith("timed out after 0.5 s; the command was killed (exit code -9)")
    assert time.monotonic() - started >= 1.0  # TERM first, then the grace, then KILL
    assert _wait_gone(_pids(pid_file)) == []


@pytest.mark.slow
def test_nothing_is_left_running_when_the_command_ends(tmp_path: Path) -> None:
    script = "import subprocess as s; child = s.Popen(['sleep', '60'], stdout=s.DEVNULL, stderr=s.DEVNULL); print(child.pid)"
    result = run(command=f'{PY} -c "{script}"')
    assert result.startswith("exit code: 0")
    assert _wait_gone([int(result.splitlines()[2])]) == []


@pytest.mark.slow
def test_ctrl_c_in_an_interactive_chatfn_stops_the_command(tmp_path: Path) -> None:
    """chatfn's session goes on after Ctrl-C; the command and its children must not."""
    pid_file = tmp_path / "pids"
    program = textwrap.dedent(f"""
        import os, signal, sys, threading, time
        import chatfn_tools_shell
        found = []
        chatfn_tools_shell.register_tools(register=lambda f, **o: found.append(f), plugin_config={{}})
        result = []
        threading.Thread(target=lambda: result.append(found[0](command=sys.argv[1])), daemon=True).start()
        while not os.path.exists({str(pid_file)!r}):
            time.sleep(0.05)
        try:
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(30)
        except KeyboardInterrupt:
            print("interrupted", flush=True)
        deadline = time.monotonic() + 10
        while not result and time.monotonic() < deadline:
            time.sleep(0.05)
        print(result[0].splitlines()[0] if result else "no result", flush=True)
        time.sleep(30)  # still running, as an interactive session would be
    """)
    process = subprocess.Popen([PY, "-c", program, _spawner(pid_file)], stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        assert process.stdout.readline() == "interrupted\n"
        assert process.stdout.readline().startswith("interrupted: chatfn was told to stop; the command was killed")
        assert _wait_gone(_pids(pid_file)) == []
        assert process.poll() is None
    finally:
        process.kill()
        process.wait()


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGKILL])
def test_no_child_survives_chatfn_being_stopped(request: pytest.FixtureRequest, tmp_path: Path, signum: int) -> None:
    """Issue 10: after Ctrl-C, SIGTERM, SIGHUP or SIGKILL of chatfn an approved command kept running."""
    testing, chat_server, _ = _chat_kit(request)
    pid_file = tmp_path / "pids"
    env = {**request.getfixturevalue("chatfn_env"), "CHATFN_LOAD_PLUGINS": "shell"}
    chat_server.script(testing.tool_calls(("run_command", {"command": _spawner(pid_file)})), testing.text("Done."))
    process = subprocess.Popen(
        [sys.executable, "-m", "chatfn", "chat", "-y", "wait"], env=env, cwd=tmp_path,
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    try:
        pids = _pids(pid_file)
        process.send_signal(signum)
        process.communicate(timeout=30)
        assert process.returncode != 0
        assert _wait_gone(pids) == [], f"survived chatfn's {signal.Signals(signum).name}"
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()


@pytest.mark.slow
def test_no_child_survives_a_timeout_in_chatfn(request: pytest.FixtureRequest, tmp_path: Path) -> None:
    testing, chat_server, run_chatfn = _chat_kit(request)
    pid_file = tmp_path / "pids"
    config = tmp_path / "config.toml"
    config.write_text("[plugins.shell]\ntimeout = 1\n")
    chat_server.script(testing.tool_calls(("run_command", {"command": _spawner(pid_file)})), testing.text("It timed out."))
    result = run_chatfn("chat", "-y", "wait", env={"CHATFN_LOAD_PLUGINS": "shell", "CHATFN_CONFIG": str(config)}, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert chat_server.requests[1].messages[-1]["content"].startswith("timed out after 1 s; the command was killed")
    assert _wait_gone(_pids(pid_file)) == []


def test_the_old_readme_allow_list_cannot_truncate_a_file_through_chatfn(request: pytest.FixtureRequest, tmp_path: Path) -> None:
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    (tmp_path / "victim.txt").write_text("precious\n")
    refused, allowed = chat_without_a_terminal(
        request, tmp_path, ["git status", "git diff", "ls"], "git diff --output=victim.txt", "git diff"
    )
    assert refused.startswith("Error:") and "denied" in refused
    assert allowed.startswith("exit code: 0")
    assert (tmp_path / "victim.txt").read_text() == "precious\n"
