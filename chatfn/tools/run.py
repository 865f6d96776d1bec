"""Running the tools a model asked for, so that nothing a tool does can crash the chat.

Unknown tools, bad JSON, arguments that break the schema, exceptions, timeouts and
denials all become a result text starting with ``Error:`` that goes back to the
model. Sync tools run in daemon threads (a hung one is abandoned at its timeout and
cannot block exit), async tools on one background event loop; calls of a round run
concurrently and their outcomes come back in the calls' order. While tools run,
their output goes to stderr: stdout is the answer, or the ``--json`` stream.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import json
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from chatfn.errors import ToolError
from chatfn.events import ToolCall, ToolOutcome
from chatfn.tools.arguments import (
    ArgumentError,
    Validators,
    parse_arguments,
    validate_arguments,
)
from chatfn.tools.policy import Denied, tool_timeout
from chatfn.tools.tool import Tool

if TYPE_CHECKING:
    from chatfn.settings.config import ToolSettings

Approve = Callable[[Tool, dict[str, Any]], "bool | Denied"]
"""Says whether a call may run: True, False, or :class:`Denied` with the reason the model is told."""
DENIED = "the user denied this tool call"


class RoundInterrupted(KeyboardInterrupt):
    """Ctrl-C during a round, carrying the outcomes of the calls that had already finished.

    A tool that took 0.00 s has a real result; only the calls still running when the
    user pressed Ctrl-C are answered as interrupted (by the chat loop).
    """

    def __init__(self, finished: list[ToolOutcome]) -> None:
        super().__init__()
        self.finished = finished


# -- results -------------------------------------------------------------------------


def format_result(value: Any) -> str:
    """A tool's return value as text: strings as they are, anything else as JSON if it can be."""
    if isinstance(value, str):
        return value
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("utf-8", errors="replace")
    try:
        return json.dumps(value, ensure_ascii=False, default=_jsonable)
    except (TypeError, ValueError):
        try:
            text = repr(value)
        except Exception:
            text = f"<{type(value).__name__} object>"
        return f"{text}\n[note: the tool returned a {type(value).__name__}, which is not JSON; shown as text]"


