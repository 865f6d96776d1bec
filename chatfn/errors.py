"""The errors chatfn raises on purpose, handled at the CLI's edge.

Each is shown to the user as one line on stderr (plus a hint where there is a
next step) and maps to an exit code::

    ChatfnError              1  runtime failure
    ├── ConfigError          2  config file, profile, setting or variable missing or wrong
    ├── UsageError           2  bad command-line input
    ├── PluginError          1  a plugin could not be loaded (reported, never fatal for others)
    ├── ToolError            1  a tool failed when run directly (``chatfn tools call``)
    ├── ProviderError        1  the model server failed: connection, HTTP status, bad stream
    └── LogError             1  the conversation log cannot be opened or written

    KeyboardInterrupt      130  the user pressed Ctrl-C (Typer and the chat loop handle it)
    └── HangUp             130  the terminal went away (SIGHUP) or chatfn was told to stop (SIGTERM):
                                an interrupt that keeps the partial answer and ends a session
"""

from __future__ import annotations

__all__ = [
    "ChatfnError",
    "ConfigError",
    "EXIT_FAILURE",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_USAGE",
    "HangUp",
    "LogError",
    "PluginError",
    "ProviderError",
    "ToolError",
    "UsageError",
]

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


class ChatfnError(Exception):
    """Base of every error chatfn reports as one line."""

    exit_code: int = EXIT_FAILURE

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message


class ConfigError(ChatfnError):
    """Config file, profile, setting or environment variable is missing or wrong."""

    exit_code = EXIT_USAGE


class UsageError(ChatfnError):
    """Bad command-line input."""

    exit_code = EXIT_USAGE


class PluginError(ChatfnError):
    """A plugin could not be loaded or registered something invalid."""


class ToolError(ChatfnError):
    """A tool failed when run directly."""


class ProviderError(ChatfnError):
    """The model server could not be reached or answered with an error."""


class LogError(ChatfnError):
    """The conversation log cannot be opened or written."""


class HangUp(KeyboardInterrupt):
    """The terminal was closed (SIGHUP): stop like Ctrl-C, keep what arrived, and leave."""
