"""`chatfn models`: the models a profile's server offers, with the one chatfn would use marked."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Optional

import typer

from chatfn.errors import ConfigError
from chatfn.output.console import emit
from chatfn.output.sanitize import json_safe, visible

UNNAMED_MODEL = "(none)"
"""Stands in for the model while resolving a profile only to list its server's models."""


def register(app: typer.Typer) -> None:
    """Add the models command to ``app``."""
    app.command("models")(models)


def models(
    profile: Optional[str] = typer.Option(None, "--profile", "-p", help="Profile (built in or from the config)."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable JSON on stdout."),
    config: Optional[Path] = typer.Option(None, "--config", help="Config file."),
) -> None:
    """List the models the profile's server offers (GET /models); '*' marks the default."""
    from chatfn.output.console import status, warning
    from chatfn.settings.config import load_config
    from chatfn.wire.models import list_models

    endpoint, default = endpoint_for_listing(load_config(config), profile)
    listing = list_models(endpoint)
    ids = [entry.id for entry in listing.models]
    if as_json:
        data: dict[str, Any] = {
            "profile": endpoint.profile,
            "url": listing.url,
            "kind": listing.kind,
            "default": default,
            "models": [
                {"id": entry.id, "owned_by": entry.owned_by, "model": entry.model, "default": entry.id == default}
                for entry in listing.models
            ],
        }
        emit(json_safe(json.dumps(data, indent=2, ensure_ascii=False)))
        return
    status(visible(f"# {len(ids)} {listing.kind} at {listing.url}"))
    if listing.kind == "models" and endpoint.provider == "azure":
        status("# Azure lists deployments only through its management API: these are the models it can deploy")
    for entry in listing.models:
        mark = "*" if entry.id == default else " "
        behind = f"  ({entry.model})" if entry.model else ""
        emit(visible(f"{mark} {entry.id}{behind}"))
    if default is not None and default not in ids:
        warning(f"the default {'deployment' if endpoint.provider == 'azure' else 'model'} {default!r} is not listed")


def endpoint_for_listing(settings: Any, profile: Optional[str]) -> tuple[Any, Optional[str]]:
    """The profile's endpoint and its default model; listing works even when no model is set."""
    from chatfn.wire.endpoint import resolve_endpoint

    try:
        endpoint = resolve_endpoint(settings, profile=profile)
        return endpoint, endpoint.model
    except ConfigError as error:
        try:  # was the model the only thing missing? Then list without marking one.
            endpoint = resolve_endpoint(settings, profile=profile, model=UNNAMED_MODEL)
        except ConfigError:
            raise error from None
        return endpoint, None
