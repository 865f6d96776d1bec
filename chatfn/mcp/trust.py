"""What each MCP tool looked like when the user last let it run.

A server can change a tool's description, schema or annotations at any time, for
instance to widen what an approved tool does. chatfn keeps a fingerprint of every MCP
tool definition that ran (so was approved, by the user or by their policy); when the
definition offered now differs from that fingerprint, the tool is pointed out and asks
before it runs again, whatever its annotations say.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from chatfn.mcp.cache import write_private_json


def fingerprint(definition: dict[str, Any]) -> str:
    """A hash of everything about a tool definition that can change what it does or claims."""
    material = {key: definition.get(key) for key in ("name", "title", "description", "inputSchema", "annotations")}
    return hashlib.sha256(json.dumps(material, sort_keys=True, default=str).encode("utf-8", "surrogatepass")).hexdigest()


def changes(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """Which parts of a definition differ, in words, for the notice."""
    labels = {"description": "description", "inputSchema": "input schema", "annotations": "annotations", "title": "title"}
    return [label for key, label in labels.items() if old.get(key) != new.get(key)]


class ApprovedDefinitions:
    """A JSON file of ``server key / tool -> fingerprint`` of the definitions that ran."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._entries: dict[str, str] | None = None

    def approved(self, server_key: str, tool: str) -> str | None:
        """The fingerprint of ``tool``'s definition when it last ran, if it ever did."""
        return self._load().get(f"{server_key}/{tool}")

    def record(self, server_key: str, tool: str, print_: str) -> None:
        """Remember that ``tool`` ran with the definition of fingerprint ``print_``."""
        entries = self._load()
        if entries.get(f"{server_key}/{tool}") == print_:
            return
        entries[f"{server_key}/{tool}"] = print_
        write_private_json(self.path, entries)

    def _load(self) -> dict[str, str]:
        if self._entries is None:
            try:
                data = json.loads(self.path.read_text(encoding="utf-8"))
                self._entries = {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}
            except (OSError, ValueError):
                self._entries = {}
        return self._entries


def default_store() -> ApprovedDefinitions:
    """The store in the user state directory."""
    from platformdirs import user_state_dir

    return ApprovedDefinitions(Path(user_state_dir("chatfn", appauthor=False)) / "mcp-approved.json")
