"""A chatfn tool that fetches a web page and returns readable text.

Only http and https, and only to public addresses unless the user opens more: the
host is resolved once, every answer is checked (loopback, private, link-local,
multicast, unspecified and reserved addresses are refused), and the connection goes
to the checked address itself, keeping the host name for the ``Host`` header and TLS.
A DNS answer that changes after the check therefore never matters. Redirects are
followed by hand, each hop checked again. The body is capped after decompression, one
deadline covers the whole fetch, and HTML becomes text in one linear pass that keeps
no tree, so neither size nor nesting depth can make it slow.
"""

from __future__ import annotations

import html
import http.client
import ipaddress
import re
import socket
import ssl
import threading
import time
import zlib
from collections.abc import Callable, Iterator, Mapping, Sequence
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
USER_AGENT = "chatfn-tools-web/0.2 (+https://pypi.org/project/chatfn-tools-web/)"
TEXT_TYPES = ("text/", "application/json", "application/xml", "application/javascript", "application/x-yaml")
HTML_TYPES = ("text/html", "application/xhtml+xml")
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class WebSettings:
    """The ``[plugins.web]`` table, checked once at registration."""

    allow_hosts: tuple[str, ...] = ()
    allow_private: bool | tuple[str | IPNetwork, ...] = False
    max_bytes: int = DEFAULT_MAX_BYTES
    timeout: float = DEFAULT_TIMEOUT
    approval: bool = False

    @classmethod
    def from_config(cls, table: Mapping[str, Any]) -> WebSettings:
        """Read and validate the table; unknown keys are an error so typos never pass."""
        unknown = sorted(set(table) - {"allow_hosts", "allow_private", "max_bytes", "timeout", "approval"})
        if unknown:
            raise ValueError(f"[plugins.web]: unknown key(s) {', '.join(unknown)}")
        hosts = table.get("allow_hosts", [])
        if not _is_name_list(hosts):
            raise ValueError('[plugins.web] allow_hosts must be a list of host names, e.g. ["docs.python.org"]')
        private = table.get("allow_private", False)
        if not isinstance(private, bool) and not _is_name_list(private):
            raise ValueError(
                '[plugins.web] allow_private must be true, false or a list of host names and networks, '
                'e.g. ["intranet.example", "10.0.0.0/8"]'
            )
        max_bytes = table.get("max_bytes", DEFAULT_MAX_BYTES)
        if isinstance(max_bytes, bool) or not isinstance(max_bytes, int) or max_bytes <= 0:
            raise ValueError(f"[plugins.web] max_bytes must be a positive integer, not {max_bytes!r}")
        timeout = table.get("timeout", DEFAULT_TIMEOUT)
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout <= 0:
            raise ValueError(f"[plugins.web] timeout must be a positive number of seconds, not {timeout!r}")
        approval = table.get("approval", False)
        if not isinstance(approval, bool):
            raise ValueError(f"[plugins.web] approval must be true or false, not {approval!r}")
        return cls(
            allow_hosts=tuple(_host_name(host) for host in hosts),
            allow_private=private if isinstance(private, bool) else tuple(_private_entry(entry) for entry in private),
            max_bytes=max_bytes,
            timeout=float(timeout),
            approval=approval,
        )

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
        try:
            _ = parts.port  # urlsplit checks the port only when asked
        except ValueError:
            raise ValueError(f"{url!r}{via} has an invalid port") from None
        if self.allow_hosts and not _matches(host, self.allow_hosts):
            raise PermissionError(
                f"refused {url!r}{via}: host {host!r} is not in [plugins.web] allow_hosts ({', '.join(self.allow_hosts)})"
            )
        return url

    def address_problem(self, host: str, address: IPAddress) -> str | None:
        """Why ``address`` (an answer for ``host``) may not be connected to, or None when it may."""
        kind = _non_public_kind(address)
        if kind is None or self.allow_private is True:
            return None
        if self.allow_private:
            names = tuple(entry for entry in self.allow_private if isinstance(entry, str))
            networks = [entry for entry in self.allow_private if not isinstance(entry, str)]
            if _matches(host, names) or any(_in_network(address, network) for network in networks):
                return None
        return kind


def _is_name_list(value: Any) -> bool:
    return not isinstance(value, str) and isinstance(value, Sequence) and all(isinstance(v, str) and v.strip() for v in value)


