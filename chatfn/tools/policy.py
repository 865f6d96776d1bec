"""Whether a tool call may run without asking, and how long it may take.

The rules live here and nowhere else; the terminal only asks the question this
module says must be asked.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from chatfn.tools.tool import Tool

if TYPE_CHECKING:
    from chatfn.settings.config import ToolSettings


def needs_approval(tool: Tool, arguments: Mapping[str, Any], settings: ToolSettings) -> bool:
    """Config globs first (``require_approval`` then ``skip_approval``), then the tool's own say."""
    if any(fnmatch.fnmatchcase(tool.name, pattern) for pattern in settings.require_approval):
        return True
    if any(fnmatch.fnmatchcase(tool.name, pattern) for pattern in settings.skip_approval):
        return False
    if tool.approval_check is not None:
        try:
            return bool(tool.approval_check(dict(arguments)))
        except Exception:  # a broken check must fail safe
            return True
    return tool.needs_approval


def tool_timeout(tool: Tool, settings: ToolSettings) -> float:
    """Config's per-tool timeout, else the tool's own, else config's default."""
    return settings.timeouts.get(tool.name) or tool.timeout or settings.timeout
