"""The MCP servers of one chatfn process: started together, called from any thread, stopped at exit.

chatfn runs tools in worker threads; an MCP connection lives in an anyio task group that
must be entered and left by one task. So every connection is one long-lived task on one
event loop in a daemon thread: the task connects (with the server's start-up timeout),
lists the tools, then waits for :meth:`ServerPool.close`, and leaves its ``async with``
itself, which is how the SDK stops a stdio server (close stdin, wait, then signal its
whole process group). Calls are coroutines submitted to that loop from any thread.

A server that fails to start, crashes or times out is one status (and one stderr line
from the caller); the others go on. The pool stops every server at exit, on Ctrl-C, on
SIGHUP (chatfn raises :class:`~chatfn.errors.HangUp`) and on SIGTERM (a handler that
exits through the normal path is installed while servers run), so none is left behind.
Servers' own stderr goes to a private file, not the user's terminal; its last line is
the reason shown when a server fails.

This module imports the ``mcp`` SDK: import it only when a server must be reached.
"""

from __future__ import annotations

import asyncio
import atexit
import signal
import tempfile
import threading
from collections.abc import Sequence
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from typing import IO, Any

import anyio
import mcp
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client

from chatfn import __version__
from chatfn.mcp.config import ServerConfig
from chatfn.output.sanitize import visible

_STOP_GRACE = 8.0
"""Seconds :meth:`ServerPool.close` waits for the servers to stop (the SDK's own escalation takes up to 6)."""
_TAIL = 4096


class CallFailed(Exception):
    """A call did not produce a result: the server is down, timed out or refused the request."""


@dataclass
class ServerStatus:
    """How one server is doing, for ``chatfn mcp list`` and the stderr line."""

    server: ServerConfig
    state: str = "starting"
    """``starting``, ``connected``, ``failed`` or ``disabled``."""
    reason: str | None = None
    tools: list[dict[str, Any]] = field(default_factory=list)
    """The server's tool definitions, as the wire JSON (camelCase keys)."""
    server_version: str | None = None


class _Connection:
    """One server's long-lived task on the pool's loop."""

    def __init__(self, server: ServerConfig) -> None:
        self.server = server
        self.status = ServerStatus(server)
        self.client: mcp.Client | None = None
        self.ready = threading.Event()
        self.stop: asyncio.Event | None = None
        self.errlog: IO[str] = tempfile.TemporaryFile("w+", encoding="utf-8", errors="replace")
        self.http_status: int | None = None
        """The last HTTP error status the server answered (the SDK's errors do not say)."""

    async def run(self) -> None:
        self.stop = asyncio.Event()
        task = asyncio.current_task()
        deadline = asyncio.get_running_loop().call_later(self.server.startup_timeout, self._too_slow, task)
        try:
            async with self._client() as client:
                with anyio.fail_after(self.server.startup_timeout):
                    tools = await _all_tools(client)
                self.client = client
                self.status.tools = tools
                self.status.server_version = client.server_info.version if client.server_info else None
                self.status.state = "connected"
                deadline.cancel()
                self.ready.set()
                await self.stop.wait()
        except BaseException as error:
            if self.status.state == "connected":
                self.status.state, self.status.reason = "failed", f"stopped: {_describe(error)}"
            elif self.status.state == "starting":
                self.status.state, self.status.reason = "failed", self._failure(error)
            if isinstance(error, (KeyboardInterrupt, SystemExit)):
                raise
        finally:
            deadline.cancel()
            self.client = None
            self.ready.set()

    def _too_slow(self, task: asyncio.Task[None] | None) -> None:
        """The start-up timeout: fail, and cancel the task (leaving its ``async with`` stops the process)."""
        if self.status.state == "starting" and task is not None:
            self.status.state = "failed"
            self.status.reason = f"did not start within {self.server.startup_timeout:g} s"
            task.cancel()

    def _client(self) -> Any:
        """The ``mcp.Client`` for this server (its start-up is bounded by :meth:`ServerPool.start`)."""
        server = self.server
        if server.transport == "stdio":
            params = StdioServerParameters(
                command=server.command or "", args=list(server.args), env=dict(server.env), cwd=server.cwd
            )
            transport = stdio_client(params, errlog=self.errlog)
        else:
            import httpx2

            async def note_status(response: Any) -> None:
                if response.status_code >= 400:
                    self.http_status = response.status_code

            http = httpx2.AsyncClient(
                headers=dict(server.headers),
                timeout=httpx2.Timeout(server.startup_timeout, read=None),
                event_hooks={"response": [note_status]},
            )
            transport = _http_transport(server.url or "", http)
        client = mcp.Client(
            transport,
            read_timeout_seconds=server.call_timeout,
            client_info=mcp.Implementation(name="chatfn", version=__version__),
        )
        return client

    def _failure(self, error: BaseException) -> str:
        if isinstance(error, TimeoutError):
            reason = f"did not start within {self.server.startup_timeout:g} s"
        elif isinstance(error, FileNotFoundError):
            reason = f"command not found: {self.server.command}"
        else:
            reason = _describe(error)
        if self.http_status is not None:
            reason = f"{reason} (HTTP {self.http_status})"
        tail = self._stderr_tail()
        return f"{reason} (stderr: {tail})" if tail else reason

    def _stderr_tail(self) -> str:
        """The last line the server wrote to stderr, one line, at most 200 characters."""
        try:
            self.errlog.flush()
            size = self.errlog.seek(0, 2)
            self.errlog.seek(max(0, size - _TAIL))
            lines = [line.strip() for line in self.errlog.read().splitlines() if line.strip()]
        except (OSError, ValueError):
            return ""
        last = visible(" ".join(lines[-1].split())) if lines else ""
        return last if len(last) <= 200 else last[:199] + "…"


