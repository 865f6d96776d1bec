"""Turn what the SDK and the HTTP stack raise into one line a person can act on.

Each message names the endpoint and the model or deployment and says what to
check; the API key is scrubbed from anything a server echoed back.
"""

from __future__ import annotations

import json
import re
from typing import Any

from chatfn.errors import ProviderError
from chatfn.output.console import one_line
from chatfn.wire.endpoint import Endpoint


def transport_errors() -> tuple[type[BaseException], ...]:
    """The HTTP library's own errors, which surface while we read a stream's bytes."""
    errors: list[type[BaseException]] = []
    for name in ("httpx2", "httpx"):
        try:
            module = __import__(name)
        except ImportError:
            continue
        errors.append(module.HTTPError)
        errors.append(module.StreamError)
    return tuple(errors)


def scrub(text: str, endpoint: Endpoint) -> str:
    """``text`` without the endpoint's API key, URL secrets or any other secret chatfn knows."""
    from chatfn.output.redact import redact_text

    return redact_text(text, (endpoint.api_key,))


def server_message(body: Any, fallback: str) -> str:
    """The human part of an error body: OpenAI's ``{"error": {"message"}}`` or plain text."""
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and isinstance(inner.get("message"), str):
            return inner["message"]
        if isinstance(inner, str):
            return inner
        if isinstance(body.get("message"), str):
            return body["message"]
        detail = body.get("detail")
        if isinstance(detail, list) and detail and isinstance(detail[0], dict) and isinstance(detail[0].get("msg"), str):
            return detail[0]["msg"]
        if isinstance(detail, str):
            return detail
    if isinstance(body, str) and body.strip():
        text = body.strip()
        if text.startswith("<"):
            return "the server answered with an HTML page instead of JSON"
        return text
    return fallback


def from_sdk_error(error: BaseException, endpoint: Endpoint) -> ProviderError:
    """A :class:`ProviderError` for any exception raised while talking to the model."""
    import openai

    where = endpoint.describe()
    if isinstance(error, openai.APITimeoutError):
        return ProviderError(
            f"{where}: no answer within {endpoint.timeout:g} s",
            hint="is the server overloaded? raise timeout in the profile",
        )
    if isinstance(error, openai.APIConnectionError):
        cause = error.__cause__ or error.__context__
        reason = one_line(str(cause), 200) if cause else "connection failed"
        return ProviderError(f"cannot reach {where}: {scrub(reason, endpoint)}", hint=_reach_hint(endpoint))
    if isinstance(error, openai.APIStatusError):
        return _status_error(error, endpoint)
    if isinstance(error, openai.APIError):
        return ProviderError(f"{where}: {scrub(one_line(error.message, 200), endpoint)}")
    if isinstance(error, transport_errors()):
        return ProviderError(
            f"{where}: the connection broke mid-stream ({type(error).__name__}: {scrub(one_line(str(error), 200), endpoint)})",
            hint="the answer so far is kept; try again",
        )
    return ProviderError(f"{where}: {type(error).__name__}: {scrub(one_line(str(error), 200), endpoint)}")


def _status_error(error: Any, endpoint: Endpoint) -> ProviderError:
    status = error.status_code
    body: Any = error.body
    if body is None:
        try:
            body = error.response.text
        except Exception:  # the body may be unreadable on a streamed response
            body = None
    message = scrub(one_line(server_message(body, error.message), 200), endpoint)
    where = endpoint.describe()
    api_hint = _api_hint(endpoint, status, message)
    if api_hint is not None:  # the wrong API (or a lost stored response): say which setting to change
        return ProviderError(f"{where}: HTTP {status}: {message}", hint=api_hint)
    param = rejected_parameter(body, message, endpoint) if status in (400, 422) else None
    if param is not None:
        return ProviderError(
            f"{where}: HTTP {status}: the server rejects the parameter {param!r}: {message}",
            hint=f"change or drop it (-o {param} …, or options in the profile)"
            if param in endpoint.params
            else None,
        )
    what = "deployment" if endpoint.provider == "azure" else "model"
    hints = {
        401: f"check the API key in {endpoint.key_source}",
        403: f"check that the key in {endpoint.key_source} may use this {what}",
        404: f"check the {what} name and the endpoint"
        + (" and api_version" if endpoint.provider == "azure" else ""),
        429: "rate limited even after retries; wait, or raise max_retries in the profile",
    }
    hint = hints.get(status) or ("the server failed; try again later" if status >= 500 else None)
    return ProviderError(f"{where}: HTTP {status}: {message}", hint=hint)


