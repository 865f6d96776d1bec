"""The clock tools: today's date, and the time here or in any IANA time zone.

zoneinfo is imported when a time zone is asked for, not when tools are listed.
"""

from __future__ import annotations

import datetime as _dt
from typing import Any

__all__ = ["DATE_SCHEMA", "TIME_SCHEMA", "get_current_date", "get_current_time"]

# The sample registered every tool with an explicit schema; doing the same here keeps
# pydantic (which builds schemas from signatures) out of `chatfn tools list`.
DATE_SCHEMA: dict[str, Any] = {
    "name": "get_current_date",
    "description": "Get the current date (ISO format, YYYY-MM-DD).",
    "parameters": {"type": "object", "properties": {}},
}

TIME_SCHEMA: dict[str, Any] = {
    "name": "get_current_time",
    "description": "Get the current time (24-hour HH:MM).",
    "parameters": {
        "type": "object",
        "properties": {
            "timezone": {
                "type": "string",
                "description": 'An IANA time zone such as "Europe/Paris"; the computer\'s local time when omitted.',
            }
        },
    },
}

def get_current_date() -> str:
    """Get the current date (ISO format, YYYY-MM-DD)."""
    return _dt.date.today().isoformat()


def get_current_time(timezone: str | None = None) -> str:
    """Get the current time (24-hour HH:MM).

    Args:
        timezone: An IANA time zone such as "Europe/Paris"; the computer's local time when omitted.
    """
    if not timezone:
        return _dt.datetime.now().strftime("%H:%M")
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        zone = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {timezone!r}: use an IANA name such as 'Europe/Paris'") from None
    return _dt.datetime.now(zone).strftime("%H:%M")
