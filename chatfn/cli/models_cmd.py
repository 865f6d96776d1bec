"""`chatfn models`: the models a profile's server offers, with the one chatfn would use marked."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Optional

import typer

from chatfn.cli.options import ConfigOption
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
    config: Optional[Path] = ConfigOption,
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


COMPLETION_CACHE_SECONDS = 300
COMPLETION_TIMEOUT_SECONDS = 3.0


def complete_model(ctx: typer.Context, incomplete: str) -> list[str]:
    """Shell completion for ``-m``: the profile's models, cached a few minutes; nothing on any failure.

    Completion runs on every Tab, so the listing is kept in the user cache (ids only)
    and a slow or absent server costs at most a few seconds, once.
    """
    try:
        from chatfn.settings.config import load_config

        params = ctx.params
        settings = load_config(params.get("config"))
        endpoint, _ = endpoint_for_listing(settings, params.get("profile"))
        ids = _cached_ids(endpoint)
    except Exception:  # completion must never print a traceback into the user's shell
        return []
    return [name for name in ids if name.startswith(incomplete)]


def _cached_ids(endpoint: Any) -> list[str]:
    import time
    from dataclasses import replace

    from platformdirs import user_cache_dir

    from chatfn.wire.models import list_models

    path = Path(user_cache_dir("chatfn", appauthor=False)) / "models.json"
    key = f"{endpoint.provider} {endpoint.url if endpoint.provider != 'azure' else endpoint.base_url}"
    try:
        cache = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        cache = {}
    entry = cache.get(key) if isinstance(cache, dict) else None
    if isinstance(entry, dict) and time.time() - float(entry.get("at", 0)) < COMPLETION_CACHE_SECONDS:
        return [str(name) for name in entry.get("ids", [])]
    quick = replace(endpoint, timeout=COMPLETION_TIMEOUT_SECONDS, max_retries=0)
    ids = [entry.id for entry in list_models(quick).models]
    cache = cache if isinstance(cache, dict) else {}
    cache[key] = {"at": time.time(), "ids": ids}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(cache), encoding="utf-8")
    except OSError:
        pass
    return ids


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
