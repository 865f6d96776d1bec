"""Each MCP server's tool list, remembered between runs, keyed by the server's config.

Starting a server costs a process and an SDK import (about a second each here), so
``chatfn tools list`` and the first request of a chat read the tool list from this file
and start nothing. The key is a hash of everything the list depends on (command, args,
env, cwd, url, headers: :attr:`ServerConfig.key`), so an edited entry is asked again;
``--refresh`` asks every server again; and a call that finds the server's definition of
its tool changed refreshes the entry (see :mod:`chatfn.mcp.tools`).

Definitions are stored as the plain JSON the server sent (wire field names), so reading
them needs no SDK. The cache is an optimisation: trouble reading or writing it means
asking the servers again, never an error.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

_VERSION = 1


class ToolListCache:
    """A JSON file of ``server key -> {server, fetched, tools}``."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._entries: dict[str, Any] | None = None

    def get(self, key: str) -> list[dict[str, Any]] | None:
        """The cached tool definitions for a server config key, if any."""
        entry = self._load().get(key)
        if isinstance(entry, dict) and isinstance(entry.get("tools"), list):
            return [tool for tool in entry["tools"] if isinstance(tool, dict) and isinstance(tool.get("name"), str)]
        return None

    def put(self, key: str, server: str, tools: list[dict[str, Any]]) -> None:
        """Remember ``tools`` for ``key`` and write the file."""
        self._load()[key] = {"server": server, "fetched": time.time(), "tools": tools}
        self._save()

    def forget(self, keys: Iterable[str]) -> None:
        """Drop these servers' entries (``--refresh``)."""
        entries = self._load()
        changed = False
        for key in keys:
            changed = entries.pop(key, None) is not None or changed
        if changed:
            self._save()

    def _load(self) -> dict[str, Any]:
        if self._entries is None:
            try:
                data = json.loads(self.path.read_text(encoding="utf-8"))
                ok = isinstance(data, dict) and data.get("version") == _VERSION and isinstance(data.get("servers"), dict)
                self._entries = data["servers"] if ok else {}
            except (OSError, ValueError):
                self._entries = {}
        return self._entries

    def _save(self) -> None:
        write_private_json(self.path, {"version": _VERSION, "servers": self._entries})


def write_private_json(path: Path, data: Any) -> None:
    """Write ``data`` atomically (concurrent writers each leave a whole file), readable by the user only.

    Trouble writing is ignored: what is written here is remembered to save work, never needed.
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            json.dump(data, handle)
        os.replace(temporary, path)
    except OSError:
        pass


def default_cache() -> ToolListCache:
    """The cache in the user cache directory."""
    from platformdirs import user_cache_dir

    return ToolListCache(Path(user_cache_dir("chatfn", appauthor=False)) / "mcp-tools.json")
