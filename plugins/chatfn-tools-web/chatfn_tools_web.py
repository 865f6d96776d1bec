"""A chatfn tool that fetches a web page and returns readable text.

Only http and https, redirects followed by hand (each hop's scheme and host
re-checked against ``[plugins.web] allow_hosts``), at most ``max_bytes`` read,
and one deadline for the whole fetch. HTML becomes plain text (BeautifulSoup);
text and JSON pass through; anything else is refused.
"""

from __future__ import annotations

import http.client
import re
import socket
import ssl
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from email.message import Message
from typing import Any
from urllib.parse import urljoin, urlsplit

import chatfn

__all__ = ["WebSettings", "html_to_text", "make_fetch_url", "register_tools"]

DEFAULT_MAX_BYTES = 2_000_000
DEFAULT_TIMEOUT = 20.0
DEFAULT_MAX_CHARS = 20_000
MAX_REDIRECTS = 5
CHUNK_BYTES = 65536
USER_AGENT = "chatfn-tools-web/0.1 (+https://pypi.org/project/chatfn-tools-web/)"
TEXT_TYPES = ("text/", "application/json", "application/xml", "application/javascript", "application/x-yaml")
HTML_TYPES = ("text/html", "application/xhtml+xml")
DROPPED_TAGS = ("script", "style", "noscript", "template", "svg", "canvas", "iframe", "head")
BLOCK_TAGS = (
    "p", "div", "section", "article", "header", "footer", "main", "aside", "nav", "li", "ul", "ol",
    "table", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "pre", "blockquote", "br", "hr", "dt", "dd", "form",
)


@dataclass(frozen=True)
class WebSettings:
    """The ``[plugins.web]`` table, checked once at registration."""

    allow_hosts: tuple[str, ...] = ()
    max_bytes: int = DEFAULT_MAX_BYTES
    timeout: float = DEFAULT_TIMEOUT
    approval: bool = False

    @classmethod
    def from_config(cls, table: Mapping[str, Any]) -> WebSettings:
        """Read and validate the table; unknown keys are an error so typos never pass."""
        unknown = sorted(set(table) - {"allow_hosts", "max_bytes", "timeout", "approval"})
        if unknown:
            raise ValueError(f"[plugins.web]: unknown key(s) {', '.join(unknown)}")
        hosts = table.get("allow_hosts", [])
        if isinstance(hosts, str) or not isinstance(hosts, Sequence) or not all(isinstance(h, str) and h.strip() for h in hosts):
            raise ValueError('[plugins.web] allow_hosts must be a list of host names, e.g. ["docs.python.org"]')
        max_bytes = table.get("max_bytes", DEFAULT_MAX_BYTES)
        if isinstance(max_bytes, bool) or not isinstance(max_bytes, int) or max_bytes <= 0:
            raise ValueError(f"[plugins.web] max_bytes must be a positive integer, not {max_bytes!r}")
        timeout = table.get("timeout", DEFAULT_TIMEOUT)
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout <= 0:
            raise ValueError(f"[plugins.web] timeout must be a positive number of seconds, not {timeout!r}")
        approval = table.get("approval", False)
        if not isinstance(approval, bool):
            raise ValueError(f"[plugins.web] approval must be true or false, not {approval!r}")
        normalized = tuple(host.strip().lower().removeprefix("*.").rstrip(".") for host in hosts)
        return cls(allow_hosts=normalized, max_bytes=max_bytes, timeout=float(timeout), approval=approval)

    def check_url(self, url: str, *, redirected_from: str | None = None) -> str:
        """``url`` when it may be fetched; otherwise a PermissionError/ValueError saying why."""
        via = f" (redirect from {redirected_from})" if redirected_from else ""
        parts = urlsplit(url)
        if parts.scheme.lower() not in ("http", "https"):
            scheme = f"{parts.scheme}:" if parts.scheme else "no scheme"
            raise PermissionError(f"refused {url!r}{via}: only http and https URLs can be fetched, not {scheme}")
        host = (parts.hostname or "").lower().rstrip(".")
        if not host:
            raise ValueError(f"{url!r}{via} has no host name")
        if self.allow_hosts and not any(host == allowed or host.endswith("." + allowed) for allowed in self.allow_hosts):
            raise PermissionError(
                f"refused {url!r}{via}: host {host!r} is not in [plugins.web] allow_hosts ({', '.join(self.allow_hosts)})"
            )
        return url


