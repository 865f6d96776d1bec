"""Server-sent events from raw response bytes to JSON chunks, however the bytes are split.

The chat loop reads the HTTP body in whatever pieces the network delivers: a read
can end mid-line, mid-UTF-8 character or between the ``\\r`` and ``\\n`` of a line
ending. :class:`SSEDecoder` keeps the unfinished line as a list of pieces, joined
once when its line ends, so a line of any length costs time in proportion to its
size (never a re-concatenation per read), and works on whole lines with bytes
methods, because it runs once per read of a long answer.

It follows the SSE spec (``\\r\\n``, ``\\r`` or ``\\n`` line endings, comments,
multi-line ``data:`` joined with ``\\n``, unknown fields ignored) and the
OpenAI convention of a final ``data: [DONE]``. A chunk that is not a JSON
object, or that reports an ``error``, becomes a :class:`ProviderError`.

What a server sends is bounded: one event larger than ``max_event_bytes``, or a
body larger than ``max_body_bytes`` once decompressed (a gzip bomb), is an error,
and so is a stream whose only traffic for ``idle_timeout`` seconds is keep-alive
comments, which would otherwise keep a stalled answer alive past every read timeout.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from chatfn.errors import ProviderError

__all__ = ["DEFAULT_IDLE_TIMEOUT", "DEFAULT_MAX_BODY_BYTES", "DEFAULT_MAX_EVENT_BYTES", "SSEDecoder"]

_DONE = b"[DONE]"
_BOM = b"\xef\xbb\xbf"
MIB = 1024 * 1024
DEFAULT_MAX_EVENT_BYTES = 16 * MIB
DEFAULT_MAX_BODY_BYTES = 256 * MIB
DEFAULT_IDLE_TIMEOUT = 300.0


class SSEDecoder:
    """Incremental decoder: :meth:`feed` bytes as they arrive, :meth:`finish` at the end."""

    def __init__(
        self,
        *,
        max_event_bytes: int = DEFAULT_MAX_EVENT_BYTES,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        idle_timeout: float | None = DEFAULT_IDLE_TIMEOUT,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.done = False
        self.max_event_bytes = max_event_bytes
        self.max_body_bytes = max_body_bytes
        self.idle_timeout = idle_timeout
        self._clock = clock
        self._pieces: list[bytes] = []  # the unfinished last line, in the pieces it arrived in
        self._pending = 0  # its length
        self._data: list[bytes] = []  # data lines of the event being read
        self._event_bytes = 0  # their length
        self._event = b""  # the event's ``event:`` name, when a server sends one
        self._skip_lf = False  # the last read ended in "\r": a leading "\n" ends no line
        self._started = False
        self._body = 0
        self._active = False  # this read carried something other than comments
        self._last_activity = clock()

    def feed(self, data: bytes) -> list[dict[str, Any]]:
        """Decode one read; return the chunks of every event it completed."""
        if self.done or not data:
            return []
        self._body += len(data)
        if self._body > self.max_body_bytes:
            raise ProviderError(
                f"the response is larger than {self.max_body_bytes / MIB:g} MiB (decompressed); chatfn stopped reading it",
                hint="raise stream_max_body_mib in the profile if such answers are real",
            )
        if not self._started:
            self._started = True
            if data.startswith(_BOM):
                data = data[3:]
        if self._skip_lf:
            self._skip_lf = False
            if data[:1] == b"\n":
                data = data[1:]
        if b"\r" in data:
            self._skip_lf = data.endswith(b"\r")
            data = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        self._active = False
        end = data.find(b"\n")
        if end < 0:
            self._hold(data)
            chunks: list[dict[str, Any]] = []
        else:
            lines = data[end + 1 :].split(b"\n")
            first = data[:end]
            if self._pieces:
                self._pieces.append(first)
                first = b"".join(self._pieces)
                self._pieces, self._pending = [], 0
            lines.insert(0, first)
            self._hold(lines.pop())
            chunks = self._lines(lines)
        self._check_idle()
        return chunks

    def _hold(self, piece: bytes) -> None:
        """Keep ``piece`` of the unfinished line, within the event size limit."""
        if not piece:
            return
        if not self._pieces and piece[:1] != b":":
            self._active = True
        elif self._pieces and self._pieces[0][:1] != b":":
            self._active = True
        self._pieces.append(piece)
        self._pending += len(piece)
        self._check_size(self._pending)

    def _check_size(self, line_bytes: int) -> None:
        if self._event_bytes + line_bytes > self.max_event_bytes:
            raise ProviderError(
                f"the server sent one event larger than {self.max_event_bytes / MIB:g} MiB; chatfn stopped reading it",
                hint="raise stream_max_event_mib in the profile if such events are real",
            )

    def _check_idle(self) -> None:
        now = self._clock()
        if self._active:
            self._last_activity = now
        elif self.idle_timeout is not None and now - self._last_activity > self.idle_timeout:
            raise ProviderError(
                f"no answer for {self.idle_timeout:g} s: the server sent only keep-alive comments",
                hint="the answer so far is kept; try again, or raise stream_idle_timeout in the profile",
            )

    def finish(self) -> list[dict[str, Any]]:
        """Flush the last event when the stream ended without a blank line after it."""
        if self.done:
            return []
        partial = b"".join(self._pieces)
        self._pieces, self._pending = [], 0
        lines = [partial, b""] if partial else [b""]
        return self._lines(lines)

    def _lines(self, lines: list[bytes]) -> list[dict[str, Any]]:
        chunks: list[dict[str, Any]] = []
        data = self._data
        for line in lines:
            if line:
                if line.startswith(b"data:"):
                    self._active = True
                    value = line[6:] if line[5:6] == b" " else line[5:]
                    self._event_bytes += len(value)
                    self._check_size(0)
                    data.append(value)
                elif line[:1] != b":":
                    self._active = True
                    self._field(line)
            elif data:
                self._event_bytes = 0
                self._dispatch(data, chunks)
                data = self._data = []
                if self.done:
                    break
            else:
                self._event = b""
        return chunks

    def _field(self, line: bytes) -> None:
        """A field other than ``data:``; only ``event:`` matters (``event: error``)."""
        name, _, value = line.partition(b":")
        if name == b"data":  # "data" without a colon: an empty data line
            self._data.append(b"")
        elif name == b"event":
            self._event = value[1:] if value[:1] == b" " else value

    def _dispatch(self, data: list[bytes], chunks: list[dict[str, Any]]) -> None:
        payload = data[0] if len(data) == 1 else b"\n".join(data)
        event, self._event = self._event, b""
        if len(payload) < 16:  # only a short payload can be blank or [DONE]
            stripped = payload.strip()
            if stripped == _DONE:
                self.done = True
                return
            if not stripped:
                return
        try:
            chunk = json.loads(payload)
        except RecursionError:
            raise _malformed(payload, "JSON nested too deeply") from None
        except ValueError:
            if event == b"error":
                raise ProviderError(_error_text({"error": payload.decode("utf-8", "replace")[:200]})) from None
            chunks.extend(_separate_events(data, payload))
            return
        if type(chunk) is not dict:
            raise _malformed(payload, "JSON but not an object")
        if event == b"error" or chunk.get("error"):
            raise ProviderError(_error_text(chunk))
        chunks.append(chunk)


def _separate_events(data: list[bytes], payload: bytes) -> list[dict[str, Any]]:
    """Some servers omit the blank line between events: accept lines that are each a chunk."""
    if len(data) < 2:
        raise _malformed(payload, "not JSON")
    chunks = []
    for line in data:
        try:
            chunk = json.loads(line)
        except (ValueError, RecursionError):
            raise _malformed(line, "not JSON") from None
        if type(chunk) is not dict:
            raise _malformed(line, "JSON but not an object")
        if chunk.get("error"):
            raise ProviderError(_error_text(chunk))
        chunks.append(chunk)
    return chunks


def _malformed(payload: bytes, what: str) -> ProviderError:
    text = payload.decode("utf-8", "replace")
    excerpt = text[:80] + ("..." if len(text) > 80 else "")
    return ProviderError(
        f"the server sent a malformed chunk ({what}): {excerpt!r}",
        hint="the endpoint may not be OpenAI-compatible, or a proxy altered the stream",
    )


def _error_text(chunk: dict[str, Any]) -> str:
    """The server's own words for a failure it reported inside the stream."""
    error = chunk.get("error", chunk)
    if isinstance(error, dict):
        message = error.get("message") or error.get("detail") or json.dumps(error)[:200]
        code = error.get("code") or error.get("type")
        if code and str(code) not in str(message):
            message = f"{message} ({code})"
    else:
        message = str(error)
    return f"the server reported an error mid-stream: {message}"
