"""The plugin contract: the hooks a chatfn plugin may implement.

This module is public API. Third-party packages code against it, so it changes
only by adding: a new hook, or a new keyword argument to an existing hook (pluggy
passes an implementation only the arguments it names, so old plugins keep working).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol

import pluggy

from chatfn import PROJECT_NAME

__all__ = [
    "hookspec",
    "Register",
    "register_tools",
]

hookspec = pluggy.HookspecMarker(PROJECT_NAME)


class Register(Protocol):
    """The ``register`` callable handed to :func:`register_tools`."""

    def __call__(
        self,
        function: Callable[..., Any],
        name: str | None = None,
        *,
        schema: Mapping[str, Any] | None = None,
        description: str | None = None,
        needs_approval: bool = False,
        timeout: float | None = None,
        read_only_hint: bool | None = None,
        destructive_hint: bool | None = None,
        idempotent_hint: bool | None = None,
        open_world_hint: bool | None = None,
        private_data: bool = False,
        approval_scope: Callable[[dict[str, Any]], str] | None = None,
        isolated: bool = False,
    ) -> None:
        """Offer ``function`` to the model as a tool.

        Args:
            function: A sync or ``async def`` callable. It is called with keyword
                arguments (the model's JSON object) and returns a string or any
                JSON-serialisable value.
            name: The tool's public name (default: the function's ``__name__``).
                Must match ``^[a-zA-Z0-9_-]{1,64}$``.
            schema: An explicit OpenAI function schema
                (``{"name", "description", "parameters"}``), as the original sample's
                ``FunctionFactory.add_function(schema, function)`` took. Without it the
                schema is built from the signature and docstring.
            description: Overrides the description taken from the docstring.
            needs_approval: Ask the user before each call (config can override).
            timeout: Default timeout in seconds for this tool (config can override).
            read_only_hint: The tool changes nothing (MCP's ``readOnlyHint``). None: not said.
            destructive_hint: A change it makes may destroy data (MCP's ``destructiveHint``).
            idempotent_hint: Two identical calls do no more than one (MCP's ``idempotentHint``).
            open_world_hint: It reaches beyond this machine, e.g. the network (MCP's ``openWorldHint``).
                The default policy asks before such a tool runs once the conversation holds
                private data, so that nothing private leaves unasked.
            private_data: Its results are the user's private data (a file's contents, a
                command's output); the conversation is marked as holding private data.
            approval_scope: ``scope(arguments) -> str``: what an ``[a]lways`` answer covers,
                e.g. the exact command line; calls with another scope are asked again.
                Default: the whole tool.
            isolated: Run each call in a worker process that chatfn kills at the timeout or
                on Ctrl-C, for code that may hold the GIL (regexes, parsers, C extensions).
                The function and its arguments must be picklable; calls cost a process start.
        """


@hookspec
def register_tools(register: Register, plugin_config: Mapping[str, Mapping[str, Any]]) -> None:
    """Register the plugin's tools by calling ``register`` once per tool.

    Args:
        register: See :class:`Register`.
        plugin_config: Every ``[plugins.<name>]`` table of the user's config, keyed by
            ``<name>``; a plugin reads its own table (``plugin_config.get("files", {})``).
            Optional: an implementation that does not name it does not receive it.
    """
