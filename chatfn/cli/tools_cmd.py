"""`chatfn tools` commands."""

from __future__ import annotations

import typer

app = typer.Typer(help="tools", no_args_is_help=True)
