"""Where output goes: the answer on stdout, everything else on stderr.

Colour only when the stream is a terminal and ``NO_COLOR`` is unset, so that
piped output stays plain. rich is imported only by code that renders Markdown.
"""

from __future__ import annotations

import os
import sys
from typing import TextIO

DIM = "\033[2m"
RED = "\033[31m"
YELLOW = "\033[33m"
BOLD = "\033[1m"
RESET = "\033[0m"


def is_terminal(stream: TextIO) -> bool:
    """True when ``stream`` is an interactive terminal."""
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def use_colour(stream: TextIO) -> bool:
    """Colour only for terminals, and never when ``NO_COLOR`` is set."""
    return is_terminal(stream) and "NO_COLOR" not in os.environ and os.environ.get("TERM") != "dumb"


def style(text: str, code: str, stream: TextIO | None = None) -> str:
    """Wrap ``text`` in an ANSI style when ``stream`` (default stderr) takes colour."""
    return f"{code}{text}{RESET}" if use_colour(stream or sys.stderr) else text


def one_line(text: str, limit: int) -> str:
    """``text`` squeezed to one line of at most ``limit`` characters."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def status(message: str) -> None:
    """A status line on stderr."""
    sys.stderr.write(message + "\n")
    sys.stderr.flush()


def warning(message: str) -> None:
    """A warning line on stderr."""
    status(style("warning: ", YELLOW) + message)


def error_line(message: str, *, hint: str | None = None) -> None:
    """The one line an error gets on stderr, with an optional hint after it."""
    text = " ".join(message.split("\n")) + (f" ({hint})" if hint else "")
    status(style("error: ", RED + BOLD) + scrub_secrets(text))


SECRET_WORDS = ("KEY", "TOKEN", "SECRET", "PASSWORD")


def scrub_secrets(text: str) -> str:
    """``text`` without the value of any secret-looking environment variable.

    A last line of defence for messages built from exceptions chatfn did not raise
    itself (a plugin's, a library's), which may quote a key they were given.
    """
    for name, value in os.environ.items():
        if len(value) >= 8 and any(word in name.upper() for word in SECRET_WORDS) and value in text:
            text = text.replace(value, "***")
    return text
