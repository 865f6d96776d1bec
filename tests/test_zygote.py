"""The zygote's processes are what ``python -m chatfn`` would be, in everything the tests look at."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from plugin_factory import make_plugin, plugin_env
from pty_screen import PtyChatfn
from zygote import popen_chatfn

from chatfn.testing import text

pytestmark = pytest.mark.slow  # real processes, both ways

PLUGIN = '''
import os
import sys

import chatfn


def where() -> str:
    """Where this process runs."""
    return os.getcwd()


@chatfn.hookimpl
def register_tools(register):
    register(where, read_only_hint=True, open_world_hint=False)
'''


def both(*args: str, env: dict[str, str], cwd: Path, stdin: bytes = b"") -> tuple[tuple, tuple]:
    """(exit status, stdout, stderr) of ``args`` from a cold ``python -m chatfn`` and from the zygote."""
    cold = subprocess.run(
        [sys.executable, "-m", "chatfn", *args], input=stdin, capture_output=True, env=env, cwd=cwd,
        timeout=60, start_new_session=True,
    )
    forked = popen_chatfn(*args, env=env, cwd=cwd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert forked.stdin is not None
    forked.stdin.write(stdin)
    out, err = forked.communicate(timeout=60)
    return (cold.returncode, cold.stdout, cold.stderr), (forked.returncode, out, err)


def test_output_exit_status_environment_cwd_and_python_path_match(chatfn_env, chat_server, tmp_path: Path) -> None:
    plugins = make_plugin(tmp_path / "plugins", PLUGIN, module="chatfn_where", distribution="chatfn-where")
    env = plugin_env(plugins, load="chatfn-where", base={**chatfn_env, "PYTHONIOENCODING": "utf-8"})
    work = tmp_path / "work"
    work.mkdir()
    chat_server.script(text("Bonjour ✓"), text("Bonjour ✓"))
    for args, stdin in [
        (("--version",), b""),
        (("tools", "list"), b""),  # the plugin on PYTHONPATH, and what its module reports
        (("tools", "call", "where"), b""),  # the working directory
        (("chat", "--no-log"), "salut\n".encode()),  # a piped prompt and a UTF-8 answer
        (("chat", "--no-such-option"), b""),  # a usage error: exit 2
        (("logs", "show", "nope"), b""),  # a chatfn error: one line, exit 1
    ]:
        cold, forked = both(*args, env=env, cwd=work, stdin=stdin)
        assert forked == cold, args


def test_a_pty_is_the_controlling_terminal_and_ctrl_c_ends_the_session(chatfn_env) -> None:
    with PtyChatfn("chat", "--no-log", env=chatfn_env) as terminal:
        terminal.wait_for("User:")
        assert os.getsid(terminal.process.pid) == terminal.process.pid  # a session of its own
        tty = os.readlink(f"/proc/{terminal.process.pid}/fd/0")
        assert tty.startswith("/dev/pts/")
        with open(f"/proc/{terminal.process.pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        assert os.major(int(fields[4])) == os.major(os.stat(tty).st_rdev)  # tty_nr: its controlling terminal
        assert os.minor(int(fields[4])) == os.minor(os.stat(tty).st_rdev)
        terminal.process.send_signal(signal.SIGINT)
        try:
            status = terminal.wait(timeout=3)
        except AssertionError:  # the press fell into readline's gap before it waits for input
            terminal.process.send_signal(signal.SIGINT)
            status = terminal.wait()
        assert status == 0


def test_a_signal_that_kills_is_a_negative_status_as_popen_reports_it(chatfn_env, chat_server) -> None:
    chat_server.script(text("tick " * 500, delay=0.05))
    process = popen_chatfn("chat", "go", env=chatfn_env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.DEVNULL)
    chat_server.wait_for_requests(1, timeout=30)
    process.kill()
    process.communicate(timeout=10)
    assert process.returncode == -signal.SIGKILL
