"""One meaning for each option name across every command."""

from __future__ import annotations

from collections import defaultdict
from typing import Any, Iterator

import typer

from chatfn.cli import app


def _commands(command: Any, path: str = "chatfn") -> Iterator[tuple[str, Any]]:
    yield path, command
    if hasattr(command, "commands"):
        for name, sub in command.commands.items():
            yield from _commands(sub, f"{path} {name}")


def test_each_short_option_means_one_thing_in_every_command() -> None:
    """A short option's commands share a long name for it (``-y`` is ``--yes`` everywhere)."""
    found: dict[str, dict[frozenset[str], list[str]]] = defaultdict(lambda: defaultdict(list))
    root: Any = typer.main.get_command(app)
    for path, command in _commands(root):
        for parameter in command.params:
            names = [*parameter.opts, *parameter.secondary_opts]
            if not all(name.startswith("-") for name in parameter.opts):
                continue  # an argument
            longs = frozenset(name for name in names if name.startswith("--"))
            for short in (name for name in names if not name.startswith("--")):
                found[short][longs].append(path)
    clashes = {
        short: dict(meanings)
        for short, meanings in found.items()
        if len(meanings) > 1 and not frozenset.intersection(*meanings)
    }
    assert not clashes
    assert set(found["-c"]) == {frozenset({"--continue"})}
