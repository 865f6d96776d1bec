"""Schemas built from signatures, and schemas found valid, remembered between runs.

Building a schema from a signature needs pydantic, about 0.1 s to import: with a few
plugins installed, ``chatfn tools list`` would pay that on every run. A schema
depends only on the function's signature, its docstring and the types they name, so
it is cached under a key made of those and of the source file's size and mtime; an
edited plugin is simply rebuilt. Checking a schema against the JSON Schema metaschema
costs jsonschema's import (about 0.08 s) and more, so a schema found valid is
remembered too, under a hash of the schema itself: each plugin version's schemas are
checked once, not on every chat. The cache is an optimisation: any trouble reading
or writing it means building or checking the schema again, never an error.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from chatfn import __version__
from chatfn.tools.schema import SCHEMA_FORMAT

Builder = Callable[[Callable[..., Any], "str | None", "str | None"], dict[str, Any]]


class SchemaCache:
    """A JSON file of schemas keyed by what they were built from."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._entries: dict[str, Any] | None = None
        self._dirty = False

    def schema(
        self, function: Callable[..., Any], name: str | None, description: str | None, build: Builder
    ) -> dict[str, Any]:
        """The cached schema for ``function``, or ``build(function, name, description)``."""
        key = cache_key(function, name, description)
        entries = self._load()
        if key is not None and isinstance(entries.get(key), dict):
            return json.loads(json.dumps(entries[key]))  # a copy the caller may change
        built = build(function, name, description)
        if key is not None:
            entries[key] = built
            self._dirty = True
        return built

    def checked(self, parameters: Any) -> bool:
        """True when exactly these ``parameters`` passed the metaschema check before."""
        return self._load().get(checked_key(parameters)) is True

    def mark_checked(self, parameters: Any) -> None:
        """Remember that ``parameters`` passed the metaschema check."""
        key = checked_key(parameters)
        entries = self._load()
        if entries.get(key) is not True:
            entries[key] = True
            self._dirty = True

    def save(self) -> None:
        """Write new entries (atomically; concurrent writers each leave a whole file)."""
        if not self._dirty or self._entries is None:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            temporary = self.path.with_name(f"{self.path.name}.{os.getpid()}.tmp")
            temporary.write_text(json.dumps(self._entries), encoding="utf-8")
            os.replace(temporary, self.path)
            self._dirty = False
        except OSError:
            pass

    def _load(self) -> dict[str, Any]:
        if self._entries is None:
            try:
                loaded = json.loads(self.path.read_text(encoding="utf-8"))
                self._entries = loaded if isinstance(loaded, dict) else {}
            except (OSError, ValueError):
                self._entries = {}
        return self._entries


def cache_key(function: Callable[..., Any], name: str | None, description: str | None) -> str | None:
    """What the schema is built from, hashed; None when the function has no source file."""
    try:
        source = inspect.getsourcefile(function)
        signature = str(inspect.signature(function))
    except (TypeError, ValueError):
        return None
    if source is None:
        return None
    try:
        status = os.stat(source)
    except OSError:
        return None
    parts = [
        f"format {SCHEMA_FORMAT}",
        source,
        str(status.st_size),
        str(status.st_mtime_ns),
        getattr(function, "__module__", "") or "",
        getattr(function, "__qualname__", "") or "",
        signature,
        inspect.getdoc(function) or "",
        name or "",
        description or "",
    ]
    return hashlib.sha256("\0".join(parts).encode("utf-8", "surrogatepass")).hexdigest()


def checked_key(parameters: Any) -> str:
    """The key under which a valid schema is remembered: the schema's own canonical JSON, hashed."""
    text = json.dumps(parameters, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=repr)
    return "checked " + hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def default_cache() -> SchemaCache:
    """The cache in the user cache directory, one file per chatfn version."""
    from platformdirs import user_cache_dir

    return SchemaCache(Path(user_cache_dir("chatfn", appauthor=False)) / f"schemas-{__version__}.json")
