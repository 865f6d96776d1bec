"""Running the real ``chatfn`` CLI against a scripted server, isolated from the user's machine."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Protocol

from chatfn.testing.responses import DEFAULT_MODEL, FAKE_API_KEY
from chatfn.testing.server import ScriptedServer

# --------------------------------------------------------------------------- chatfn subprocesses


_REMOVED_PREFIXES = ("OPENAI_", "AZURE_OPENAI_")
_REMOVED_NAMES = frozenset(
    {"CHATFN_PROFILE", "CHATFN_SYSTEM_PROMPT", "CHATFN_CONFIG", "CHATFN_MODEL"}
    | {f"{name}_PROXY" for name in ("HTTP", "HTTPS", "ALL")}
    | {f"{name.lower()}_proxy" for name in ("HTTP", "HTTPS", "ALL")}
)


def chatfn_environment(
    server: ScriptedServer, directory: Path, *, base: Mapping[str, str] | None = None
) -> dict[str, str]:
    """A complete environment for a chatfn subprocess that talks only to ``server``.

    Starts from ``base`` (default ``os.environ``, so PATH and the like survive),
    drops every ``OPENAI_*``/``AZURE_OPENAI_*`` variable, proxies and chatfn's
    profile settings, then points chatfn at ``server`` with a fake key and keeps
    home, config (an empty file) and the conversation log inside ``directory``.
    """
    directory.mkdir(parents=True, exist_ok=True)
    home = directory / "home"
    env = {
        key: value
        for key, value in (os.environ if base is None else base).items()
        if not key.startswith(_REMOVED_PREFIXES) and key not in _REMOVED_NAMES
    }
    folders = {
        "XDG_CONFIG_HOME": home / ".config",
        "XDG_DATA_HOME": home / ".local" / "share",
        "XDG_CACHE_HOME": home / ".cache",
        "XDG_STATE_HOME": home / ".local" / "state",
    }
    for folder in folders.values():
        folder.mkdir(parents=True, exist_ok=True)
    config = directory / "config.toml"
    config.touch()
    env.update({key: str(folder) for key, folder in folders.items()})
    env.update(
        {
            "HOME": str(home),
            "USERPROFILE": str(home),
            "OPENAI_BASE_URL": server.base_url,
            "OPENAI_API_KEY": FAKE_API_KEY,
            "CHATFN_MODEL": DEFAULT_MODEL,
            "CHATFN_CONFIG": str(config),
            "CHATFN_LOG_DB": str(directory / "log.db"),
            "NO_COLOR": "1",
            "NO_PROXY": "127.0.0.1,localhost",
            "PYTHONIOENCODING": "utf-8",
        }
    )
    return env


def run_chatfn_cli(
    *args: str,
    env: Mapping[str, str],
    input: str | None = None,
    input_bytes: bytes | None = None,
    timeout: float = 60.0,
    cwd: str | Path | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m chatfn ARGS`` with exactly ``env``; stdout and stderr come back as text.

    ``input_bytes`` feeds raw bytes (say, invalid UTF-8) instead of ``input``.
    """
    if input is not None and input_bytes is not None:
        raise ValueError("pass input or input_bytes, not both")
    command = [sys.executable, "-m", "chatfn", *args]
    data = input_bytes if input_bytes is not None else (input.encode("utf-8") if input is not None else None)
    completed = subprocess.run(
        command,
        input=data,
        stdin=subprocess.DEVNULL if data is None else None,
        capture_output=True,
        env=dict(env),
        cwd=cwd,
        timeout=timeout,
        check=False,
        start_new_session=True,  # no controlling terminal: an approval prompt cannot reach the tester's
    )
    return subprocess.CompletedProcess(
        command,
        completed.returncode,
        completed.stdout.decode("utf-8", "replace"),
        completed.stderr.decode("utf-8", "replace"),
    )


class RunChatfn(Protocol):
    """The ``run_chatfn`` fixture's call signature."""

    def __call__(
        self,
        *args: str,
        input: str | None = None,
        input_bytes: bytes | None = None,
        env: Mapping[str, str | None] | None = None,
        timeout: float = 60.0,
        cwd: str | Path | None = None,
    ) -> subprocess.CompletedProcess[str]: ...