def _jsonable(value: Any) -> Any:
    """JSON for the common non-JSON types tools return: models, dataclasses, dates, paths."""
    import dataclasses
    import datetime
    import enum
    import pathlib

    if hasattr(value, "model_dump") and callable(value.model_dump):
        return value.model_dump(mode="json")
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if isinstance(value, (datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, pathlib.PurePath):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def cap(text: str, limit: int) -> tuple[str, bool]:
    """``text`` cut to ``limit`` characters with a note saying so, and whether it was cut."""
    if len(text) <= limit:
        return text, False
    return f"{text[:limit]}\n[truncated: {limit} of {len(text)} characters shown]", True


# -- running -----------------------------------------------------------------------


class _Pending:
    """One started tool call; :meth:`wait` gives its text or raises :class:`ToolError`."""

    def __init__(self, tool: Tool, arguments: dict[str, Any], timeout: float, async_tools: _AsyncTools) -> None:
        self.tool = tool
        self._async_tools = async_tools
        self.timeout = timeout
        self.started = time.perf_counter()
        self.finished: float | None = None
        self._done = threading.Event()
        self._value: Any = None
        self._error: BaseException | None = None
        self._isolated: Any = None
        if tool.isolated:
            from chatfn.tools.isolation import IsolatedCall

            self._future = None
            self._isolated = IsolatedCall(tool.function, arguments)
        elif tool.is_async:
            self._future = asyncio.run_coroutine_threadsafe(
                asyncio.wait_for(tool.function(**arguments), timeout), async_tools.loop()
            )
            self._future.add_done_callback(lambda _: self._mark_done())
        else:
            self._future = None
            threading.Thread(
                target=self._run_sync, args=(arguments,), name=f"chatfn-tool-{tool.name}", daemon=True
            ).start()

    def _mark_done(self) -> None:
        self.finished = time.perf_counter()
        self._done.set()

    def _run_sync(self, arguments: dict[str, Any]) -> None:
        try:
            value = self.tool.function(**arguments)
            if inspect.isawaitable(value):  # a sync wrapper handing back a coroutine
                remaining = max(0.01, self.timeout - (time.perf_counter() - self.started))
                value = asyncio.run_coroutine_threadsafe(_await(value, remaining), self._async_tools.loop()).result()
            self._value = value
        except BaseException as error:  # noqa: BLE001 - everything a tool raises is reported
            self._error = error
        finally:
            self._mark_done()

    def is_done(self) -> bool:
        """True when the call has finished: :meth:`wait` returns (or raises) at once."""
        if self._isolated is not None:
            return self._isolated.ready()
        return self._done.is_set()

    def cancel(self) -> None:
        """Stop the call if it can be stopped (an isolated one); others are abandoned."""
        if self._isolated is not None:
            self._isolated.stop()

    def _wait_isolated(self) -> str:
        status, value = self._isolated.result(self.started + self.timeout - time.perf_counter())
        self.finished = time.perf_counter()
        if status == "timeout":
            raise ToolError(f"{self.tool.name} timed out after {self.timeout:g} s (its worker process was stopped)")
        if status == "error":
            raise ToolError(f"{self.tool.name} failed: {value}")
        return format_result(value)

    def wait(self) -> str:
        if self._isolated is not None:
            return self._wait_isolated()
        deadline = self.started + self.timeout
        if not self._done.wait(max(0.0, deadline - time.perf_counter()) + (0.25 if self.tool.is_async else 0)):
            if self._future is not None:  # the coroutine blocks the loop: give later calls a fresh one
                self._future.cancel()
                self._async_tools.abandon()
            raise ToolError(f"{self.tool.name} timed out after {self.timeout:g} s")
        if self._future is not None:
            try:
                self._value = self._future.result()
            except BaseException as error:  # noqa: BLE001
                self._error = error
        if self._error is not None:
            if isinstance(self._error, (asyncio.TimeoutError, TimeoutError)) and self.tool.is_async:
                raise ToolError(f"{self.tool.name} timed out after {self.timeout:g} s")
            raise ToolError(f"{self.tool.name} failed: {_describe(self._error)}")
        return format_result(self._value)

    @property
    def duration(self) -> float:
        return (self.finished or time.perf_counter()) - self.started


async def _await(awaitable: Any, timeout: float) -> Any:
    return await asyncio.wait_for(awaitable, timeout)


def _describe(error: BaseException) -> str:
    text = " ".join(str(error).split())
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def invoke_tool(tool: Tool, arguments: dict[str, Any], timeout: float) -> str:
    """Run one tool directly and return its result text; raise :class:`ToolError` on failure."""
    async_tools = _AsyncTools()
    try:
        return _Pending(tool, arguments, timeout, async_tools).wait()
    except ToolError:
        raise
    except Exception as error:  # calling the function itself failed (e.g. bad keywords for an async def)
        raise ToolError(f"{tool.name} failed: {_describe(error)}") from None
    finally:
        async_tools.stop()


def run_tool_calls(
    calls: Sequence[ToolCall],
    tools: Mapping[str, Tool],
    settings: ToolSettings,
    *,
    approve: Approve,
    validators: Validators | None = None,
) -> list[ToolOutcome]:
    """Run a round of calls: check and approve each in turn, then run the approved ones together.

    ``validators`` keeps the schema validators of the caller (a chat session) between rounds.
    """
    validators = validators or Validators()
    async_tools = _AsyncTools()
    outcomes: dict[int, ToolOutcome] = {}
    ready: list[tuple[int, Tool, dict[str, Any]]] = []
    for index, call in enumerate(calls):
        tool = tools.get(call.name)
        try:
            if tool is None:
                known = ", ".join(sorted(tools)) or "none"
                raise ArgumentError(f"unknown tool {call.name!r} (available tools: {known})")
            arguments = parse_arguments(call.arguments)
            validate_arguments(tool, arguments, validators)
        except ArgumentError as error:
            outcomes[index] = _failed(call, str(error))
            continue
        verdict = approve(tool, arguments)
        if not verdict:
            reason = verdict.reason if isinstance(verdict, Denied) else DENIED
            outcomes[index] = ToolOutcome(call, f"Error: {reason}", ok=False, error=reason, denied=True)
            continue
        ready.append((index, tool, arguments))
    with tool_output_to_stderr():
        pending: list[tuple[int, Any]] = []
        for index, tool, arguments in ready:
            try:
                pending.append((index, _Pending(tool, arguments, tool_timeout(tool, settings), async_tools)))
            except Exception as error:
                outcomes[index] = _failed(calls[index], f"{tool.name} failed: {_describe(error)}")
        try:
            for index, running in pending:
                outcomes[index] = _outcome(calls[index], running, settings)
        except KeyboardInterrupt:
            for index, running in pending:
                if index not in outcomes and running.is_done():
                    outcomes[index] = _outcome(calls[index], running, settings)
            raise RoundInterrupted([outcomes[index] for index in sorted(outcomes)]) from None
        finally:
            for _, running in pending:
                running.cancel()
            async_tools.stop()
    return [outcomes[index] for index in range(len(calls))]


def _outcome(call: ToolCall, running: _Pending, settings: ToolSettings) -> ToolOutcome:
    try:
        text, truncated = cap(running.wait(), settings.max_result_chars)
    except ToolError as error:
        return _failed(call, str(error), running.duration)
    return ToolOutcome(call, text, ok=True, duration=running.duration, truncated=truncated)


def _failed(call: ToolCall, message: str, duration: float = 0.0) -> ToolOutcome:
    return ToolOutcome(call, f"Error: {message}", ok=False, error=message, duration=duration)


class _Redirect:
    """Standard output is one per process (file descriptor 1 and ``sys.stdout``), so its redirect is too.

    The first round (of any session, in any thread) to start sends it to stderr and
    the last one to end puts it back; rounds that overlap in other threads, and end
    in any order, never restore it under each other's running tools.
    """

    lock = threading.Lock()
    depth = 0
    saved_stream: Any = None
    saved_fd: int | None = None

    @classmethod
    def enter(cls) -> None:
        with cls.lock:
            cls.depth += 1
            if cls.depth > 1:
                return
            cls.saved_stream = sys.stdout
            with contextlib.suppress(Exception):
                sys.stdout.flush()
            try:
                cls.saved_fd = os.dup(1)
                os.dup2(2, 1)
            except OSError:  # no usable file descriptors (e.g. embedded): Python-level redirect only
                cls.saved_fd = None
            sys.stdout = sys.stderr

    @classmethod
    def leave(cls) -> None:
        with cls.lock:
            cls.depth -= 1
            if cls.depth > 0:
                return
            with contextlib.suppress(Exception):
                sys.stderr.flush()
            sys.stdout, cls.saved_stream = cls.saved_stream, None
            if cls.saved_fd is not None:
                os.dup2(cls.saved_fd, 1)
                os.close(cls.saved_fd)
                cls.saved_fd = None


@contextlib.contextmanager
def tool_output_to_stderr() -> Iterator[None]:
    """Send what tools print - from Python or from child processes - to stderr, not stdout."""
    _Redirect.enter()
    try:
        yield
    finally:
        _Redirect.leave()


# -- the event loop for async tools --------------------------------------------------


class _AsyncTools:
    """The event loop (in a daemon thread) that runs one round's async tools, started on first use.

    Each round, and each direct call, has its own and stops it at the end, so no loop
    outlives its round or is shared between sessions. A coroutine that blocks the
    loop past its timeout leaves it to its fate: later calls get a fresh loop.
    """

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock = threading.Lock()

    def loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                threading.Thread(target=loop.run_forever, name="chatfn-async-tools", daemon=True).start()
                self._loop = loop
            return self._loop

    def abandon(self) -> None:
        """Give later calls a fresh loop; the blocked one is left running in its daemon thread."""
        with self._lock:
            self._loop = None

    def stop(self) -> None:
        """Stop the loop once what runs on it is finished or abandoned."""
        with self._lock:
            loop, self._loop = self._loop, None
        if loop is not None:
            loop.call_soon_threadsafe(loop.stop)
