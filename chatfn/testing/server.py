"""The scripted OpenAI-compatible chat server: replies from a script, records every request."""

from __future__ import annotations

import json
import re
import selectors
import socket
import sys
import threading
from collections import deque
from collections.abc import Mapping, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import EllipsisType
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from chatfn.testing.responses import (
    DEFAULT_MODEL,
    RecordedRequest,
    Response,
    Scripted,
    error,
)

__all__ = [
    "ScriptedServer",
]

_AZURE_PATH = re.compile(r"^/openai/deployments/(?P<deployment>[^/]+)/chat/completions/?$")


# --------------------------------------------------------------------------- server


class ScriptedServer:
    """An OpenAI-compatible chat server on 127.0.0.1 that replies from a script and records requests.

    Serves ``POST /v1/chat/completions`` (any path ending in ``/chat/completions``),
    Azure's ``POST /openai/deployments/{name}/chat/completions?api-version=...``, the
    Responses API's ``POST /v1/responses``, Azure's ``/openai/v1/responses`` and
    ``/openai/responses?api-version=...`` (any path ending in ``/responses``), and
    ``GET /v1/models``. Each chat or responses request takes the next scripted reply in order;
    with none left it gets a 500 whose message says so, so the test fails visibly.

    ``models`` is what ``GET /v1/models`` (and Azure's ``GET /openai/models``) lists:
    by default ``[model]``; ``None`` answers 404, as a server with no listing does.
    ``azure_deployments`` (name -> model), when given, is served at Azure's older
    ``GET /openai/deployments``; otherwise that answers 404, as Azure does today.
    Both are attributes a test may change while the server runs.
    """

    def __init__(
        self,
        *,
        model: str = DEFAULT_MODEL,
        port: int = 0,
        models: Sequence[str] | None | EllipsisType = ...,
        azure_deployments: Mapping[str, str] | None = None,
    ) -> None:
        self.model = model
        self.models: list[str] | None = [model] if models is ... else (None if models is None else list(models))
        self.azure_deployments: dict[str, str] | None = dict(azure_deployments) if azure_deployments else None
        self._port = port
        self._condition = threading.Condition()
        self._requests: list[RecordedRequest] = []
        self._script: deque[Scripted] = deque()
        self._stopping = threading.Event()
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    # lifecycle -----------------------------------------------------------------

    def start(self) -> ScriptedServer:
        """Bind a free port on 127.0.0.1 and serve from a daemon thread."""
        if self._httpd is not None:
            raise RuntimeError("the ScriptedServer is already running")
        self._stopping.clear()
        self._httpd = _HTTPServer(("127.0.0.1", self._port), _Handler, self)
        self._thread = threading.Thread(target=self._httpd.serve, name="chatfn-scripted-server", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, wake stalled streams and close open connections."""
        httpd, thread = self._httpd, self._thread
        if httpd is None:
            return
        self._stopping.set()
        httpd.stop_serving()
        httpd.close_connections()
        httpd.server_close()
        if thread is not None:
            thread.join(timeout=5)
        self._httpd = self._thread = None

    def __enter__(self) -> ScriptedServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        where = self.url if self._httpd is not None else "stopped"
        return f"<ScriptedServer {where} requests={len(self._requests)} pending={len(self._script)}>"

    # addresses -----------------------------------------------------------------

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT``, the server's root."""
        if self._httpd is None:
            raise RuntimeError("the ScriptedServer is not running; use start() or a with block")
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    @property
    def base_url(self) -> str:
        """The OpenAI ``base_url``: :attr:`url` + ``/v1``."""
        return f"{self.url}/v1"

    @property
    def azure_endpoint(self) -> str:
        """The Azure OpenAI endpoint (the root; the SDK adds ``/openai/deployments/...``)."""
        return self.url

    # script and record ---------------------------------------------------------

    def script(self, *responses: Scripted) -> ScriptedServer:
        """Queue replies; each chat request takes the next one, in order."""
        for response in responses:
            if not isinstance(response, Response) and not callable(response):
                raise TypeError(f"script() takes Response objects or callables, not {response!r}")
        with self._condition:
            self._script.extend(responses)
        return self

    @property
    def pending(self) -> int:
        """How many scripted replies no request has taken yet."""
        with self._condition:
            return len(self._script)

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request received so far, in order (a copy)."""
        with self._condition:
            return list(self._requests)

    @property
    def last_request(self) -> RecordedRequest:
        """The latest request; LookupError when none has arrived."""
        with self._condition:
            if not self._requests:
                raise LookupError("the ScriptedServer has received no request yet")
            return self._requests[-1]

    def wait_for_requests(self, count: int, timeout: float = 10.0) -> list[RecordedRequest]:
        """Block until ``count`` requests have arrived; TimeoutError after ``timeout`` seconds."""
        with self._condition:
            if not self._condition.wait_for(lambda: len(self._requests) >= count, timeout):
                raise TimeoutError(
                    f"chatfn.testing: waited {timeout}s for {count} request(s), got {len(self._requests)}"
                )
            return list(self._requests)

    def _record(self, method: str, target: str, headers: Mapping[str, str], content: bytes) -> RecordedRequest:
        split = urlsplit(target)
        query = dict(parse_qsl(split.query, keep_blank_values=True))
        azure = _AZURE_PATH.match(split.path)
        try:
            body: Any = json.loads(content) if content else None
        except ValueError:
            body = None
        with self._condition:
            request = RecordedRequest(
                number=len(self._requests) + 1,
                method=method,
                path=split.path,
                query=query,
                headers=dict(headers),
                content=content,
                body=body,
                deployment=unquote(azure["deployment"]) if azure else None,
                api_version=query.get("api-version"),
            )
            self._requests.append(request)
            self._condition.notify_all()
        return request

    def _reply(self, request: RecordedRequest) -> Response:
        """Route ``request``: chat requests take the script, the rest are served or refused here."""
        path = request.path.rstrip("/")
        if request.method == "POST" and path.endswith(("/chat/completions", "/responses")):
            return self._next_scripted(request)
        if request.method == "GET" and path in ("/v1/models", "/models", "/openai/models") and self.models is not None:
            listing = {
                "object": "list",
                "data": [
                    {"id": name, "object": "model", "created": 0, "owned_by": "chatfn-testing"} for name in self.models
                ],
            }
            return Response(headers={"Content-Type": "application/json"}, parts=[json.dumps(listing).encode()])
        if request.method == "GET" and path == "/openai/deployments" and self.azure_deployments is not None:
            deployments = {
                "object": "list",
                "data": [
                    {"id": name, "model": model, "object": "deployment", "status": "succeeded"}
                    for name, model in self.azure_deployments.items()
                ],
            }
            return Response(headers={"Content-Type": "application/json"}, parts=[json.dumps(deployments).encode()])
        return error(404, f"chatfn.testing: nothing is served at {request.method} {request.path}")

    def _next_scripted(self, request: RecordedRequest) -> Response:
        with self._condition:
            scripted = self._script.popleft() if self._script else None
        if scripted is None:
            return error(
                500,
                f"chatfn.testing: no scripted response left for request {request.number} "
                f"({request.method} {request.path})",
                code="chatfn_testing_script_empty",
            )
        if isinstance(scripted, Response):
            return scripted
        try:
            response = scripted(request)
        except Exception as exc:  # a broken test callable must fail the test visibly, not hang it
            return error(500, f"chatfn.testing: the scripted callable for request {request.number} raised {exc!r}")
        if not isinstance(response, Response):
            return error(500, f"chatfn.testing: the scripted callable returned {response!r}, not a Response")
        return response


class _HTTPServer(ThreadingHTTPServer):
    """A threading server that knows its :class:`ScriptedServer` and can close live connections."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler], owner: ScriptedServer) -> None:
        self.owner = owner
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        self._wake_reader, self._wake_writer = socket.socketpair()
        self._served = threading.Event()
        super().__init__(address, handler)

    def serve(self) -> None:
        """Accept connections until :meth:`stop_serving`, which wakes the loop at once.

        ``serve_forever`` only notices a shutdown at its next poll; a test suite that
        starts a server per test would wait that long at every teardown.
        """
        try:
            with selectors.DefaultSelector() as selector:
                selector.register(self, selectors.EVENT_READ)
                selector.register(self._wake_reader, selectors.EVENT_READ)
                while True:
                    ready = [key.fileobj for key, _ in selector.select()]
                    if self._wake_reader in ready:
                        return
                    self._handle_request_noblock()
        finally:
            self._served.set()

    def stop_serving(self) -> None:
        """End :meth:`serve` and wait until it has returned."""
        self._wake_writer.send(b"x")
        self._served.wait()

    def server_close(self) -> None:
        super().server_close()
        self._wake_reader.close()
        self._wake_writer.close()

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        """Shut every open connection so idle keep-alive and stalled handlers end now."""
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Clients hanging up mid-stream is expected here; anything else is printed."""
        if not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    """Reads a request, records it, and writes the scripted reply with its faults."""

    server: _HTTPServer
    protocol_version = "HTTP/1.1"
    server_version = "chatfn-testing"
    sys_version = ""

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def do_PUT(self) -> None:
        self._handle()

    def do_PATCH(self) -> None:
        self._handle()

    def do_DELETE(self) -> None:
        self._handle()

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: test output is no place for an access log."""

    def _handle(self) -> None:
        owner = self.server.owner
        try:
            content = self._read_body()
            headers: dict[str, str] = {}
            for name, value in self.headers.items():
                key = name.lower()
                headers[key] = f"{headers[key]}, {value}" if key in headers else value
            request = owner._record(self.command, self.path, headers, content)
            response = owner._reply(request)
            try:
                parts = response.render(request)
            except Exception as exc:
                response = error(500, f"chatfn.testing: building the reply to request {request.number} failed: {exc!r}")
                parts = response.render(request)
            self._send(response, parts, owner._stopping)
        except (ConnectionError, TimeoutError):
            self.close_connection = True

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            body = bytearray()
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return bytes(body)
                body += self.rfile.read(size)
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _send(self, response: Response, parts: list[bytes], stopping: threading.Event) -> None:
        self.send_response(response.status)
        for name, value in response.headers.items():
            self.send_header(name, value)
        if response.stream:
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.send_header("Content-Length", str(sum(len(part) for part in parts)))
        self.end_headers()
        for index in range(len(parts) + 1):
            at_end = index == len(parts)  # a fault past the last event still withholds the end
            if response.drop_after is not None and (index >= response.drop_after or at_end):
                return self._hang_up()
            if response.stall_after is not None and (index >= response.stall_after or at_end):
                stopping.wait(response.stall_seconds)
                return self._hang_up()
            if at_end:
                break
            if index and response.delay > 0 and stopping.wait(response.delay):
                return self._hang_up()
            part = parts[index]
            if response.stream:
                if part:  # an empty chunk would end the body
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
            else:
                self.wfile.write(part)
            self.wfile.flush()
        if response.stream:
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()

    def _hang_up(self) -> None:
        """Close the connection mid-body: no further events, no terminating chunk."""
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