def _host_name(host: str) -> str:
    return host.strip().lower().removeprefix("*.").rstrip(".").strip("[]")


def _private_entry(entry: str) -> str | IPNetwork:
    try:
        return ipaddress.ip_network(entry.strip().strip("[]"), strict=False)
    except ValueError:
        return _host_name(entry)


def _matches(host: str, names: Sequence[str]) -> bool:
    return any(host == name or host.endswith("." + name) for name in names)


def _in_network(address: IPAddress, network: IPNetwork) -> bool:
    return address.version == network.version and address in network


def _non_public_kind(address: IPAddress) -> str | None:
    """What makes ``address`` other than a public unicast address, or None."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour or (address.teredo[1] if address.teredo else None)
        if embedded is None and address in ipaddress.IPv6Network("64:ff9b::/96"):  # NAT64
            embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if embedded is not None:
            return _non_public_kind(embedded)
    for kind, flag in (
        ("an unspecified", address.is_unspecified),
        ("a loopback", address.is_loopback),
        ("a link-local", address.is_link_local),
        ("a multicast", address.is_multicast),
        ("a private", address.is_private),
        ("a reserved", address.is_reserved),
    ):
        if flag:
            return f"{kind} address"
    if not address.is_global:
        return "an address that is not publicly routable"
    return None


# -- HTML to text --------------------------------------------------------------------

DROPPED_CONTAINERS = frozenset({"template", "svg", "canvas", "math", "head", "object"})
RAW_TEXT = frozenset({"script", "style", "noscript", "iframe", "xmp", "noembed", "noframes", "title", "textarea"})
KEPT_RAW_TEXT = frozenset({"textarea"})
BLOCK_TAGS = frozenset({
    "p", "div", "section", "article", "header", "footer", "main", "aside", "nav", "li", "ul", "ol", "table", "tr",
    "h1", "h2", "h3", "h4", "h5", "h6", "pre", "blockquote", "br", "hr", "dt", "dd", "dl", "form", "figure",
    "figcaption", "details", "summary", "body", "html", "address", "fieldset", "caption", "thead", "tbody", "tfoot",
})
CELL_TAGS = frozenset({"td", "th"})
_TAG_START = re.compile(r"<[A-Za-z!?/]")
_NAME = re.compile(r"[A-Za-z][^\s/>\x00]*")
_UNTIL_QUOTE_OR_END = re.compile(r"[^>\"']*")
_SPACES = re.compile(r"[ \t\r\f\v\xa0]+")
_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_META_CHARSET = re.compile(rb"""<meta[^>]{0,300}?charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]{1,40})""", re.IGNORECASE)
_raw_ends: dict[str, re.Pattern[str]] = {}

Token = tuple[str, str]


def _tokens(document: str) -> Iterator[Token]:
    """``("text"|"start"|"end"|"raw:<tag>", value)`` in one left-to-right pass.

    Every search starts where the last one stopped, and one that reaches the end of the
    document ends the pass, so the work is linear in the document's length whatever it
    holds (html.parser rescans unclosed comments and end tags: quadratic).
    """
    end_of_text = len(document)
    pos = 0
    while pos < end_of_text:
        opening = _TAG_START.search(document, pos)  # a '<' that starts no tag is text
        if opening is None:
            yield "text", document[pos:]
            return
        lt = opening.start()
        if lt > pos:
            yield "text", document[pos:lt]
        after = document[lt + 1 : lt + 2]
        if document.startswith("<!--", lt):
            close = document.find("-->", lt + 4)
            if close < 0:
                return
            pos = close + 3
            continue
        if after in ("!", "?") or (after == "/" and not _NAME.match(document, lt + 2)):
            close = document.find(">", lt + 2)
            if close < 0:
                return
            pos = close + 1
            continue
        name_match = _NAME.match(document, lt + (2 if after == "/" else 1))
        assert name_match is not None  # _TAG_START saw a letter, or '/' and a name
        close = _tag_end(document, name_match.end())
        if close < 0:
            return
        name = name_match.group().lower()
        pos = close + 1
        if after == "/":
            yield "end", name
            continue
        yield "start", name
        if name in RAW_TEXT and document[close - 1] != "/":
            pattern = _raw_ends.get(name)
            if pattern is None:
                pattern = _raw_ends[name] = re.compile(f"</{name}(?=[\\s/>])", re.IGNORECASE)
            found = pattern.search(document, pos)
            yield f"raw:{name}", document[pos : found.start() if found else end_of_text]
            if found is None:
                return
            pos = found.start()


def _tag_end(document: str, pos: int) -> int:
    """The index of the ``>`` that closes the tag whose attributes start at ``pos``, or -1."""
    while True:
        pos = _UNTIL_QUOTE_OR_END.match(document, pos).end()  # type: ignore[union-attr]
        if pos >= len(document):
            return -1
        if document[pos] == ">":
            return pos
        before = pos - 1
        while document[before] in " \t\n\r\f":  # stops at the tag's name at the latest
            before -= 1
        if document[before] != "=":  # a quote that does not open a value is text
            pos += 1
            continue
        close = document.find(document[pos], pos + 1)
        if close < 0:
            return -1
        pos = close + 1


def html_to_text(document: bytes | str, encoding: str | None = None, *, deadline: float | None = None) -> tuple[str, str | None]:
    """``(text, title)`` of an HTML document: scripts and styles dropped, one block per line.

    No tree is built: one pass over the tokens keeps a counter per dropped container,
    so time is linear in the document and nesting depth costs nothing. Past
    ``deadline`` (a ``time.monotonic()`` value) it raises TimeoutError.
    """
    text = document if isinstance(document, str) else _decode(document, encoding or _sniff_charset(document))
    out: list[str] = []
    title: str | None = None
    dropped: dict[str, int] = {}
    hidden = 0
    for count, (kind, value) in enumerate(_tokens(text)):
        if deadline is not None and count % 4096 == 0 and time.monotonic() > deadline:
            raise TimeoutError("turning the page into text took longer than the time limit")
        if kind == "text":
            if not hidden:
                out.append(html.unescape(value))
        elif kind == "start":
            if value == "body" and dropped.get("head"):
                hidden -= dropped.pop("head")
            if value in DROPPED_CONTAINERS and not (value == "head" and dropped.get("head")):
                dropped[value] = dropped.get(value, 0) + 1
                hidden += 1
            elif value in BLOCK_TAGS:
                out.append("\n")
        elif kind == "end":
            if dropped.get(value):
                dropped[value] -= 1
                hidden -= 1
            elif value in BLOCK_TAGS:
                out.append("\n")
            elif value in CELL_TAGS and not hidden:
                out.append(" | ")
        elif kind == "raw:title":
            title = title or " ".join(html.unescape(value).split()) or None
        elif kind[4:] in KEPT_RAW_TEXT and not hidden:
            out.append(html.unescape(value))
    lines = (_SPACES.sub(" ", line).strip() for line in _CONTROLS.sub("", "".join(out)).split("\n"))
    return "\n".join(line for line in lines if line), (_CONTROLS.sub("", title) if title else None)


def _sniff_charset(data: bytes) -> str | None:
    if data.startswith(b"\xef\xbb\xbf"):
        return "utf-8"
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"
    found = _META_CHARSET.search(data[:4096])
    return found.group(1).decode("ascii") if found else None


def _decode(data: bytes, charset: str | None) -> str:
    try:
        return data.decode(charset or "utf-8", errors="replace")
    except LookupError:
        return data.decode("utf-8", errors="replace")


# -- fetching ------------------------------------------------------------------------


class _Response:
    """What one HTTP exchange gave: status, headers, the body (decoded, capped) and whether it was cut."""

    def __init__(self, url: str, status: int, reason: str, headers: Message, body: bytes, truncated: bool) -> None:
        self.url, self.status, self.reason, self.headers = url, status, reason, headers
        self.body, self.truncated = body, truncated


def _remaining(deadline: float, url: str, settings: WebSettings) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError(f"timed out fetching {url} (limit {settings.timeout:g} s)")
    return left


def _resolve(host: str, port: int, url: str, settings: WebSettings, deadline: float) -> list[tuple[Any, ...]]:
    """``getaddrinfo`` answers for ``host``, within the deadline (the resolver itself cannot be interrupted)."""
    answers: list[Any] = []

    def lookup() -> None:
        try:
            answers.append(socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP))
        except (OSError, UnicodeError) as error:
            answers.append(error)

    worker = threading.Thread(target=lookup, name="chatfn-web-resolve", daemon=True)
    worker.start()
    worker.join(_remaining(deadline, url, settings))
    if not answers:
        raise TimeoutError(f"timed out resolving {host!r} ({url}) (limit {settings.timeout:g} s)")
    if isinstance(answers[0], BaseException):
        raise _network_error(answers[0], url, host, settings)
    return answers[0]


def _connect(url: str, settings: WebSettings, deadline: float) -> http.client.HTTPConnection:
    """A connection to a checked address of the URL's host; the host name stays for Host and SNI."""
    parts = urlsplit(url)
    try:  # the name as DNS, the Host header and TLS see it (bücher.example -> xn--bcher-kva.example)
        host = (parts.hostname or "").rstrip(".").encode("idna").decode("ascii")
    except UnicodeError:
        raise ValueError(f"{url!r} has a host name that cannot be encoded") from None
    https = parts.scheme.lower() == "https"
    port = parts.port or (443 if https else 80)
    refused: list[str] = []
    failure: OSError | None = None
    for family, kind, proto, _, sockaddr in _resolve(host, port, url, settings, deadline):
        address = ipaddress.ip_address(sockaddr[0].split("%", 1)[0])
        problem = settings.address_problem(host.lower(), address)
        if problem is not None:
            refused.append(problem if str(address) == host.strip("[]") else f"{address} ({problem})")
            continue
        sock = socket.socket(family, kind, proto)
        try:
            sock.settimeout(_remaining(deadline, url, settings))
            sock.connect(sockaddr)  # the checked address itself: no second lookup
        except OSError as error:
            sock.close()
            failure = error
            continue
        connection: http.client.HTTPConnection
        if https:
            connection = http.client.HTTPSConnection(host, port, context=ssl.create_default_context())
        else:
            connection = http.client.HTTPConnection(host, port)
        connection._create_connection = lambda *args, _sock=sock, **kwargs: _sock  # type: ignore[attr-defined]
        connection.timeout = _remaining(deadline, url, settings)
        try:
            connection.connect()  # wraps the socket in TLS for https, checking the certificate for ``host``
        except (OSError, http.client.HTTPException) as error:
            connection.close()
            raise _network_error(error, url, host, settings) from None
        return connection
    if refused and failure is None:
        raise PermissionError(
            f"refused {url!r}: {host} {'is' if len(refused) == 1 and refused[0].startswith('a') else 'resolves to'} "
            f"{', '.join(refused)}; addresses on this machine and private networks "
            "are off limits unless [plugins.web] allow_private names them"
        )
    raise _network_error(failure or OSError("no address to connect to"), url, host, settings)


