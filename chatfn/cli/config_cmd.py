"""`chatfn config`: where the config lives, what it resolves to, and a starting file."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Optional

import typer

from chatfn.cli.options import ConfigOption
from chatfn.errors import ConfigError
from chatfn.output.console import emit, status

app = typer.Typer(help="Show or create the configuration file.", no_args_is_help=True)



@app.command("path")
def path_command(config: Optional[Path] = ConfigOption) -> None:
    """Print the path of the config file chatfn reads."""
    from chatfn.settings.config import config_path

    emit(str(config_path(config)))


@app.command("show")
def show_command(
    config: Optional[Path] = ConfigOption,
    profiles: bool = typer.Option(False, "--profiles", help="List the profiles: built in and from the file."),
    as_json: bool = typer.Option(False, "--json", help="With --profiles: JSON instead of a table."),
) -> None:
    """Print the resolved config (defaults filled in) as JSON, with every secret redacted."""
    from chatfn.settings.config import load_config, redacted

    loaded = load_config(config)
    status(f"# from {loaded.source}" if loaded.source else "# no config file: defaults")
    if profiles:
        rows = profile_rows(loaded)
        if as_json:
            emit(json.dumps(rows, indent=2))  # --json gave stdout to chatfn alone: write through it
            return
        for row in rows:
            key = row["key_env"] and f"${row['key_env']} ({'set' if row['key_set'] else 'not set'})"
            name = ("* " if row["default"] else "  ") + row["name"]
            emit(f"{name:13} {row['origin']:20} {row['base_url'] or '-':57} {key or 'no key'}")
        return
    emit(json.dumps(redacted(loaded), indent=2))


def profile_rows(loaded: Any) -> list[dict[str, Any]]:
    """Every profile ``-p`` takes: the built-in ones, then the file's, each with its URL and key variable.

    Says whether the key variable is set, never what it holds.
    """
    import os

    from chatfn.settings.builtin_profiles import BUILTIN_PROFILES

    rows: list[dict[str, Any]] = []
    for name in [*BUILTIN_PROFILES, *(name for name in loaded.profiles if name not in BUILTIN_PROFILES)]:
        service = BUILTIN_PROFILES.get(name)
        profile = loaded.profiles.get(name)
        origin = "built in" if profile is None else ("file over built in" if service else "file")
        base_url = (profile and (profile.base_url or profile.endpoint)) or (service and service.base_url)
        if service is not None and service.provider == "azure" and not base_url:
            base_url = "$AZURE_OPENAI_ENDPOINT"
        key_env = (profile and profile.api_key_env) or (service.key_env if service else "OPENAI_API_KEY")
        rows.append(
            {
                "name": name,
                "origin": origin,
                "default": name == loaded.default_profile,
                "base_url": base_url,
                "base_url_env": service.base_url_env if service else None,
                "key_env": key_env,
                "key_set": bool(key_env and os.environ.get(key_env)),
                "source": service.source if service else None,
            }
        )
    return rows


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
        # 0600: the file may come to hold an api_key.
        descriptor = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(example_config())
        if os.name == "posix":
            os.chmod(target, 0o600)  # --force over an older, wider file
    except OSError as error:
        raise ConfigError(f"{target}: cannot write config file: {error.strerror or error}") from None
    status(f"wrote {target}")


def example_config() -> str:
    """The example config shipped inside the package (kept equal to config.example.toml)."""
    from importlib.resources import files

    return files("chatfn").joinpath("config.example.toml").read_text(encoding="utf-8")
