"""`chatfn chat`: the interactive or one-shot chat command."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add the chat command to ``app``."""
