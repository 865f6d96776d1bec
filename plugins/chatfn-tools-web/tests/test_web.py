"""chatfn-tools-web against real HTTP servers on 127.0.0.1 and 127.0.0.2: text, redirects, limits,
allow-lists, and the addresses it refuses (checked on the address it connects to)."""

from __future__ import annotations

import ipaddress
import shutil
import socket
import ssl
import subprocess
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import chatfn_tools_web
import pytest

pytest_plugins = ["chatfn.testing"]  # the scripted chat server and the invoke_chatfn fixture

PAGE = b"""<!doctype html><html><head><title>Test  Page</title>
<style>body { color: red }</style><script>var secret = "do not show";</script></head>
<body><h1>Hello</h1><p>First&nbsp;paragraph with <a href="/x">a link</a>.</p>
<ul><li>one</li><li>two</li></ul><noscript>enable js</noscript>
<table><tr><td>a</td><td>b</td></tr></table></body></html>"""

RELEASE = threading.Event()
REQUESTS: list[tuple[str, str]] = []
"""(server address, path) of every request any test server got."""
BOMB = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
GZIP_BOMB = b"".join(BOMB.compress(b"x" * 1_000_000) for _ in range(50)) + BOMB.flush()  # 50 MB in ~50 KB
NESTED = b"<title>Deep</title>" + b"<div>" * 90_000 + b"bottom" + b"</div>" * 90_000  # 1 MB, 90,000 deep