def rejected_parameter(body: Any, message: str, endpoint: Endpoint) -> str | None:
    """The request parameter a 400/422 complains about, when the server names one.

    OpenAI and most compatible servers put it in ``error.param``; FastAPI-based
    servers in ``detail[0].loc``; others only in the message, so an option chatfn
    sent that the message quotes counts too.
    """
    if isinstance(body, dict):
        inner = body.get("error", body)
        param = inner.get("param") if isinstance(inner, dict) else None
        if isinstance(param, str) and param and param != "messages" and not param.startswith("messages["):
            return one_line(param, 60)
        detail = body.get("detail")
        if isinstance(detail, list) and detail and isinstance(detail[0], dict):
            location = detail[0].get("loc")
            if isinstance(location, list) and len(location) >= 2 and location[0] == "body":
                return one_line(str(location[1]), 60)
    for name in endpoint.params:
        if f"'{name}'" in message or f'"{name}"' in message or f"`{name}`" in message:
            return name
    return None


# What servers say when a model answers only over the Responses API (OpenAI's codex and
# pro models: "only supported in v1/responses"; gateways: "Please use /v1/responses").
_RESPONSES_ONLY = re.compile(r"only supported (in|by|on|with) (the )?/?(v1/)?responses|please use (the )?/?(v1/)?responses", re.I)


def _api_hint(endpoint: Endpoint, status: int, message: str) -> str | None:
    """A hint that names the ``api`` setting, when the failure comes from the wrong API."""
    if endpoint.api != "responses":
        if status in (400, 404, 405) and _RESPONSES_ONLY.search(message):
            return f'this model answers only over the Responses API: set api = "responses" in profile {endpoint.profile!r}'
        return None
    if "previous_response" in message or "previous response" in message.lower():
        return "the server no longer holds the stored response; set store = false in the profile to send the whole history"
    if status in (404, 405) and not re.search(r"\b(model|deployment)\b", message, re.I):
        if endpoint.provider == "azure" and not endpoint.azure_v1:
            return f"api_version {endpoint.api_version} may predate the Responses API: unset it (or set \"v1\") for /openai/v1"
        return f'does this server offer the Responses API (/responses)? if not, set api = "tools" in profile {endpoint.profile!r}'
    return None


def _reach_hint(endpoint: Endpoint) -> str:
    from chatfn.settings.builtin_profiles import builtin_profile

    if endpoint.provider == "azure":
        return "check $AZURE_OPENAI_ENDPOINT or endpoint in the profile"
    service = builtin_profile(endpoint.profile)
    variable = service.base_url_env if service is not None else "OPENAI_BASE_URL"
    return f"is the server running? check base_url in the profile or ${variable}"


def rejects_stream_options(error: BaseException) -> bool:
    """True when a 400/422 says the server does not accept ``stream_options``."""
    status = getattr(error, "status_code", None)
    if status not in (400, 422):
        return False
    body = getattr(error, "body", None)
    text = json.dumps(body) if body is not None else str(error)
    return "stream_options" in text or "include_usage" in text


def rejects_encrypted_reasoning(error: BaseException) -> bool:
    """True when a 400 says the model cannot return encrypted reasoning (OpenAI's non-reasoning models)."""
    if getattr(error, "status_code", None) != 400:
        return False
    body = getattr(error, "body", None)
    text = (json.dumps(body) if body is not None else str(error)).lower()
    return "encrypted content" in text or "reasoning.encrypted_content" in text
