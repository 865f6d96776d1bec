"""Which model to talk to, and the openai SDK client that talks to it.

A profile from the config, or with no profile the environment the original
sample used (``OPENAI_*`` or ``AZURE_OPENAI_*``), resolves to an
:class:`Endpoint`. Only :func:`make_client` imports the SDK, so nothing that merely
resolves settings pays for it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Literal

from chatfn.errors import ConfigError
from chatfn.settings.config import DEFAULT_SYSTEM_PROMPT, Config, Profile

OPENAI_DEFAULT_BASE_URL = "https://api.openai.com/v1"
NO_KEY = "no-key-needed"


@dataclass(frozen=True)
class Endpoint:
    """Everything needed to reach one model, with its settings resolved."""

    profile: str
    provider: Literal["openai", "azure"]
    model: str
    base_url: str | None
    api_version: str | None
    api_key: str | None = field(repr=False)
    key_source: str
    api: Literal["tools", "functions", "responses"]
    system_prompt: str
    timeout: float
    max_retries: int
    stream_usage: bool
    headers: dict[str, str] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)
    store: bool = False
    """Responses API only: let the server keep responses and continue with ``previous_response_id``."""

    @property
    def azure_v1(self) -> bool:
        """An Azure profile on the Responses API's GA route, ``{endpoint}/openai/v1`` (no api-version)."""
        return self.provider == "azure" and self.api == "responses" and self.api_version in (None, "v1")

    @property
    def url(self) -> str:
        """The address requests go to, for messages."""
        if self.provider == "azure":
            root = (self.base_url or "").rstrip("/")
            if self.api == "responses":
                return f"{root}/openai/v1" if self.azure_v1 else f"{root}/openai"
            return f"{root}/openai/deployments/{self.model}"
        return self.base_url or OPENAI_DEFAULT_BASE_URL

    def describe(self) -> str:
        """``<url> (model x)`` or ``<url> (deployment x)``, for error messages."""
        what = "deployment" if self.provider == "azure" else "model"
        return f"{self.url} ({what} {self.model})"


def resolve_endpoint(
    config: Config,
    *,
    profile: str | None = None,
    model: str | None = None,
    system_prompt: str | None = None,
) -> Endpoint:
    """Resolve flags, environment, file and defaults, in that order of precedence."""
    name = profile or os.environ.get("CHATFN_PROFILE") or config.default_profile
    if name is None and len(config.profiles) == 1:
        name = next(iter(config.profiles))
    if name is not None:
        if name not in config.profiles:
            known = ", ".join(sorted(config.profiles)) or "none defined"
            raise ConfigError(f"no profile named {name!r} (profiles: {known})", hint=_where(config))
        settings = config.profiles[name]
    elif config.profiles:
        raise ConfigError(
            f"several profiles ({', '.join(sorted(config.profiles))}) and no default_profile",
            hint="pass -p NAME or set default_profile in " + _where(config),
        )
    else:
        azure = bool(os.environ.get("AZURE_OPENAI_ENDPOINT")) and not os.environ.get("OPENAI_BASE_URL")
        settings = Profile(provider="azure" if azure else "openai")
        name = "environment"
    model = model or os.environ.get("CHATFN_MODEL")
    if settings.provider == "azure":
        return _azure(name, settings, config, model, system_prompt)
    return _openai(name, settings, config, model, system_prompt)


def _openai(name: str, p: Profile, config: Config, model: str | None, system: str | None) -> Endpoint:
    base_url = p.base_url or os.environ.get("OPENAI_BASE_URL") or None
    model = model or p.model
    if not model:
        raise ConfigError(
            f"no model for profile {name!r}",
            hint="pass -m MODEL, set $CHATFN_MODEL, or set model in the profile",
        )
    key, source = _key(p, default_env="OPENAI_API_KEY")
    if key is None and base_url is None:
        raise ConfigError("no API key for OpenAI", hint="set $OPENAI_API_KEY, or api_key_env in the profile")
    return _endpoint(name, p, config, "openai", model, base_url, None, key, source, system)