def _http_transport(url: str, http: Any) -> Any:
    """Streamable HTTP over ``http``, closing ``http`` afterwards."""
    from contextlib import asynccontextmanager

    @asynccontextmanager
    async def transport() -> Any:
        async with http, streamable_http_client(url, http_client=http) as streams:
            yield streams

    return transport()


async def _all_tools(client: mcp.Client) -> list[dict[str, Any]]:
    """Every page of the server's tool list, as wire JSON."""
    tools: list[dict[str, Any]] = []
    cursor: str | None = None
    for _ in range(100):  # a paginator that never ends cannot hang start-up
        page = await client.list_tools(cursor=cursor)
        tools.extend(tool.model_dump(mode="json", by_alias=True, exclude_none=True) for tool in page.tools)
        cursor = page.next_cursor
        if cursor is None:
            break
    return tools


class ServerPool:
    """Every connected MCP server of this process."""

    def __init__(self) -> None:
        self._connections: dict[str, _Connection] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._tasks: list[Future[None]] = []
        self._lock = threading.Lock()
        self._closed = False

    def start(self, servers: Sequence[ServerConfig], *, wait_for: Sequence[str] | None = None) -> dict[str, ServerStatus]:
        """Start every server not started yet, all at once; wait until each is connected or failed.

        ``wait_for`` names the servers to wait for (default: all); the others go on
        starting in the background, so a slow server does not hold up a call to another.
        """
        waiting: list[_Connection] = []
        with self._lock:
            if self._closed:
                raise CallFailed("chatfn is shutting down")
            loop = self._event_loop()
            for server in servers:
                if server.name in self._connections:
                    waiting.append(self._connections[server.name])
                    continue
                connection = self._connections[server.name] = _Connection(server)
                waiting.append(connection)
                if not server.enabled:
                    connection.status.state, connection.status.reason = "disabled", "enabled = false"
                    connection.ready.set()
                elif server.problem:
                    connection.status.state, connection.status.reason = "failed", server.problem
                    connection.ready.set()
                else:
                    self._tasks.append(asyncio.run_coroutine_threadsafe(connection.run(), loop))
        for connection in waiting:
            if wait_for is None or connection.server.name in wait_for:
                connection.ready.wait(connection.server.startup_timeout + _STOP_GRACE)  # the task fails itself in time
        return {server.name: self._connections[server.name].status for server in servers}

    def status(self, name: str) -> ServerStatus | None:
        """The status of server ``name``, if it was started."""
        connection = self._connections.get(name)
        return connection.status if connection else None

    def call(self, name: str, tool: str, arguments: dict[str, Any], timeout: float) -> Any:
        """Call ``tool`` on server ``name``; the SDK's ``CallToolResult``, or :class:`CallFailed`."""
        connection = self._connections.get(name)
        if connection is None or connection.client is None or self._loop is None:
            status = connection.status if connection else None
            reason = status.reason if status and status.reason else "not connected"
            raise CallFailed(f"MCP server {name!r} is not available: {reason}")
        client = connection.client
        future = asyncio.run_coroutine_threadsafe(
            client.call_tool(tool, arguments, read_timeout_seconds=timeout), self._loop
        )
        try:
            return future.result(timeout + 1)
        except (FutureTimeout, TimeoutError):
            future.cancel()
            raise CallFailed(f"MCP server {name!r} did not answer within {timeout:g} s") from None
        except Exception as error:
            if "timed out" in str(error):
                raise CallFailed(f"MCP server {name!r} did not answer within {timeout:g} s") from None
            if connection.client is None or _is_closed(error):
                connection.status.state = "failed"
                connection.status.reason = connection.status.reason or f"connection lost: {_describe(error)}"
                raise CallFailed(f"MCP server {name!r} stopped: {_describe(error)}") from None
            raise CallFailed(f"MCP server {name!r}: {_describe(error)}") from None

    def close(self) -> None:
        """Stop every server and wait (bounded) until they are gone."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            loop = self._loop
        if loop is None:
            return
        for connection in self._connections.values():
            if connection.stop is not None:
                loop.call_soon_threadsafe(connection.stop.set)
        for task in self._tasks:
            try:
                task.result(_STOP_GRACE)
            except BaseException:
                pass
        loop.call_soon_threadsafe(loop.stop)

    def _event_loop(self) -> asyncio.AbstractEventLoop:
        if self._loop is None:
            loop = asyncio.new_event_loop()
            threading.Thread(target=loop.run_forever, name="chatfn-mcp", daemon=True).start()
            self._loop = loop
            atexit.register(self.close)
            _stop_on_terminate()
        return self._loop


def _is_closed(error: BaseException) -> bool:
    text = str(error).lower()
    return isinstance(error, (anyio.ClosedResourceError, anyio.BrokenResourceError, EOFError)) or "closed" in text


def _describe(error: BaseException) -> str:
    grouped = getattr(error, "exceptions", None)  # an exception group from a task group
    if isinstance(grouped, tuple) and grouped and isinstance(grouped[0], BaseException):
        return _describe(grouped[0])
    text = visible(" ".join(str(error).split()))  # a server's words: shown, never obeyed
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def _stop_on_terminate() -> None:
    """Leave through the normal exit path on SIGTERM, so the servers are stopped too.

    Only when nobody else handles SIGTERM, and only from the main thread (where Python
    runs signal handlers).
    """
    if threading.current_thread() is not threading.main_thread():
        return
    if signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
        return

    def terminate(signum: int, frame: object) -> None:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, terminate)


_pool: ServerPool | None = None
_pool_lock = threading.Lock()


def shared_pool() -> ServerPool:
    """The process's pool, made on first use."""
    global _pool
    with _pool_lock:
        if _pool is None or _pool._closed:
            _pool = ServerPool()
        return _pool
