"""The one place that says what to do when the optional ``mcp`` SDK is missing."""

from __future__ import annotations

import importlib.util

from chatfn.errors import ConfigError

INSTALL_HINT = "pip install 'chatfn[mcp]'"


def require_sdk(why: str) -> None:
    """Raise a one-line :class:`ConfigError` with the install command unless ``mcp`` can be imported."""
    try:
        found = importlib.util.find_spec("mcp") is not None
    except (ImportError, ValueError):
        found = False
    if not found:
        raise ConfigError(f"{why}, but the MCP SDK is not installed", hint=INSTALL_HINT)