def _exchange(url: str, settings: WebSettings, deadline: float) -> _Response:
    parts = urlsplit(url)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    host = parts.hostname or url
    connection = _connect(url, settings, deadline)
    sock = connection.sock  # kept: getresponse() may drop the connection's reference
    try:
        try:
            connection.request(
                "GET",
                target,
                headers={
                    "User-Agent": USER_AGENT,
                    "Accept": "text/html,application/xhtml+xml,text/plain;q=0.9,application/json;q=0.9,*/*;q=0.5",
                    "Accept-Encoding": "gzip, deflate",
                },
            )
            response = connection.getresponse()
        except (OSError, http.client.HTTPException) as error:
            raise _network_error(error, url, host, settings) from None
        body, truncated = _read_body(response, sock, url, host, settings, deadline)
        return _Response(url, response.status, response.reason, response.headers, body, truncated)
    finally:
        connection.close()


def _read_body(
    response: http.client.HTTPResponse, sock: socket.socket, url: str, host: str, settings: WebSettings, deadline: float
) -> tuple[bytes, bool]:
    """The body after decompression, at most ``max_bytes`` of it, read before the deadline."""
    decoder = _decoder(response.headers.get("Content-Encoding", ""), url)
    limit = settings.max_bytes
    chunks: list[bytes] = []
    size = raw = 0
    while True:
        try:
            sock.settimeout(max(deadline - time.monotonic(), 0.001))  # each read ends by the deadline
            chunk = response.read1(CHUNK_BYTES)
        except (OSError, http.client.HTTPException) as error:
            raise _network_error(error, url, host, settings, reading=True) from None
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out reading {url} (limit {settings.timeout:g} s)")
        if not chunk:
            return b"".join(chunks), False
        raw += len(chunk)
        for piece in decoder(chunk, limit + 1 - size):
            chunks.append(piece)
            size += len(piece)
        if size > limit or raw > limit:
            return b"".join(chunks)[:limit], True


