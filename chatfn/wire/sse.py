"""Server-sent events from raw response bytes to JSON chunks, however the bytes are split.

The chat loop reads the HTTP body in whatever pieces the network delivers: a read
can end mid-line, mid-UTF-8 character or between the ``\\r`` and ``\\n`` of a line
ending. :class:`SSEDecoder` buffers only the unfinished line and works on whole
lines with bytes methods, because it runs once per read of a long answer.

It follows the SSE spec (``\\r\\n``, ``\\r`` or ``\\n`` line endings, comments,
multi-line ``data:`` joined with ``\\n``, unknown fields ignored) and the
OpenAI convention of a final ``data: [DONE]``. A chunk that is not a JSON
object, or that reports an ``error``, becomes a :class:`ProviderError`.
"""

from __future__ import annotations

import json
from typing import Any

from chatfn.errors import ProviderError

__all__ = ["SSEDecoder"]

_DONE = b"[DONE]"
_BOM = b"\xef\xbb\xbf"


class SSEDecoder:
    """Incremental decoder: :meth:`feed` bytes as they arrive, :meth:`finish` at the end."""

    def __init__(self) -> None:
        self.done = False
        self._partial = b""  # the unfinished last line
        self._data: list[bytes] = []  # data lines of the event being read
        self._event = b""  # the event's ``event:`` name, when a server sends one
        self._skip_lf = False  # the last read ended in "\r": a leading "\n" ends no line
        self._started = False

    def feed(self, data: bytes) -> list[dict[str, Any]]:
        """Decode one read; return the chunks of every event it completed."""
        if self.done or not data:
            return []
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
        if self._partial:
            data = self._partial + data
        lines = data.split(b"\n")
        self._partial = lines.pop()
        return self._lines(lines)

    def finish(self) -> list[dict[str, Any]]:
        """Flush the last event when the stream ended without a blank line after it."""
        if self.done:
            return []
        lines = [self._partial, b""] if self._partial else [b""]
        self._partial = b""
        return self._lines(lines)

    def _lines(self, lines: list[bytes]) -> list[dict[str, Any]]:
        chunks: list[dict[str, Any]] = []
        data = self._data
        for line in lines:
            if line:
                if line.startswith(b"data:"):
                    value = line[5:]
                    data.append(value[1:] if value[:1] == b" " else value)
                elif line[:1] != b":":
                    self._field(line)
            elif data:
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
        except ValueError:
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
