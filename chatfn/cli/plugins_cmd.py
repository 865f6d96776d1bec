"""`chatfn plugins` commands."""

from __future__ import annotations

import typer

app = typer.Typer(help="plugins", no_args_is_help=True)
