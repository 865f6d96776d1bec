"""Which models a server offers: ``GET /models``, or for Azure its deployments or models.

OpenAI and most compatible servers (Ollama, vLLM, llama.cpp server, LM Studio,
OpenRouter, Groq…) answer ``GET {base_url}/models`` with ``{"data": [{"id": …}]}``.
Azure OpenAI's data plane listed deployments (``GET /openai/deployments``) up to API
version 2023-03-15-preview and now lists only the models the resource may deploy
(``GET /openai/models``); deployments are otherwise listed only by Azure's
management API, which takes other credentials. So for Azure the deployments are
tried first and the models are the fallback, and the listing says which it is.
A server with no listing at all (404, 405, 501) is :class:`NoListing`, not a failure
of chatfn's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from chatfn.errors import ProviderError
from chatfn.output.console import one_line
from chatfn.output.sanitize import clean
from chatfn.wire.endpoint import Endpoint, make_client

AZURE_DEPLOYMENTS_API_VERSION = "2023-03-15-preview"
"""The last Azure OpenAI API version whose data plane lists deployments."""

NO_LISTING_STATUSES = frozenset({404, 405, 501})


@dataclass(frozen=True)
class ListedModel:
    """One model (or Azure deployment) the server offers."""

    id: str
    owned_by: str | None = None
    model: str | None = None
    """For an Azure deployment: the model behind it."""


@dataclass(frozen=True)
class Listing:
    """What the server listed, and where."""

    kind: Literal["models", "deployments"]
    url: str
    models: list[ListedModel] = field(default_factory=list)


class NoListing(ProviderError):
    """The server offers no model listing (it answered 404, 405 or 501)."""


def list_models(endpoint: Endpoint, client: Any = None) -> Listing:
    """The models (or Azure deployments) ``endpoint``'s server offers, sorted by id."""
    client = client or make_client(endpoint)
    if endpoint.provider == "azure":
        root = (endpoint.base_url or "").rstrip("/") + "/openai"
        try:
            data = _get(client, endpoint, "/deployments", {"api-version": AZURE_DEPLOYMENTS_API_VERSION})
            return Listing("deployments", f"{root}/deployments", _entries(data))
        except NoListing:
            pass
        return Listing("models", f"{root}/models", _entries(_get(client, endpoint, "/models", None)))
    url = (endpoint.base_url or "https://api.openai.com/v1").rstrip("/") + "/models"
    return Listing("models", url, _entries(_get(client, endpoint, "/models", None)))


def _get(client: Any, endpoint: Endpoint, path: str, params: dict[str, str] | None) -> Any:
    import openai

    from chatfn.wire.failures import from_sdk_error

    options: dict[str, Any] = {"params": params} if params else {}
    try:
        return client.get(path, cast_to=object, options=options)
    except openai.APIStatusError as error:
        if error.status_code in NO_LISTING_STATUSES:
            raise NoListing(
                f"{_where(endpoint)} offers no model listing (GET {path} answered HTTP {error.status_code})",
                hint="name the model with -m, or set model in the profile",
            ) from None
        raise from_sdk_error(error, endpoint) from None
    except Exception as error:
        raise from_sdk_error(error, endpoint) from None


def _where(endpoint: Endpoint) -> str:
    if endpoint.provider == "azure":
        return (endpoint.base_url or "").rstrip("/")
    return endpoint.base_url or "https://api.openai.com/v1"


def _entries(data: Any) -> list[ListedModel]:
    """The listed models, whatever the server's shape: ``{"data": […]}``, ``{"models": […]}`` or a list."""
    if isinstance(data, dict):
        data = data.get("data", data.get("models"))
    if not isinstance(data, list):
        raise ProviderError("the model listing is not a list of models", hint="the server's /models answer is unusual")
    found: dict[str, ListedModel] = {}
    for item in data:
        if isinstance(item, str):
            item = {"id": item}
        if not isinstance(item, dict):
            continue
        identifier = _text(item.get("id") or item.get("name") or item.get("model"))
        if identifier:
            found[identifier] = ListedModel(
                identifier, _text(item.get("owned_by")), _text(item.get("model")) if item.get("id") else None
            )
    return sorted(found.values(), key=lambda entry: entry.id)


def _text(value: Any) -> str | None:
    """A clean one-line string from the server, or None (ids are shown in a terminal)."""
    if not isinstance(value, str):
        return None
    return one_line(clean(value), 200) or None
