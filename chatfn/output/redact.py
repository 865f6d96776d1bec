"""The one secret redactor: what ``config show`` and every error line pass through.

One word list decides what looks secret, whether it is a key in a table (profile
``params``, ``headers``, a plugin's settings), a query parameter in a URL
(``?api-key=...``), or the name of an environment variable whose value must never be
printed. User info in a URL (``https://user:pass@host``) is always removed. Known
secrets (the API key in use) are replaced wherever they appear, with their first
characters too, since servers often echo a key's prefix back.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from typing import Any

__all__ = ["MASK", "looks_secret", "redact_data", "redact_text", "redact_url"]

MASK = "***"

_SECRET_WORDS = re.compile(
    r"key|token|secret|passw|pwd|auth|credential|signature|sig$|session|cookie", re.IGNORECASE
)
_URL = re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s'\"<>]+")
_USERINFO = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]*://)[^/?#@\s]*@")
_QUERY_PAIR = re.compile(r"([?&;])([^=&;#\s]+)=([^&;#\s]*)")
_BEARER = re.compile(r"\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{8,}", re.IGNORECASE)
_MIN_SECRET = 8


def looks_secret(name: str) -> bool:
    """True for a key, parameter or variable name that probably holds a secret."""
    return bool(_SECRET_WORDS.search(name.replace("-", "_")))


def redact_url(url: str) -> str:
    """``url`` without user info and with secret-looking query values masked."""
    url = _USERINFO.sub(rf"\1{MASK}@", url)
    if "?" not in url:
        return url

    def pair(match: re.Match[str]) -> str:
        sep, name, value = match.groups()
        return f"{sep}{name}={MASK}" if looks_secret(name) and value else match.group()

    return _QUERY_PAIR.sub(pair, url)


def _secret_environment() -> list[str]:
    return [
        value
        for name, value in os.environ.items()
        if len(value) >= _MIN_SECRET and looks_secret(name) and not os.path.isabs(value)
    ]


def redact_text(text: str, secrets: Iterable[str | None] = ()) -> str:
    """``text`` with URLs redacted, bearer tokens masked and every known secret replaced.

    Known secrets are ``secrets`` plus the values of secret-looking environment
    variables: the last defence for messages built from exceptions chatfn did not
    raise itself (a plugin's, a library's), which may quote what they were given.
    """
    for secret in [*secrets, *_secret_environment()]:
        if not secret or len(secret) < 4:
            continue
        text = text.replace(secret, MASK)
        if len(secret) > 12:
            text = text.replace(secret[:12], MASK)
    if "://" in text:
        text = _URL.sub(lambda match: redact_url(match.group()), text)
    return _BEARER.sub(lambda match: f"{match.group(1)} {MASK}", text)


def redact_data(value: Any, key: str = "") -> Any:
    """A copy of config data with secret-looking keys masked and every URL redacted."""
    if isinstance(value, dict):
        return {name: redact_data(item, str(name)) for name, item in value.items()}
    if isinstance(value, list):
        return [redact_data(item, key) for item in value]
    if key and looks_secret(key) and value not in (None, "", False) and not key.endswith("_env"):
        return MASK
    if isinstance(value, str) and "://" in value:
        return redact_text(value)
    return value
