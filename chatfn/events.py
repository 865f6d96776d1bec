"""What the chat loop yields and the types every layer passes around.

The loop (:mod:`chatfn.chat`) yields these events; the terminal renderer, the JSON
writer and the tests consume them alike. :class:`ToolCall` and :class:`ToolOutcome`
live here, not beside the code that makes them, so that the tool runner, the wire and
the renderer share a type without importing each other.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, NamedTuple, Optional, Union

__all__ = [
    "Delta",
    "Done",
    "Event",
    "Notice",
    "Started",
    "ToolCall",
    "ToolCallEvent",
    "ToolOutcome",
    "ToolResultEvent",
    "UsageEvent",
]


class Delta(NamedTuple):
    """A piece of the answer to show now: text, reasoning ("thinking") or a refusal."""

    kind: Literal["text", "reasoning", "refusal"]
    text: str


@dataclass(frozen=True)
class ToolCall:
    """One call the model asked for; ``arguments`` is its raw JSON text."""

    id: str
    name: str
    arguments: str


@dataclass(frozen=True)
class ToolOutcome:
    """What one call produced; ``content`` is exactly what goes back to the model."""

    call: ToolCall
    content: str
    ok: bool
    error: Optional[str] = None
    duration: float = 0.0
    truncated: bool = False
    denied: bool = False


@dataclass(frozen=True)
class Started:
    """A message was sent: which logged conversation it belongs to (None unlogged) and to which model.

    First of every answer's events, so a script reading ``--json`` learns the id it can
    follow up with (``chatfn chat --cid ID``) before anything else arrives.
    """

    conversation_id: Optional[str]
    model: str
    profile: str
    kind: Literal["start"] = "start"


@dataclass(frozen=True)
class ToolCallEvent:
    """The model asked for a tool; it runs next."""

    call: ToolCall
    kind: Literal["tool_call"] = "tool_call"


@dataclass(frozen=True)
class ToolResultEvent:
    """A tool call finished (or failed, timed out, or was denied)."""

    outcome: ToolOutcome
    kind: Literal["tool_result"] = "tool_result"


@dataclass(frozen=True)
class UsageEvent:
    """Token usage the server reported for one response."""

    usage: dict[str, Any]
    kind: Literal["usage"] = "usage"


@dataclass(frozen=True)
class Notice:
    """Something the user should know that is not part of the answer."""

    message: str
    kind: Literal["notice"] = "notice"


@dataclass(frozen=True)
class Done:
    """The model answered (or chatfn stopped asking it)."""

    finish_reason: str | None
    rounds: int
    kind: Literal["done"] = "done"


Event = Union[Started, Delta, ToolCallEvent, ToolResultEvent, UsageEvent, Notice, Done]