Decoder = Callable[[bytes, int], Iterator[bytes]]


def _decoder(encoding: str, url: str) -> Decoder:
    """``decode(chunk, room)``: the decoded bytes of ``chunk``, never more than ``room`` (a zip bomb stops there)."""
    name = encoding.strip().lower()
    if name in ("", "identity"):
        return lambda chunk, room: iter((chunk[:room],))
    if name not in ("gzip", "x-gzip", "deflate"):
        raise ValueError(f"{url} is sent with Content-Encoding {encoding!r}, which fetch_url cannot decode")
    state = {"inflate": zlib.decompressobj(16 + zlib.MAX_WBITS if "gzip" in name else zlib.MAX_WBITS)}

    def decode(chunk: bytes, room: int) -> Iterator[bytes]:
        data = chunk
        while data and room > 0:
            try:
                piece = state["inflate"].decompress(data, room)
            except zlib.error:
                if name != "deflate" or state.get("raw"):
                    raise ValueError(f"{url}: the {name} body is corrupt") from None
                state["inflate"], state["raw"] = zlib.decompressobj(-zlib.MAX_WBITS), True  # deflate without a header
                continue
            room -= len(piece)
            data = state["inflate"].unconsumed_tail
            yield piece
        if data:  # output was left undecoded at the cap: report it as more than fits
            yield b"\0"

    return decode


