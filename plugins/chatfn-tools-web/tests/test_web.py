"""chatfn-tools-web against a real HTTP server on 127.0.0.1: text, redirects, limits, allow-list."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import chatfn_tools_web
import pytest

pytest_plugins = ["chatfn.testing"]  # the scripted chat server and the run_chatfn fixture

PAGE = b"""<!doctype html><html><head><title>Test  Page</title>
<style>body { color: red }</style><script>var secret = "do not show";</script></head>
<body><h1>Hello</h1><p>First&nbsp;paragraph with <a href="/x">a link</a>.</p>
<ul><li>one</li><li>two</li></ul><noscript>enable js</noscript>
<table><tr><td>a</td><td>b</td></tr></table></body></html>"""

RELEASE = threading.Event()


class Handler(BaseHTTPRequestHandler):
    """The routes the tests fetch."""

    def do_GET(self) -> None:
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
        }
        routes.get(self.path, lambda: self.reply(404, "text/plain", b"no route"))()

    def reply(self, status: int, content_type: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
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


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    RELEASE.clear()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    RELEASE.set()
    httpd.shutdown()
    httpd.server_close()


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


def fetch(url: str, config: dict[str, Any] | None = None, **arguments: Any) -> str:
    return load_tool(config)[0](url=url, **arguments)


def test_approval_is_configurable() -> None:
    assert load_tool()[1]["needs_approval"] is False
    assert load_tool({"approval": True})[1]["needs_approval"] is True


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
    allowed = {"allow_hosts": ["127.0.0.1"]}
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
        ({"allowed_hosts": []}, "unknown key"),
    ],
)
def test_bad_settings_are_refused(config: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        load_tool(config)


# -- end to end: a scripted model calls the tool through the real CLI ---------------


def _chat_kit(request: pytest.FixtureRequest) -> tuple[Any, Any, Any]:
    from chatfn import testing

    return testing, request.getfixturevalue("chat_server"), request.getfixturevalue("run_chatfn")


def test_chat_fetches_a_page(request: pytest.FixtureRequest, server: str) -> None:
    testing, chat_server, run_chatfn = _chat_kit(request)
    chat_server.script(testing.tool_calls(("fetch_url", {"url": f"{server}/page.html"})), testing.text("The page greets you."))
    result = run_chatfn("chat", "-y", "what does the page say?", env={"CHATFN_LOAD_PLUGINS": "web"})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "The page greets you."
    [tool_message] = [m for m in chat_server.requests[1].messages if m["role"] == "tool"]
    assert tool_message["content"].startswith(f"Title: Test Page\nURL: {server}/page.html\n\nHello\n")
