"""Isolation shared by every test: nothing from the user's machine leaks in or out.

Home and XDG directories point into the test's tmp_path, no config file is named,
no third-party plugin loads unless a test asks (CI installs plugins/ into the same
venv), the conversation log lives in tmp, and colour and API credentials are gone.
``monkeypatch`` edits ``os.environ`` itself, so CLI subprocesses inherit all of it.

Every fixture the tests share is defined here, once; plain helpers are in
``support.py``, the pseudo-terminal in ``terminal.py``, plugin packages made on
the fly in ``plugin_factory.py``. ``invoke_chatfn`` and ``cli`` run the CLI in
this process (one runner, :func:`chatfn.testing.invoke_chatfn_cli`); a real
process only where the process itself is under test: forked from a warm
interpreter (``zygote.py``) for ptys and signals, a cold ``python -m chatfn``
for import costs, the replay cache and installs. How the suite is spread over
cores, and why its temporary files live in memory, is below.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Callable

import pytest

pytest_plugins = ["chatfn.testing"]

# The suite rewrites the asserts of every test module in each worker and starts
# interpreters by the hundred; where PYTHONDONTWRITEBYTECODE is set (some CI images
# set it) each of them would compile its modules from source again: keep bytecode.
sys.dont_write_bytecode = False
os.environ.pop("PYTHONDONTWRITEBYTECODE", None)


def _temporary_files_in_memory() -> None:
    """Put tmp_path (and every child's tempfile) on a tmpfs when the machine has one and TMPDIR is unset.

    The tests make thousands of small files (a home, a config and a log database per
    chat) and SQLite syncs them; on a shared disk that costs more than the tests
    themselves (the 'not slow' run measured 25-28 s on disk, 19-20 s in /dev/shm, and
    86 s on disk while the disk was busy). A run leaves about 60 MB; a small tmpfs
    (a container's 64 MB /dev/shm) or one mounted noexec is left alone.
    """
    memory = "/dev/shm"
    if "TMPDIR" in os.environ or not os.path.isdir(memory) or not os.access(memory, os.W_OK | os.X_OK):
        return
    free = os.statvfs(memory)
    if free.f_bavail * free.f_frsize >= 1 << 30 and not free.f_flag & os.ST_NOEXEC:  # libffi maps code from TMPDIR
        os.environ["TMPDIR"] = memory
        tempfile.tempdir = None  # gettempdir() looks again


_temporary_files_in_memory()


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """``-n auto``: one worker more than there are cores.

    About a third of the suite's time is spent waiting (timeouts under test, child
    processes starting, a pty drawing), so a worker per core leaves the cores idle
    then; one more keeps them busy without crowding the tests that measure time.
    """
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return cores + 1

RunCli = Callable[..., subprocess.CompletedProcess[str]]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The slow tests first (longest first schedules best): spread over the xdist workers,
    the long ones then run side by side early instead of leaving one worker busy at the end."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


@pytest.fixture(autouse=True)
def isolated_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("USERPROFILE", str(home))
    for variable, folder in (
        ("XDG_CONFIG_HOME", ".config"),
        ("XDG_DATA_HOME", ".local/share"),
        ("XDG_CACHE_HOME", ".cache"),
        ("XDG_STATE_HOME", ".local/state"),
    ):
        (home / folder).mkdir(parents=True, exist_ok=True)
        monkeypatch.setenv(variable, str(home / folder))
    monkeypatch.delenv("CHATFN_CONFIG", raising=False)
    monkeypatch.delenv("CHATFN_DEBUG", raising=False)
    monkeypatch.setenv("CHATFN_LOAD_PLUGINS", "")
    # the same file chatfn_env (the kit's) names, so log_path is the log of every run of a test
    (tmp_path / "chatfn-env").mkdir()
    monkeypatch.setenv("CHATFN_LOG_DB", str(tmp_path / "chatfn-env" / "log.db"))
    monkeypatch.setenv("NO_COLOR", "1")
    for variable in list(os.environ):
        if variable.startswith(("OPENAI_", "AZURE_OPENAI_")):
            monkeypatch.delenv(variable)
    return home


@pytest.fixture(autouse=True)
def fresh_plugin_cache() -> None:
    """In-process tests each discover plugins anew (the CLI loads once per process)."""
    from chatfn.plugins.host import clear_cache

    clear_cache()


@pytest.fixture
def cli() -> RunCli:
    """Run the ``chatfn`` CLI in this process with the isolated environment above (``env`` replaces it)."""

    from chatfn.testing import invoke_chatfn_cli

    def run(*args: str, env: Mapping[str, str] | None = None, input: str | None = None, timeout: float = 60):
        return invoke_chatfn_cli(*args, env=dict(os.environ) if env is None else env, input=input, timeout=timeout)

    return run


@pytest.fixture
def local_port():
    """``local_port()``: a free port on 127.0.0.1; ``local_port.wait(port)``: until something listens there."""
    import socket
    import time

    def free() -> int:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            return probe.getsockname()[1]

    def wait(port: int, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.1)
        raise TimeoutError(f"nothing listens on 127.0.0.1:{port}")

    free.wait = wait  # type: ignore[attr-defined]
    return free


@pytest.fixture
def processes_with():
    """``processes_with(marker)``: the live processes (not zombies) whose command line holds ``marker``."""

    def find(marker: str) -> list[int]:
        found = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit() or int(entry.name) == os.getpid():
                continue
            try:
                command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                state = (entry / "stat").read_text().split(") ", 1)[1].split()[0]
            except (OSError, IndexError):
                continue
            if marker in command and state != "Z":
                found.append(int(entry.name))
        return found

    return find


@pytest.fixture
def log_path(tmp_path: Path) -> Path:
    """The conversation log every chatfn run of a test writes to (with or without ``chatfn_env``)."""
    return tmp_path / "chatfn-env" / "log.db"


@pytest.fixture
def terminal_env(chatfn_env: dict[str, str]) -> dict[str, str]:
    """``chatfn_env`` for a chatfn in a pseudo-terminal (:class:`terminal.Terminal`)."""
    return {**chatfn_env, "TERM": "xterm-256color"}


@pytest.fixture
def chat_plugin_env(tmp_path: Path) -> dict[str, str]:
    """Environment entries that make a chatfn run load the tools of ``chat_plugin.py`` (and the built-ins)."""
    from chat_plugin import SOURCE
    from plugin_factory import make_plugin

    directory = make_plugin(
        tmp_path / "chat-tools",
        SOURCE,
        module="chatfn_chat_tools",
        distribution="chatfn-chat-tools",
        entry_point="chattools",
    )
    return {"PYTHONPATH": str(directory), "CHATFN_LOAD_PLUGINS": "chattools"}