def _network_error(reason: object, url: str, host: str, settings: WebSettings, *, reading: bool = False) -> Exception:
    if isinstance(reason, socket.gaierror):
        return ConnectionError(f"could not resolve host {host!r} ({url}): check the address")
    if isinstance(reason, ConnectionRefusedError):
        return ConnectionError(f"connection refused by {host} ({url})")
    if isinstance(reason, (TimeoutError, socket.timeout)):
        return TimeoutError(f"timed out {'reading' if reading else 'fetching'} {url} (limit {settings.timeout:g} s)")
    if isinstance(reason, ssl.SSLError):
        return ConnectionError(f"TLS error talking to {host}: {reason}")
    if isinstance(reason, UnicodeError):
        return ValueError(f"{url!r} has a host name that cannot be encoded")
    return ConnectionError(f"could not fetch {url}: {reason}")


def make_fetch_url(settings: WebSettings) -> Callable[..., str]:
    """``fetch_url`` bound to ``settings``, keeping its real signature and docstring."""

    def fetch_url(url: str, max_chars: int = DEFAULT_MAX_CHARS) -> str:
        """Fetch a web page over http(s) and return its readable text: HTML is turned
        into plain text (title first, scripts and styles dropped), plain text and JSON
        come back as they are; images and other binary types are refused. Redirects
        are followed. Addresses on this machine or a private network are refused.
        Long pages end with a '[truncated: ...]' note.

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
            return _page_text(response, max_chars, deadline)
        raise ConnectionError(f"too many redirects (more than {MAX_REDIRECTS}) starting from {url}")

    return fetch_url


def _page_text(response: _Response, max_chars: int, deadline: float) -> str:
    if response.status >= 400:
        raise ConnectionError(f"HTTP {response.status} {response.reason} for {response.url}")
    content_type = (response.headers.get_content_type() or "").lower()
    charset = response.headers.get_content_charset()
    header = [f"URL: {response.url}"]
    if content_type in HTML_TYPES:
        text, title = html_to_text(response.body, charset, deadline=deadline)
        if title:
            header.insert(0, f"Title: {title}")
    elif content_type.startswith(TEXT_TYPES) or content_type.endswith(("+json", "+xml")):
        text = _CONTROLS.sub("", _decode(response.body, charset))
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
    register(
        make_fetch_url(settings),
        needs_approval=settings.approval,
        timeout=settings.timeout + 5.0,
        # It only reads, but it reaches the network: once the conversation holds private
        # data, chatfn's policy asks before each fetch (a URL can carry data out).
        read_only_hint=True,
        destructive_hint=False,
        open_world_hint=True,
    )
