"""An MCP tool result as the text the model gets back.

Text blocks go as they are; structured content as JSON when there is no text (the
spec asks servers to send its JSON as text too, so with text it would come twice); images,
audio and resources as a short note naming their type and size, since the tool result
of a chat completion is text. An ``isError`` result raises :class:`ServerToolError`, so
chatfn reports it to the model as the tool's error. Works on the SDK's result objects
without importing the SDK.
"""

from __future__ import annotations

import json
from typing import Any

from chatfn.output.sanitize import clean


class ServerToolError(Exception):
    """The server ran the tool and it reported an error (``isError``)."""


def result_text(result: Any) -> str:
    """The text for the model of a ``CallToolResult``; raise :class:`ServerToolError` for an error result."""
    parts: list[str] = []
    texts: list[str] = []
    for block in getattr(result, "content", None) or []:
        kind = getattr(block, "type", None)
        if kind == "text":
            texts.append(block.text)
            parts.append(block.text)
        else:
            parts.append(block_note(block))
    structured = getattr(result, "structured_content", None)
    if structured is not None and not texts:
        parts.append(json.dumps(structured, ensure_ascii=False))
    text = clean("\n".join(parts))  # a server's text: control sequences removed before anyone shows it
    if getattr(result, "is_error", False):
        raise ServerToolError(text or "the server reported an error without a message")
    return text


def block_note(block: Any) -> str:
    """``[image: image/png, 1,234 bytes]`` and the like, for content the model gets no bytes of."""
    kind = getattr(block, "type", "unknown")
    if kind in ("image", "audio"):
        return f"[{kind}: {getattr(block, 'mime_type', None) or 'unknown type'}, {_size(getattr(block, 'data', ''))}]"
    if kind == "resource":
        resource = getattr(block, "resource", None)
        mime = getattr(resource, "mime_type", None) or "unknown type"
        uri = getattr(resource, "uri", "")
        body = getattr(resource, "text", None)
        size = f"{len(body.encode('utf-8', 'replace')):,} bytes" if isinstance(body, str) else _size(getattr(resource, "blob", ""))
        return f"[resource {uri}: {mime}, {size}]"
    if kind == "resource_link":
        mime = getattr(block, "mime_type", None) or "unknown type"
        size = getattr(block, "size", None)
        shown = f", {size:,} bytes" if isinstance(size, int) else ""
        return f"[resource link {getattr(block, 'uri', '')}: {mime}{shown}]"
    return f"[{kind} content]"


def _size(data: str) -> str:
    """The decoded size of base64 ``data``, as ``1,234 bytes``."""
    if not isinstance(data, str):
        return "unknown size"
    stripped = data.strip()
    padding = len(stripped) - len(stripped.rstrip("="))
    return f"{max(0, len(stripped) * 3 // 4 - padding):,} bytes"
