"""Which model to talk to, and the openai SDK client that talks to it.

A profile from the config, or with no profile the environment the original
sample used (``OPENAI_*`` or ``AZURE_OPENAI_*``), resolves to an
:class:`Endpoint`, each setting by the one rule in :mod:`chatfn.settings.resolve`. Only :func:`make_client` imports the SDK, so nothing that merely
resolves settings pays for it.
"""

from __future__ import annotations

import functools
import os
import weakref
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from chatfn.errors import ConfigError
from chatfn.settings.builtin_profiles import BUILTIN_PROFILES, Service, builtin_profile
from chatfn.settings.config import Config, Profile
from chatfn.settings.resolve import SETTINGS, resolve, value
from chatfn.wire.sse import MIB, SSEDecoder

if TYPE_CHECKING:
    import ssl

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
    stream_max_event_mib: float = 16.0
    stream_max_body_mib: float = 256.0
    stream_idle_timeout: float = 300.0

    def stream_decoder(self) -> SSEDecoder:
        """An SSE decoder with this endpoint's limits."""
        return SSEDecoder(
            max_event_bytes=int(self.stream_max_event_mib * MIB),
            max_body_bytes=int(self.stream_max_body_mib * MIB),
            idle_timeout=self.stream_idle_timeout,
        )

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
        from chatfn.output.redact import redact_url

        what = "deployment" if self.provider == "azure" else "model"
        return f"{redact_url(self.url)} ({what} {self.model})"


def resolve_endpoint(
    config: Config,
    *,
    profile: str | None = None,
    model: str | None = None,
    system_prompt: str | None = None,
) -> Endpoint:
    """Resolve every setting of the chosen profile by :func:`~chatfn.settings.resolve.resolve`."""
    name, settings = choose_profile(config, profile)
    if settings.provider == "azure":
        return _azure(name, settings, config, model, system_prompt)
    return _openai(name, settings, config, model, system_prompt)


def choose_profile(config: Config, flag: str | None = None) -> tuple[str, Profile]:
    """The profile to use: ``-p``, ``$CHATFN_PROFILE``, ``default_profile``, else a default.

    The default is the file's only profile when it has exactly one; otherwise the
    profile the environment describes (``AZURE_OPENAI_ENDPOINT`` for Azure,
    ``OPENAI_API_KEY`` or ``OPENAI_BASE_URL`` for OpenAI), so the example file that
    ``chatfn config init`` writes, which names no default, leaves an environment-only
    setup working. ``AZURE_OPENAI_*`` and ``OPENAI_*`` fill in a profile's settings;
    they never override a profile chosen by name.
    """
    chosen = resolve("profile", flag=flag, file=config.default_profile)
    if chosen.value is not None:
        if chosen.value in config.profiles:
            return chosen.value, config.profiles[chosen.value]
        service = builtin_profile(chosen.value)
        if service is not None:  # its settings are filled in as defaults (see _openai, _azure, _key)
            return chosen.value, Profile(provider=service.provider)
        known = ", ".join(sorted(config.profiles)) or "none defined"
        where = _where(config) if chosen.source == "file" else chosen.source
        raise ConfigError(
            f"no profile named {chosen.value!r} (profiles: {known}; built in: {', '.join(BUILTIN_PROFILES)})",
            hint=f"from {where}",
        )
    if len(config.profiles) == 1:
        return next(iter(config.profiles.items()))
    described = _environment_profile()
    if described is None and config.profiles:
        raise ConfigError(
            f"several profiles ({', '.join(sorted(config.profiles))}) and no default_profile",
            hint="pass -p NAME, set $CHATFN_PROFILE, set default_profile in "
            + _where(config)
            + ", or set $OPENAI_API_KEY / $AZURE_OPENAI_ENDPOINT",
        )
    return "environment", described or Profile()


def _environment_profile() -> Profile | None:
    """The profile the environment describes, as in the original sample; None if it describes none."""
    if value("endpoint") and not value("base_url"):
        return Profile(provider="azure")
    if value("api_key") or value("base_url"):
        return Profile(provider="openai")
    return None


def _openai(name: str, p: Profile, config: Config, model: str | None, system: str | None) -> Endpoint:
    service = builtin_profile(name)
    if service is not None:  # the service's URL is the default; only its own variable moves it
        base_url = value("base_url", env=(service.base_url_env,), file=p.base_url, default=service.base_url)
    else:
        base_url = value("base_url", file=p.base_url)
    model = value("model", flag=model, file=p.model)
    if not model:
        raise ConfigError(
            f"no model for profile {name!r}",
            hint="pass -m MODEL, set $CHATFN_MODEL, or set model in the profile"
            + (f"; 'chatfn models -p {name}' lists them" if service is not None else ""),
        )
    key, source = _key(p, "api_key", service)
    if key is None and base_url is None:
        raise ConfigError("no API key for OpenAI", hint="set $OPENAI_API_KEY, or api_key_env in the profile")
    prompt = _system_prompt("system_prompt", p, config, system)
    return _endpoint(name, p, "openai", model, base_url, None, key, source, prompt)


