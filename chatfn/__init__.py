"""chatfn: chat with OpenAI-compatible models that call tools from plugins.

A plugin needs one import::

    import chatfn

    @chatfn.hookimpl
    def register_tools(register):
        register(my_function)

Importing this package stays cheap on purpose: it pulls in pluggy's marker and
nothing else, so ``chatfn --version`` and ``chatfn tools list`` start fast.
"""

from __future__ import annotations

import pluggy

__version__ = "0.1.0"

PROJECT_NAME = "chatfn"
"""One name for the hook markers, the plugin manager and the entry-point group."""

hookimpl = pluggy.HookimplMarker(PROJECT_NAME)
"""Decorator that marks a plugin's hook implementations."""

__all__ = ["PROJECT_NAME", "__version__", "hookimpl"]