def _azure(name: str, p: Profile, config: Config, model: str | None, system: str | None) -> Endpoint:
    endpoint = p.endpoint or p.base_url or os.environ.get("AZURE_OPENAI_ENDPOINT")
    if not endpoint:
        raise ConfigError("no Azure OpenAI endpoint", hint="set $AZURE_OPENAI_ENDPOINT or endpoint in the profile")
    deployment = model or p.deployment or p.model or os.environ.get("AZURE_OPENAI_CHAT_DEPLOYMENT")
    if not deployment:
        raise ConfigError(
            "no Azure OpenAI deployment",
            hint="set $AZURE_OPENAI_CHAT_DEPLOYMENT, deployment in the profile, or pass -m",
        )
    version = p.api_version or os.environ.get("AZURE_OPENAI_API_VERSION") or os.environ.get("OPENAI_API_VERSION")
    if not version and p.api != "responses":  # the Responses API's v1 route takes none
        raise ConfigError(
            "no Azure OpenAI API version",
            hint="set $AZURE_OPENAI_API_VERSION (or $OPENAI_API_VERSION) or api_version in the profile",
        )
    key, source = _key(p, default_env="AZURE_OPENAI_API_KEY")
    if key is None:
        raise ConfigError("no Azure OpenAI API key", hint=f"set ${p.api_key_env or 'AZURE_OPENAI_API_KEY'}")
    system = system or os.environ.get("AZURE_OPENAI_SYSTEM_PROMPT")
    return _endpoint(name, p, config, "azure", deployment, endpoint, version, key, source, system)


def _key(p: Profile, *, default_env: str) -> tuple[str | None, str]:
    """The API key and a description of where it came from (never the key itself)."""
    if p.api_key_env:
        value = os.environ.get(p.api_key_env)
        if not value:
            raise ConfigError(f"${p.api_key_env} is not set", hint="the profile's api_key_env names it")
        return value, f"${p.api_key_env}"
    if p.api_key:
        return p.api_key, "api_key in the config file"
    value = os.environ.get(default_env)
    return (value or None), f"${default_env}"


def _endpoint(
    name: str,
    p: Profile,
    config: Config,
    provider: Literal["openai", "azure"],
    model: str,
    base_url: str | None,
    api_version: str | None,
    key: str | None,
    source: str,
    system: str | None,
) -> Endpoint:
    prompt = system or os.environ.get("CHATFN_SYSTEM_PROMPT") or p.system_prompt or config.system_prompt
    return Endpoint(
        profile=name,
        provider=provider,
        model=model,
        base_url=base_url,
        api_version=api_version,
        api_key=key,
        key_source=source,
        api=p.api,
        system_prompt=DEFAULT_SYSTEM_PROMPT if prompt is None else prompt,
        timeout=p.timeout,
        max_retries=p.max_retries,
        stream_usage=p.stream_usage,
        headers=dict(p.headers),
        params={**p.params, **p.options},
        store=p.store,
    )


def _where(config: Config) -> str:
    return str(config.source) if config.source else "the config file"


def make_client(endpoint: Endpoint) -> Any:
    """An openai SDK client for ``endpoint`` (imports the SDK: call only to talk to a model)."""
    import openai

    common: dict[str, Any] = {
        "timeout": endpoint.timeout,
        "max_retries": endpoint.max_retries,
        "default_headers": endpoint.headers or None,
    }
    if endpoint.azure_v1:  # GA v1 route: the plain client, the resource's key as the bearer token
        return openai.OpenAI(api_key=endpoint.api_key, base_url=endpoint.url, **common)
    if endpoint.provider == "azure":
        return openai.AzureOpenAI(
            api_key=endpoint.api_key,
            api_version=endpoint.api_version,
            azure_endpoint=endpoint.base_url,
            **common,
        )
    # The SDK insists on a key; a local server that needs none ignores this placeholder.
    return openai.OpenAI(api_key=endpoint.api_key or NO_KEY, base_url=endpoint.base_url, **common)