def _azure(name: str, p: Profile, config: Config, model: str | None, system: str | None) -> Endpoint:
    endpoint = value("endpoint", file=p.endpoint or p.base_url)
    if not endpoint:
        raise ConfigError("no Azure OpenAI endpoint", hint="set $AZURE_OPENAI_ENDPOINT or endpoint in the profile")
    deployment = value("deployment", flag=model, file=p.deployment or p.model)
    if not deployment:
        raise ConfigError(
            "no Azure OpenAI deployment",
            hint="set $AZURE_OPENAI_CHAT_DEPLOYMENT, deployment in the profile, or pass -m",
        )
    version = value("api_version", file=p.api_version)
    if not version and p.api != "responses":  # the Responses API's v1 route takes none
        raise ConfigError(
            "no Azure OpenAI API version",
            hint="set $AZURE_OPENAI_API_VERSION (or $OPENAI_API_VERSION) or api_version in the profile",
        )
    key, source = _key(p, "azure_api_key", builtin_profile(name))
    if key is None:
        raise ConfigError("no Azure OpenAI API key", hint=f"set ${p.api_key_env or 'AZURE_OPENAI_API_KEY'}")
    prompt = _system_prompt("azure_system_prompt", p, config, system)
    return _endpoint(name, p, "azure", deployment, endpoint, version, key, source, prompt)


def _key(p: Profile, setting: str, service: Service | None = None) -> tuple[str | None, str]:
    """The API key and a description of where it came from (never the key itself).

    The variable the profile's ``api_key_env`` names replaces the provider's usual
    one; either beats ``api_key`` written in the file. A built-in profile reads its
    service's variable instead, and a local server's none at all.
    """
    if service is not None and not p.api_key_env:
        if service.key_env is None:
            return (p.api_key, "api_key in the config file") if p.api_key else (None, "no key needed")
        found = resolve(setting, file=p.api_key, env=(service.key_env,))
        if found.source == "default":
            if service.key_required:
                raise ConfigError(
                    f"no API key for {service.title}: ${service.key_env} is not set",
                    hint=f"set ${service.key_env} (see {service.source.split()[0]})",
                )
            return None, f"${service.key_env} (not set)"
        return found.value, "api_key in the config file" if found.source == "file" else found.source
    found = resolve(setting, file=p.api_key, env=(p.api_key_env,) if p.api_key_env else None)
    if found.source == "default" and p.api_key_env:
        raise ConfigError(f"${p.api_key_env} is not set", hint="the profile's api_key_env names it")
    if found.source == "file":
        return found.value, "api_key in the config file"
    return found.value, found.source if found.value else f"${SETTINGS[setting].env[0]}"


def _system_prompt(setting: str, p: Profile, config: Config, flag: str | None) -> str:
    file = p.system_prompt if p.system_prompt is not None else config.system_prompt
    return str(value(setting, flag=flag, file=file))


def _endpoint(
    name: str,
    p: Profile,
    provider: Literal["openai", "azure"],
    model: str,
    base_url: str | None,
    api_version: str | None,
    key: str | None,
    source: str,
    prompt: str,
) -> Endpoint:
    return Endpoint(
        profile=name,
        provider=provider,
        model=model,
        base_url=base_url,
        api_version=api_version,
        api_key=key,
        key_source=source,
        api=p.api,
        system_prompt=prompt,
        timeout=p.timeout,
        max_retries=p.max_retries,
        stream_usage=p.stream_usage,
        headers=dict(p.headers),
        params={**p.params, **p.options},
        store=p.store,
        stream_max_event_mib=p.stream_max_event_mib,
        stream_max_body_mib=p.stream_max_body_mib,
        stream_idle_timeout=p.stream_idle_timeout,
    )


def _where(config: Config) -> str:
    return str(config.source) if config.source else "the config file"


def tls_context() -> ssl.SSLContext:
    """The TLS context the SDK would make for a client, made once per CA setting in a process.

    Loading the CA bundle is most of what building a client costs (15-40 ms); a
    session that switches models, or a process that runs many chats, pays it once.
    The context is exactly the SDK's default (``httpx2.create_ssl_context()``), so
    ``SSL_CERT_FILE`` and ``SSL_CERT_DIR`` keep their meaning, and a change to
    either makes a new one.
    """
    return _tls_context_for(os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR"))


@functools.lru_cache(maxsize=4)
def _tls_context_for(cert_file: str | None, cert_dir: str | None) -> ssl.SSLContext:
    import httpx2  # the SDK's HTTP client; reads the two variables itself

    return httpx2.create_ssl_context()


def make_client(endpoint: Endpoint) -> Any:
    """An openai SDK client for ``endpoint`` (imports the SDK: call only to talk to a model)."""
    import openai

    # The SDK's own defaults (limits, redirects), with the shared TLS context; closed
    # with the client, as the SDK closes the HTTP client it makes itself.
    http = openai.DefaultHttpxClient(verify=tls_context(), timeout=endpoint.timeout)
    common: dict[str, Any] = {
        "timeout": endpoint.timeout,
        "max_retries": endpoint.max_retries,
        "default_headers": endpoint.headers or None,
        "http_client": http,
    }
    if endpoint.azure_v1:  # GA v1 route: the plain client, the resource's key as the bearer token
        client = openai.OpenAI(api_key=endpoint.api_key, base_url=endpoint.url, **common)
    elif endpoint.provider == "azure":
        client = openai.AzureOpenAI(
            api_key=endpoint.api_key,
            api_version=endpoint.api_version,
            azure_endpoint=endpoint.base_url,
            **common,
        )
    else:  # the SDK insists on a key; a local server that needs none ignores this placeholder
        client = openai.OpenAI(api_key=endpoint.api_key or NO_KEY, base_url=endpoint.base_url, **common)
    weakref.finalize(client, http.close)
    return client
