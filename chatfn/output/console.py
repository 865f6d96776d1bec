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
    """A warning line on stderr; ``message`` is sanitised and redacted before it is styled."""
    status(style("warning: ", YELLOW) + safe_line(message))


def error_line(message: str, *, hint: str | None = None) -> None:
    """The one line an error gets on stderr, with an optional hint after it.

    Error messages quote servers, plugins and libraries: they are sanitised (control
    sequences shown, not obeyed) and redacted before chatfn's own styling is added.
    """
    text = " ".join(message.split("\n")) + (f" ({hint})" if hint else "")
    status(style("error: ", RED + BOLD) + safe_line(text))


def safe_line(text: str) -> str:
    """``text`` as it may be shown: secrets redacted, control characters made visible."""
    from chatfn.output.redact import redact_text
    from chatfn.output.sanitize import visible

    return visible(redact_text(text))


# -- stdout: chatfn's own, even when plugins print -------------------------------------

_answer: TextIO | None = None


def answer_stream() -> TextIO:
    """Where chatfn's own output goes: stdout, or its private copy once :func:`keep_stdout_private` ran."""
    return _answer or sys.stdout


def keep_stdout_private() -> None:
    """Give stdout to chatfn alone: file descriptor 1 and ``sys.stdout`` become stderr.

    In ``--json`` modes stdout must carry only chatfn's JSON, but a plugin may print
    at import, and a tool abandoned at its timeout may print at any later time, from
    Python or from a child process. Pointing fd 1 at stderr for the rest of the process
    catches all of them; chatfn writes through a private duplicate of the real stdout.
    """
    global _answer
    if _answer is not None:
        return
    try:
        sys.stdout.flush()
        private = os.dup(1)
        os.dup2(2, 1)
    except (OSError, ValueError):  # no usable descriptors (embedded): leave stdout alone
        return
    encoding = getattr(sys.stdout, "encoding", None) or "utf-8"
    _answer = open(private, "w", encoding=encoding, errors="replace", closefd=True)  # noqa: SIM115 - lives as long as the process
    sys.stdout = sys.stderr


def emit(text: str) -> None:
    """One piece of chatfn's own output (already sanitised by the caller) and a newline, on stdout."""
    stream = answer_stream()
    stream.write(text + "\n")
    stream.flush()
