"""`chatfn logs` commands."""

from __future__ import annotations

import typer

app = typer.Typer(help="logs", no_args_is_help=True)
