"""``chatfn PROMPT`` means ``chatfn chat PROMPT``: the command line people coming from llm type.

Whenever the first argument is not a command's name (nor one of the root's own
options), ``chat`` is put in front of the arguments, so ``chatfn "a question"``,
``chatfn -m gpt-4o "a question"`` and ``git diff | chatfn`` all chat. The one
ambiguity, a prompt that is exactly a command's name (``chatfn tools``), runs the
command; ``chatfn chat tools`` or ``chatfn -- tools`` sends it as a prompt.
``chatfn`` alone in a terminal still shows the help.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Collection, Sequence
from typing import IO

DEFAULT_COMMAND = "chat"
ROOT_OPTIONS = frozenset({"--version", "-h", "--help", "--install-completion", "--show-completion"})


def with_default_command(argv: Sequence[str], commands: Collection[str], stdin: IO[bytes] | IO[str] | None) -> list[str]:
    """``argv`` with ``chat`` put in front when it names no command; unchanged otherwise."""
    args = list(argv)
    if not args:
        return [DEFAULT_COMMAND] if stdin is not None and is_piped(stdin) else args
    first = args[0]
    if first in commands or first in ROOT_OPTIONS:
        return args
    return [DEFAULT_COMMAND, *args]


def is_piped(stream: IO[bytes] | IO[str]) -> bool:
    """True when ``stream`` is a pipe or a redirected file: text is waiting to be read.

    A terminal is not, and neither is ``/dev/null`` (a character device), so
    ``chatfn`` run from a terminal or with no input at all shows the help.
    """
    try:
        mode = os.fstat(stream.fileno()).st_mode
    except (AttributeError, OSError, ValueError):
        return False
    return stat.S_ISFIFO(mode) or stat.S_ISREG(mode) or stat.S_ISSOCK(mode)


def command_names(app: object) -> set[str]:
    """The names of a Typer app's commands and command groups, without building its click group."""
    names: set[str] = set()
    for command in getattr(app, "registered_commands", []):
        name = command.name or (command.callback.__name__.replace("_", "-") if command.callback else None)
        if name:
            names.add(name)
    for group in getattr(app, "registered_groups", []):
        name = group.name or getattr(group.typer_instance.info, "name", None)
        if name:
            names.add(name)
    return names