def html_to_text(html: bytes | str, encoding: str | None = None) -> tuple[str, str | None]:
    """``(text, title)`` of an HTML document: scripts and styles dropped, one block per line."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(html, "html.parser", from_encoding=encoding if isinstance(html, bytes) else None)
    title = " ".join(soup.title.get_text(" ").split()) if soup.title else None
    for tag in soup.find_all(DROPPED_TAGS):
        tag.decompose()
    for tag in soup.find_all(BLOCK_TAGS):
        tag.insert_before("\n")
        tag.insert_after("\n")
    for tag in soup.find_all(["td", "th"]):
        tag.insert_after(" | ")
    text = soup.get_text()
    lines = (re.sub(r"[ \t\r\f\v\xa0]+", " ", line).strip() for line in text.splitlines())
    return "\n".join(line for line in lines if line), (title or None)


class _Response:
    """What one HTTP exchange gave: status, headers, the body (capped) and whether it was cut."""

    def __init__(self, url: str, status: int, reason: str, headers: Message, body: bytes, truncated: bool) -> None:
        self.url, self.status, self.reason, self.headers = url, status, reason, headers
        self.body, self.truncated = body, truncated


def _opener() -> urllib.request.OpenerDirector:
    """http(s) only, no automatic redirects, no exceptions for 3xx/4xx/5xx: we judge every response."""
    opener = urllib.request.OpenerDirector()
    for handler in (
        urllib.request.ProxyHandler(),
        urllib.request.HTTPHandler(),
        urllib.request.HTTPSHandler(context=ssl.create_default_context()),
    ):
        opener.add_handler(handler)
    return opener


def _exchange(url: str, settings: WebSettings, deadline: float) -> _Response:
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise TimeoutError(f"timed out fetching {url} (limit {settings.timeout:g} s)")
    request = urllib.request.Request(
        url,
        headers={
            "User-Agent": USER_AGENT,
            "Accept": "text/html,application/xhtml+xml,text/plain;q=0.9,application/json;q=0.9,*/*;q=0.5",
            "Accept-Encoding": "identity",
        },
    )
    host = urlsplit(url).hostname or url
    try:
        response = _opener().open(request, timeout=remaining)
    except urllib.error.URLError as error:
        raise _network_error(error.reason, url, host, settings) from None
    except (OSError, http.client.HTTPException) as error:
        raise _network_error(error, url, host, settings) from None
    with response:
        chunks: list[bytes] = []
        size = 0
        while size <= settings.max_bytes:
            if time.monotonic() > deadline:
                raise TimeoutError(f"timed out reading {url} (limit {settings.timeout:g} s)")
            try:
                # read1: one network read at a time, so the deadline is checked between them
                chunk = response.read1(min(CHUNK_BYTES, settings.max_bytes + 1 - size))
            except (OSError, http.client.HTTPException) as error:
                raise _network_error(error, url, host, settings) from None
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        truncated = size > settings.max_bytes
        body = b"".join(chunks)[: settings.max_bytes]
        return _Response(response.geturl(), response.status, response.reason, response.headers, body, truncated)


def _network_error(reason: object, url: str, host: str, settings: WebSettings) -> Exception:
    if isinstance(reason, socket.gaierror):
        return ConnectionError(f"could not resolve host {host!r} ({url}): check the address")
    if isinstance(reason, ConnectionRefusedError):
        return ConnectionError(f"connection refused by {host} ({url})")
    if isinstance(reason, (TimeoutError, socket.timeout)):
        return TimeoutError(f"timed out fetching {url} (limit {settings.timeout:g} s)")
    if isinstance(reason, ssl.SSLError):
        return ConnectionError(f"TLS error talking to {host}: {reason}")
    if isinstance(reason, str) and reason.startswith("unknown url type"):
        return PermissionError(f"refused {url!r}: only http and https URLs can be fetched")
    return ConnectionError(f"could not fetch {url}: {reason}")


def make_fetch_url(settings: WebSettings) -> Callable[..., str]:
    """``fetch_url`` bound to ``settings``, keeping its real signature and docstring."""

    def fetch_url(url: str, max_chars: int = DEFAULT_MAX_CHARS) -> str:
        """Fetch a web page over http(s) and return its readable text: HTML is turned
        into plain text (title first, scripts and styles dropped), plain text and JSON
        come back as they are; images and other binary types are refused. Redirects
        are followed. Long pages end with a '[truncated: ...]' note.

        Args:
            url: The full http:// or https:// URL to fetch.
            max_chars: Return at most this many characters of text (1 to 200000).
        """
        if not isinstance(url, str) or not url.strip():
            raise ValueError("url must be a non-empty string such as 'https://example.com/'")
        if isinstance(max_chars, bool) or not isinstance(max_chars, int) or not 1 <= max_chars <= 200_000:
            raise ValueError(f"max_chars must be an integer from 1 to 200000, not {max_chars!r}")
        deadline = time.monotonic() + settings.timeout
        current = settings.check_url(url.strip())
        for _ in range(MAX_REDIRECTS + 1):
            response = _exchange(current, settings, deadline)
            if response.status in (301, 302, 303, 307, 308):
                location = response.headers.get("Location")
                if not location:
                    raise ConnectionError(f"HTTP {response.status} redirect from {current} without a Location header")
                current = settings.check_url(urljoin(current, location.strip()), redirected_from=current)
                continue
            return _page_text(response, max_chars)
        raise ConnectionError(f"too many redirects (more than {MAX_REDIRECTS}) starting from {url}")

    return fetch_url


def _page_text(response: _Response, max_chars: int) -> str:
    if response.status >= 400:
        raise ConnectionError(f"HTTP {response.status} {response.reason} for {response.url}")
    content_type = (response.headers.get_content_type() or "").lower()
    charset = response.headers.get_content_charset()
    header = [f"URL: {response.url}"]
    if content_type in HTML_TYPES:
        text, title = html_to_text(response.body, charset)
        if title:
            header.insert(0, f"Title: {title}")
    elif content_type.startswith(TEXT_TYPES) or content_type.endswith(("+json", "+xml")):
        text = response.body.decode(charset or "utf-8", errors="replace")
    else:
        raise ValueError(f"{response.url} is {content_type or 'of unknown type'}, not text; fetch_url returns text only")
    notes = []
    if response.truncated:
        notes.append(f"[truncated: the page is larger than {len(response.body)} bytes; only the start was read]")
    if len(text) > max_chars:
        text = text[:max_chars]
        notes.append(f"[truncated: showing the first {max_chars} characters]")
    return "\n".join([*header, "", text.strip(), *notes])


@chatfn.hookimpl
def register_tools(register: Callable[..., None], plugin_config: Mapping[str, Mapping[str, Any]]) -> None:
    """Offer fetch_url, configured by ``[plugins.web]``."""
    settings = WebSettings.from_config(plugin_config.get("web", {}))
    register(make_fetch_url(settings), needs_approval=settings.approval, timeout=settings.timeout + 5.0)
