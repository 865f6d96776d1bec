"""`chatfn config`: where the config lives, what it resolves to, and a starting file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from chatfn.cli.options import ConfigOption
from chatfn.errors import ConfigError
from chatfn.output.console import status

app = typer.Typer(help="Show or create the configuration file.", no_args_is_help=True)



@app.command("path")
def path_command(config: Optional[Path] = ConfigOption) -> None:
    """Print the path of the config file chatfn reads."""
    from chatfn.settings.config import config_path

    typer.echo(str(config_path(config)))


@app.command("show")
def show_command(config: Optional[Path] = ConfigOption) -> None:
    """Print the resolved config (defaults filled in) as JSON, with every secret redacted."""
    from chatfn.settings.config import load_config, redacted

    loaded = load_config(config)
    status(f"# from {loaded.source}" if loaded.source else "# no config file: defaults")
    typer.echo(json.dumps(redacted(loaded), indent=2))


@app.command("init")
def init_command(
    config: Optional[Path] = ConfigOption,
    force: bool = typer.Option(False, "--force", help="Overwrite an existing file."),
) -> None:
    """Write the documented example config to the user config path (never overwrites)."""
    from chatfn.settings.config import config_path

    target = config_path(config)
    if target.exists() and not force:
        raise ConfigError(f"{target}: already exists, not overwritten", hint="edit it, or pass --force")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(example_config(), encoding="utf-8")
    except OSError as error:
        raise ConfigError(f"{target}: cannot write config file: {error.strerror or error}") from None
    status(f"wrote {target}")


def example_config() -> str:
    """The example config shipped inside the package (kept equal to config.example.toml)."""
    from importlib.resources import files

    return files("chatfn").joinpath("config.example.toml").read_text(encoding="utf-8")
