"""Whether a tool call may run without asking, and how long it may take.

The rules live here and nowhere else; the terminal only asks the question this
module says must be asked. The default policy, from the tools' effect hints:

- read-only tools that stay on this machine run without asking;
- tools that change things ask (``needs_approval``, ``read_only_hint=False``,
  ``destructive_hint=True``, or the tool's own per-call check);
- once the conversation holds private data (the result of a ``private_data`` tool:
  a file's contents, a command's output), every call of an open-world tool asks,
  because its arguments may carry that data off the machine. A tool that did not
  say whether it is open-world (``open_world_hint=None``) counts as one, as in MCP.

``[tools]`` settings tighten or relax each rule per tool (names or globs):
``require_approval`` always asks, ``skip_approval`` never asks for the change rule,
``private_data`` and ``open_world`` mark tools the plugin did not, and
``trust_with_private_data`` lets an open-world tool run unasked even then.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from chatfn.tools.tool import Tool

if TYPE_CHECKING:
    from chatfn.settings.config import ToolSettings


@dataclass(frozen=True)
class Decision:
    """What the policy says about one call: run it, or ask first, and why."""

    ask: bool
    reason: str = ""


@dataclass(frozen=True)
class Denied:
    """An approval answer that is no, with the reason the model is told."""

    reason: str

    def __bool__(self) -> bool:
        return False


@dataclass
class Exposure:
    """What private data the conversation holds: the tools whose results brought it."""

    sources: list[str] = field(default_factory=list)

    def note(self, source: str) -> None:
        """The conversation now holds private data from ``source``."""
        if source not in self.sources:
            self.sources.append(source)

    def __bool__(self) -> bool:
        return bool(self.sources)

    def describe(self) -> str:
        """``read_file's result`` or ``results of read_file and run_command``, for reasons."""
        if len(self.sources) == 1:
            return f"{self.sources[0]}'s result"
        return f"results of {', '.join(self.sources[:-1])} and {self.sources[-1]}"


def _matches(name: str, patterns: Iterable[str]) -> bool:
    return any(fnmatch.fnmatchcase(name, pattern) for pattern in patterns)


def returns_private_data(tool: Tool, settings: ToolSettings) -> bool:
    """The tool's results are the user's private data (by its own say or by config)."""
    return tool.private_data or _matches(tool.name, settings.private_data)


def reaches_beyond_machine(tool: Tool, settings: ToolSettings) -> bool:
    """The tool may send what it is given beyond this machine; unknown counts as yes."""
    if _matches(tool.name, settings.open_world):
        return True
    return tool.open_world_hint is not False


def changes_things(tool: Tool, arguments: Mapping[str, Any]) -> bool:
    """The tool's own say: its per-call check, else its flag and hints."""
    if tool.approval_check is not None:
        try:
            return bool(tool.approval_check(dict(arguments)))
        except Exception:  # a broken check must fail safe
            return True
    return tool.needs_approval or tool.read_only_hint is False or tool.destructive_hint is True


def decide(tool: Tool, arguments: Mapping[str, Any], settings: ToolSettings, exposure: Exposure | None = None) -> Decision:
    """Ask or run, with the reason a person (and, on denial, the model) is given."""
    if _matches(tool.name, settings.require_approval):
        return Decision(True, "your [tools] require_approval setting asks for it")
    if (
        exposure
        and reaches_beyond_machine(tool, settings)
        and not _matches(tool.name, settings.trust_with_private_data)
    ):
        reach = "can reach the network" if tool.open_world_hint else "may reach beyond this machine (it does not say it stays local)"
        return Decision(
            True,
            f"{tool.name} {reach} and the conversation holds private data ({exposure.describe()}), "
            "which its arguments could carry away",
        )
    if _matches(tool.name, settings.skip_approval):
        return Decision(False, "your [tools] skip_approval setting allows it")
    if changes_things(tool, arguments):
        return Decision(True, f"{tool.name} can change things" + (" and may destroy data" if tool.destructive_hint else ""))
    return Decision(False, "it only reads")


def needs_approval(tool: Tool, arguments: Mapping[str, Any], settings: ToolSettings) -> bool:
    """Whether a call asks in a conversation that holds no private data."""
    return decide(tool, arguments, settings).ask


def approval_scope(tool: Tool, arguments: Mapping[str, Any]) -> str | None:
    """What an ``[a]lways`` answer for this call covers: the tool's scope key, or None for the whole tool."""
    if tool.approval_scope is None:
        return None
    try:
        return str(tool.approval_scope(dict(arguments)))
    except Exception:  # a broken scope covers only this exact call
        import json

        return json.dumps(dict(arguments), sort_keys=True, default=str)


def tool_timeout(tool: Tool, settings: ToolSettings) -> float:
    """Config's per-tool timeout, else the tool's own, else config's default."""
    return settings.timeouts.get(tool.name) or tool.timeout or settings.timeout