class Handler(BaseHTTPRequestHandler):
    """The routes the tests fetch."""

    def do_GET(self) -> None:
        REQUESTS.append((self.server.server_address[0], self.path))
        port = self.server.server_address[1]
        routes: dict[str, Callable[[], None]] = {
            "/page.html": lambda: self.reply(200, "text/html; charset=utf-8", PAGE),
            "/latin1.html": lambda: self.reply(200, "text/html; charset=iso-8859-1", "<p>café</p>".encode("latin-1")),
            "/text.txt": lambda: self.reply(200, "text/plain", b"just text\n"),
            "/data.json": lambda: self.reply(200, "application/json", b'{"a": [1, 2]}'),
            "/image.png": lambda: self.reply(200, "image/png", b"\x89PNG\r\n\x1a\n"),
            "/missing": lambda: self.reply(404, "text/plain", b"nope"),
            "/big": lambda: self.reply(200, "text/plain", b"x" * 300_000),
            "/to-text": lambda: self.redirect("/text.txt"),
            "/to-to-text": lambda: self.redirect("/to-text"),
            "/to-file": lambda: self.redirect("file:///etc/passwd"),
            "/to-ftp": lambda: self.redirect("ftp://127.0.0.1/x"),
            "/to-localhost": lambda: self.redirect(f"http://localhost:{port}/text.txt"),
            "/loop": lambda: self.redirect("/loop"),
            "/no-location": lambda: self.reply(302, "text/plain", b""),
            "/slow": self.slow,
            "/drip": self.drip,
            "/bomb": lambda: self.reply(200, "text/plain", GZIP_BOMB, encoding="gzip"),
            "/brotli": lambda: self.reply(200, "text/plain", b"...", encoding="br"),
            "/nested": lambda: self.reply(200, "text/html", NESTED),
            "/to-loopback": lambda: self.redirect(f"http://127.0.0.1:{port}/text.txt"),
            "/to-numeric-loopback": lambda: self.redirect(f"http://2130706433:{port}/text.txt"),
        }
        routes.get(self.path, lambda: self.reply(404, "text/plain", b"no route"))()

    def reply(self, status: int, content_type: str, body: bytes, encoding: str | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        if encoding:
            self.send_header("Content-Encoding", encoding)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def redirect(self, location: str) -> None:
        self.send_response(302)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def slow(self) -> None:
        RELEASE.wait(10)
        self.reply(200, "text/plain", b"late")

    def drip(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", "100000")
        self.end_headers()
        for _ in range(1000):
            if RELEASE.wait(0.05):
                return
            try:
                self.wfile.write(b"y")
                self.wfile.flush()
            except OSError:
                return

    def log_message(self, format: str, *args: Any) -> None:
        pass


def _serve(address: str, port: int = 0) -> ThreadingHTTPServer:
    httpd = ThreadingHTTPServer((address, port), Handler)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True).start()
    return httpd


@pytest.fixture(scope="module")
def servers() -> Iterator[tuple[str, str]]:
    """The same routes at http://127.0.0.1:P and http://127.0.0.2:P (one port, two loopback addresses)."""
    RELEASE.clear()
    for _ in range(20):
        second = _serve("127.0.0.2")
        try:
            first = _serve("127.0.0.1", second.server_address[1])
        except OSError:  # the port is taken on 127.0.0.1: try another
            second.shutdown()
            second.server_close()
            continue
        break
    else:
        pytest.fail("no port free on both 127.0.0.1 and 127.0.0.2")
    port = first.server_address[1]
    yield f"http://127.0.0.1:{port}", f"http://127.0.0.2:{port}"
    RELEASE.set()
    for httpd in (first, second):
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture
def server(servers: tuple[str, str]) -> str:
    return servers[0]


@pytest.fixture
def requests() -> list[tuple[str, str]]:
    REQUESTS.clear()
    return REQUESTS


@pytest.fixture(autouse=True)
def no_proxies(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)


def load_tool(config: dict[str, Any] | None = None) -> tuple[Callable[..., str], dict[str, Any]]:
    """Call the plugin's hook as chatfn would; return fetch_url and its register options."""
    registered: list[tuple[Callable[..., str], dict[str, Any]]] = []

    def register(function: Callable[..., str], name: str | None = None, **options: Any) -> None:
        registered.append((function, options))

    chatfn_tools_web.register_tools(register=register, plugin_config={"web": config or {}})
    assert len(registered) == 1
    return registered[0]


LOCAL = {"allow_private": ["127.0.0.1"]}
"""What the tests of fetching add to the config: the test server is on this machine."""


def fetch(url: str, config: dict[str, Any] | None = None, **arguments: Any) -> str:
    return load_tool({**LOCAL, **(config or {})})[0](url=url, **arguments)


def test_approval_is_configurable() -> None:
    assert load_tool()[1]["needs_approval"] is False
    assert load_tool({"approval": True})[1]["needs_approval"] is True


def test_registered_as_open_world_and_read_only() -> None:
    options = load_tool()[1]
    assert options["open_world_hint"] is True
    assert options["read_only_hint"] is True
    assert options["destructive_hint"] is False


def test_html_becomes_readable_text(server: str) -> None:
    result = fetch(f"{server}/page.html")
    assert result.splitlines() == [
        "Title: Test Page",
        f"URL: {server}/page.html",
        "",
        "Hello",
        "First paragraph with a link.",
        "one",
        "two",
        "a | b |",
    ]
    assert "secret" not in result and "color" not in result and "enable js" not in result


def test_charset_from_the_header(server: str) -> None:
    assert fetch(f"{server}/latin1.html").endswith("\ncafé")


def test_text_and_json_pass_through(server: str) -> None:
    assert fetch(f"{server}/text.txt") == f"URL: {server}/text.txt\n\njust text"
    assert fetch(f"{server}/data.json") == f'URL: {server}/data.json\n\n{{"a": [1, 2]}}'


def test_binary_content_refused(server: str) -> None:
    with pytest.raises(ValueError, match="is image/png, not text"):
        fetch(f"{server}/image.png")


def test_http_status_is_an_error(server: str) -> None:
    with pytest.raises(ConnectionError, match="HTTP 404 Not Found for"):
        fetch(f"{server}/missing")


def test_redirects_are_followed_and_rechecked(server: str) -> None:
    assert fetch(f"{server}/to-to-text").startswith(f"URL: {server}/text.txt\n")
    with pytest.raises(PermissionError, match=r"refused 'file:///etc/passwd' \(redirect from .*/to-file\): only http and https"):
        fetch(f"{server}/to-file")
    with pytest.raises(PermissionError, match="not ftp:"):
        fetch(f"{server}/to-ftp")
    with pytest.raises(ConnectionError, match="too many redirects"):
        fetch(f"{server}/loop")
    with pytest.raises(ConnectionError, match="without a Location header"):
        fetch(f"{server}/no-location")


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://127.0.0.1/", "data:text/plain,hi", "javascript:alert(1)", "127.0.0.1/page.html"])
def test_non_http_schemes_refused(url: str) -> None:
    with pytest.raises(PermissionError, match="only http and https"):
        fetch(url)


def test_allow_list_enforced(server: str) -> None:
    allowed = {"allow_hosts": ["127.0.0.1"], "allow_private": True}
    assert "just text" in fetch(f"{server}/text.txt", allowed)
    with pytest.raises(PermissionError, match="'localhost' is not in \\[plugins.web\\] allow_hosts"):
        fetch(server.replace("127.0.0.1", "localhost") + "/text.txt", allowed)
    with pytest.raises(PermissionError, match="redirect from .*'localhost' is not in"):
        fetch(f"{server}/to-localhost", allowed)
    with pytest.raises(PermissionError, match="allow_hosts"):
        fetch(f"{server}/text.txt", {"allow_hosts": ["example.com"]})


def test_allow_list_matches_subdomains() -> None:
    settings = chatfn_tools_web.WebSettings.from_config({"allow_hosts": ["*.Example.com"]})
    assert settings.check_url("https://docs.example.com/a")
    assert settings.check_url("https://EXAMPLE.com/")
    for url in ("https://example.com.evil.net/", "https://badexample.com/", "https://user@evil.net/?example.com"):
        with pytest.raises(PermissionError):
            settings.check_url(url)


def test_oversized_body_truncated(server: str) -> None:
    result = fetch(f"{server}/big", {"max_bytes": 1000})
    body, note = result.split("\n\n", 1)[1].rsplit("\n", 1)
    assert body == "x" * 1000
    assert note == "[truncated: the page is larger than 1000 bytes; only the start was read]"


def test_max_chars_caps_the_text(server: str) -> None:
    result = fetch(f"{server}/big", max_chars=50)
    assert result.endswith("x" * 50 + "\n[truncated: showing the first 50 characters]")
    with pytest.raises(ValueError, match="max_chars"):
        fetch(f"{server}/big", max_chars=0)


def test_slow_server_times_out(server: str) -> None:
    with pytest.raises(TimeoutError, match="timed out fetching .*/slow \\(limit 0.3 s\\)"):
        fetch(f"{server}/slow", {"timeout": 0.3})


def test_dripping_server_hits_the_total_deadline(server: str) -> None:
    # Each byte arrives well within the timeout; only the deadline for the whole fetch stops it.
    with pytest.raises(TimeoutError, match="timed out reading .*/drip"):
        fetch(f"{server}/drip", {"timeout": 0.5})


def test_connection_refused() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(ConnectionError, match=f"connection refused by 127.0.0.1 \\(http://127.0.0.1:{port}/\\)"):
        fetch(f"http://127.0.0.1:{port}/")


def test_dns_failure(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_such_host(*args: Any, **kwargs: Any) -> Any:  # stands in for the resolver: no DNS traffic leaves
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", no_such_host)
    with pytest.raises(ConnectionError, match="could not resolve host 'no-such-host.invalid'"):
        fetch("http://no-such-host.invalid/")


@pytest.mark.parametrize(
    "config, message",
    [
        ({"allow_hosts": "example.com"}, "allow_hosts must be a list"),
        ({"max_bytes": 0}, "max_bytes"),
        ({"timeout": "fast"}, "timeout"),
        ({"approval": "no"}, "approval must be true or false"),
        ({"allow_private": "yes"}, "allow_private must be true, false or a list"),
        ({"allowed_hosts": []}, "unknown key"),
    ],
)
def test_bad_settings_are_refused(config: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        load_tool(config)


# -- issue 10: what an attacker tried ----------------------------------------------

LOOPBACK_FORMS = ["127.0.0.1", "2130706433", "0x7f000001", "0177.0.0.1", "127.1", "127.0.0.2", "localhost",
                  "[::1]", "[::ffff:127.0.0.1]", "[::ffff:7f00:1]", "0.0.0.0", "0", "LOCALHOST."]


@pytest.mark.parametrize("host", LOOPBACK_FORMS)
def test_addresses_on_this_machine_are_refused_by_default(servers: tuple[str, str], requests: list[Any], host: str) -> None:
    port = servers[0].rsplit(":", 1)[1]
    with pytest.raises(PermissionError, match=r"(loopback|unspecified) address.*allow_private"):
        load_tool()[0](url=f"http://{host}:{port}/text.txt")
    assert requests == []  # refused before connecting: the server saw nothing


@pytest.mark.parametrize(
    "address, kind",
    [
        ("10.1.2.3", "a private"), ("172.16.0.1", "a private"), ("192.168.1.1", "a private"),
        ("169.254.169.254", "a link-local"), ("fe80::1", "a link-local"), ("fd00::1", "a private"),
        ("224.0.0.1", "a multicast"), ("ff02::1", "a multicast"), ("0.0.0.0", "an unspecified"), ("::", "an unspecified"),
        ("240.0.0.1", "a private"), ("100.64.0.1", "an address that is not publicly routable"),
        ("::ffff:10.0.0.1", "a private"), ("2002:a9fe:a9fe::", "a link-local"), ("64:ff9b::7f00:1", "a loopback"),
    ],
)
def test_private_link_local_multicast_and_reserved_addresses_are_refused(address: str, kind: str) -> None:
    # Checked on the address alone: no test sends a packet to a network beyond this machine.
    settings = chatfn_tools_web.WebSettings.from_config({})
    assert settings.address_problem("example.test", ipaddress.ip_address(address)) == (kind if kind.endswith("routable") else f"{kind} address")
    assert settings.address_problem("example.test", ipaddress.ip_address("93.184.215.14")) is None
    opened = chatfn_tools_web.WebSettings.from_config({"allow_private": ["10.0.0.0/8", "intranet.example"]})
    assert opened.address_problem("example.test", ipaddress.ip_address("10.1.2.3")) is None
    assert opened.address_problem("wiki.intranet.example", ipaddress.ip_address("192.168.1.1")) is None
    assert opened.address_problem("example.test", ipaddress.ip_address("192.168.1.1")) == "a private address"


def test_allow_private_opens_only_what_it_names(servers: tuple[str, str], requests: list[Any]) -> None:
    first, second = servers
    assert "just text" in load_tool({"allow_private": ["127.0.0.2"]})[0](url=f"{second}/text.txt")
    assert "just text" in load_tool({"allow_private": True})[0](url=f"{first}/text.txt")
    with pytest.raises(PermissionError, match="127.0.0.1 is a loopback address"):
        load_tool({"allow_private": ["127.0.0.2"]})[0](url=f"{first}/text.txt")
    assert requests == [("127.0.0.2", "/text.txt"), ("127.0.0.1", "/text.txt")]


@pytest.mark.parametrize("route", ["/to-loopback", "/to-numeric-loopback"])
def test_a_redirect_to_a_refused_address_is_not_followed(servers: tuple[str, str], requests: list[Any], route: str) -> None:
    second = servers[1]
    with pytest.raises(PermissionError, match="loopback address"):
        load_tool({"allow_private": ["127.0.0.2"]})[0](url=f"{second}{route}")
    assert requests == [("127.0.0.2", route)]  # 127.0.0.1 never heard of it


def test_a_dns_answer_that_changes_after_the_check_is_never_used(
    servers: tuple[str, str], requests: list[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """DNS rebinding: the first answer is an allowed address, every later one the victim."""
    port = int(servers[0].rsplit(":", 1)[1])
    real = socket.getaddrinfo
    answers: list[str] = []

    def rebinding(host: str, *args: Any, **kwargs: Any) -> Any:  # stands in for a hostile DNS server
        if host != "rebind.test":
            return real(host, *args, **kwargs)
        answers.append("127.0.0.2" if not answers else "127.0.0.1")
        return real(answers[-1], *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    result = load_tool({"allow_private": ["127.0.0.2"]})[0](url=f"http://rebind.test:{port}/text.txt")
    assert result == f"URL: http://rebind.test:{port}/text.txt\n\njust text"
    assert answers == ["127.0.0.2"]  # one lookup: the address checked is the address connected to
    assert requests == [("127.0.0.2", "/text.txt")]


def test_host_header_keeps_the_name(servers: tuple[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    port = int(servers[0].rsplit(":", 1)[1])
    real = socket.getaddrinfo
    monkeypatch.setattr(socket, "getaddrinfo", lambda host, *a, **k: real("127.0.0.1" if host == "named.test" else host, *a, **k))
    assert "just text" in fetch(f"http://named.test:{port}/text.txt")
    seen: list[str] = []
    original = Handler.do_GET
    monkeypatch.setattr(Handler, "do_GET", lambda self: (seen.append(self.headers["Host"]), original(self)))
    fetch(f"http://named.test:{port}/text.txt")
    assert seen == [f"named.test:{port}"]


def test_an_international_host_name_is_sent_as_idna(servers: tuple[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    port = int(servers[0].rsplit(":", 1)[1])
    real = socket.getaddrinfo
    asked: list[str] = []
    monkeypatch.setattr(socket, "getaddrinfo", lambda host, *a, **k: (asked.append(host), real("127.0.0.1", *a, **k))[1])
    seen: list[str] = []
    original = Handler.do_GET
    monkeypatch.setattr(Handler, "do_GET", lambda self: (seen.append(self.headers["Host"]), original(self)))
    assert "just text" in fetch(f"http://bücher.test:{port}/text.txt")
    assert asked == ["xn--bcher-kva.test"] and seen == [f"xn--bcher-kva.test:{port}"]


def test_a_gzip_bomb_is_cut_at_max_bytes(server: str) -> None:
    result = fetch(f"{server}/bomb", {"max_bytes": 1_000_000}, max_chars=10)
    assert result.splitlines()[2:] == [
        "x" * 10,
        "[truncated: the page is larger than 1000000 bytes; only the start was read]",
        "[truncated: showing the first 10 characters]",
    ]


def test_an_unknown_content_encoding_is_refused(server: str) -> None:
    with pytest.raises(ValueError, match="Content-Encoding 'br'"):
        fetch(f"{server}/brotli")


def test_deeply_nested_html_is_text_within_the_timeout(server: str) -> None:
    result = fetch(f"{server}/nested", {"timeout": 10})
    assert result == f"Title: Deep\nURL: {server}/nested\n\nbottom"


@pytest.mark.parametrize(
    "unit",
    ["<div>", "<", "<!--", "</", "<a ", "&#", "<![CDATA[", "<!", "<?", '<a b="', "<a b='x' c=", "<x", "<script>", "</a>",
     "<svg>", "<title>", "<p>&amp;"],
)
def test_html_to_text_is_linear_on_hostile_markup(unit: str) -> None:
    """Each 300 KB input runs in one pass (html.parser takes minutes on several of these)."""
    document = unit * (300_000 // len(unit))
    deadline = time.monotonic() + 20  # a safety net so a regression fails instead of hanging
    text, _ = chatfn_tools_web.html_to_text(document, deadline=deadline)
    assert "<div>" not in text


def test_the_issue_s_nested_divs_and_a_passed_deadline() -> None:
    assert chatfn_tools_web.html_to_text(b"<div>" * 20000) == ("", None)  # issue 10: 89 s with Beautiful Soup
    with pytest.raises(TimeoutError, match="turning the page into text took longer than the time limit"):
        chatfn_tools_web.html_to_text(b"<div>" * 20000, deadline=time.monotonic() - 1)


def test_html_to_text_details() -> None:
    text, title = chatfn_tools_web.html_to_text(
        "<html><head><title>A &amp; B</title><meta charset=utf-8><body><p>one<p>two &lt;3 &#27;[31m</p>"
        "<a title='x > y' href=\"a>b\">link</a> 1 < 2 <svg><text>drawn</text></svg><textarea>kept <b></textarea>"
    )
    assert title == "A & B"
    assert text == "one\ntwo <3 [31m\nlink 1 < 2 kept <b>"
    assert chatfn_tools_web.html_to_text("<p>caf\u00e9</p>".encode("cp1252"), None)[0] == "caf\ufffd"
    assert chatfn_tools_web.html_to_text(b'<meta charset="cp1252"><p>caf\xe9</p>')[0] == "caf\u00e9"


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, Path, list[str]]]:
    """An HTTPS server on 127.0.0.1 with a self-signed certificate for 'named.test'; it records SNI names."""
    if shutil.which("openssl") is None:
        pytest.skip("needs the openssl command to make a certificate")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-keyout", str(key), "-out", str(cert),
         "-subj", "/CN=named.test", "-addext", "subjectAltName=DNS:named.test"],
        check=True, capture_output=True,
    )
    names: list[str] = []
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    context.sni_callback = lambda sock, name, ctx: names.append(name)  # type: ignore[assignment,func-returns-value]
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True).start()
    yield httpd.server_address[1], cert, names
    httpd.shutdown()
    httpd.server_close()


def test_https_to_the_checked_address_keeps_the_name_for_sni_and_the_certificate(
    tls_server: tuple[int, Path, list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    port, cert, names = tls_server
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # trust the test certificate, and only it
    real = socket.getaddrinfo
    monkeypatch.setattr(socket, "getaddrinfo", lambda host, *a, **k: real("127.0.0.1" if host == "named.test" else host, *a, **k))
    assert fetch(f"https://named.test:{port}/text.txt") == f"URL: https://named.test:{port}/text.txt\n\njust text"
    assert names == ["named.test"]
    with pytest.raises(ConnectionError, match="TLS error talking to 127.0.0.1"):  # the certificate names named.test only
        fetch(f"https://127.0.0.1:{port}/text.txt")


# -- end to end: a scripted model calls the tool through the real CLI ---------------


def _chat_kit(request: pytest.FixtureRequest) -> tuple[Any, Any, Any]:
    from chatfn import testing

    return testing, request.getfixturevalue("chat_server"), request.getfixturevalue("invoke_chatfn")


def test_chat_fetches_a_page(request: pytest.FixtureRequest, server: str, tmp_path: Any) -> None:
    testing, chat_server, run_chatfn = _chat_kit(request)
    chat_server.script(testing.tool_calls(("fetch_url", {"url": f"{server}/page.html"})), testing.text("The page greets you."))
    config = tmp_path / "config.toml"
    config.write_text('[plugins.web]\nallow_private = ["127.0.0.1"]\n')
    result = run_chatfn("chat", "-y", "what does the page say?", env={"CHATFN_LOAD_PLUGINS": "web", "CHATFN_CONFIG": str(config)})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "The page greets you."
    [tool_message] = [m for m in chat_server.requests[1].messages if m["role"] == "tool"]
    assert tool_message["content"].startswith(f"Title: Test Page\nURL: {server}/page.html\n\nHello\n")
