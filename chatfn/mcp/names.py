"""The name the model sees for an MCP tool: valid for every provider, unique, stable.

The rule (docs/mcp.md repeats it):

1. ``SERVER_TOOL``, the server's name and the tool's own name joined by ``_``, with every
   character outside ``[a-zA-Z0-9_-]`` replaced by ``_``;
2. if that is longer than 64 characters, or already taken (by a chatfn tool, or by an
   MCP tool named earlier: servers in configuration order, tools in the server's order),
   it is cut to 57 characters and ``_`` plus the first 6 hex digits of the SHA-256 of
   ``SERVER`` NUL ``TOOL`` is appended.

The suffix depends only on the server and tool names, so a tool keeps its name from one
run to the next however the others change, and approvals given to it stay with it.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Container

NAME_PATTERN = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
_INVALID = re.compile(r"[^a-zA-Z0-9_-]")
MAX_LENGTH = 64


def tool_name(server: str, tool: str, taken: Container[str]) -> str:
    """The provider-valid, unique name for ``tool`` of ``server``, given the names ``taken``."""
    plain = _INVALID.sub("_", f"{server}_{tool}")
    if len(plain) <= MAX_LENGTH and plain not in taken:
        return plain
    digest = hashlib.sha256(f"{server}\0{tool}".encode("utf-8", "surrogatepass")).hexdigest()[:6]
    return f"{plain[: MAX_LENGTH - 7]}_{digest}"
