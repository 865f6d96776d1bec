"""A finished command ends without the interpreter's teardown, yet loses nothing a normal exit keeps.

Real processes: what is checked is what happens after ``main`` returns.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from plugin_factory import make_plugin, plugin_env

pytestmark = pytest.mark.slow  # a chatfn process per test

PLUGIN = '''
import atexit, os, threading, time
import chatfn

OUT = {out!r}
LOG = open(OUT + ".log", "w")  # kept open for the life of the process, never flushed by the plugin


class Witness:
    def __del__(self, path=OUT + ".teardown", os=os):  # bound now: builtins are gone at teardown
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT))


WITNESS = Witness()


def late_write():
    time.sleep(0.3)
    with open(OUT + ".thread", "w") as file:
        file.write("thread done")


@atexit.register
def farewell():
    with open(OUT + ".atexit", "w") as file:
        file.write("atexit ran")


def note(text: str) -> str:
    """Note the text."""
    LOG.write(text)
    if text == "wait":
        threading.Thread(target=late_write, daemon=False).start()  # tools run in daemon threads
    return "noted " + text


@chatfn.hookimpl
def register_tools(register):
    register(note)
'''


def call_note(tmp_path: Path, text: str) -> tuple[subprocess.CompletedProcess[str], Path]:
    out = tmp_path / "out"
    plugins = make_plugin(tmp_path / "plugins", PLUGIN.format(out=str(out)), module="exit_plugin", distribution="exit-plugin")
    done = subprocess.run(
        [sys.executable, "-m", "chatfn", "tools", "call", "note", f"text={text}"],
        env=plugin_env(plugins, load="exit-plugin"),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return done, out


def read(path: Path) -> str | None:
    return path.read_text(encoding="utf-8") if path.exists() else None


def test_atexit_handlers_run_and_open_files_are_flushed_but_no_teardown(tmp_path: Path) -> None:
    done, out = call_note(tmp_path, "hello")
    assert (done.returncode, done.stdout) == (0, "noted hello\n")
    assert read(out.with_suffix(".atexit")) == "atexit ran"
    assert read(out.with_suffix(".log")) == "hello"
    assert not out.with_suffix(".teardown").exists()  # objects are not finalised one by one


def test_a_running_thread_that_is_not_a_daemon_is_waited_for(tmp_path: Path) -> None:
    done, out = call_note(tmp_path, "wait")
    assert (done.returncode, done.stdout) == (0, "noted wait\n")
    assert read(out.with_suffix(".thread")) == "thread done"
    assert read(out.with_suffix(".atexit")) == "atexit ran"
