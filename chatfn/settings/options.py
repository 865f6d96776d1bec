"""Model options: request parameters such as temperature, from ``-o KEY VALUE`` and the config.

A value typed on the command line is read as JSON when it parses (``0.2``, ``42``,
``true``, ``null``, ``["\\n\\n"]``, ``{"type": "json_object"}``) and as text otherwise
(``low``), so ``-o temperature 0.2`` sends a number and ``-o reasoning_effort low`` a
string; quote JSON-style to force text (``-o user '"42"'``). The common options are
checked for their type before anything is sent; any other key goes to the server
as it is, for servers that take parameters OpenAI does not have (``top_k``,
``min_p``, ``repetition_penalty``…). Keys chatfn sets itself are refused.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from chatfn.errors import ConfigError, UsageError

NUMBER = "a number"
INTEGER = "an integer"
TEXT = "a string"
TEXTS = "a string or a list of strings"

COMMON_OPTIONS: dict[str, str] = {
    "temperature": NUMBER,
    "top_p": NUMBER,
    "max_tokens": INTEGER,
    "max_completion_tokens": INTEGER,
    "seed": INTEGER,
    "stop": TEXTS,
    "reasoning_effort": TEXT,
    "presence_penalty": NUMBER,
    "frequency_penalty": NUMBER,
}
"""The options most servers know, with the type each takes."""

RESERVED = frozenset({"model", "messages", "stream", "stream_options", "tools", "functions", "function_call", "n"})
"""Request fields chatfn sets itself (``n``: chatfn shows one answer)."""

HELP = (
    "Model option KEY VALUE, repeatable; VALUE is JSON when it parses, else text. "
    "Common: temperature, top_p, max_tokens (max_completion_tokens for OpenAI's reasoning models), "
    "seed, stop, reasoning_effort. Other keys are sent as they are."
)


def parse_value(raw: str) -> Any:
    """A command-line value: JSON when it parses, else the text itself."""
    try:
        return json.loads(raw)
    except ValueError:
        return raw


def from_command_line(pairs: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """``-o KEY VALUE`` pairs as typed options; a later KEY wins. UsageError names a bad one."""
    options = {key.strip(): parse_value(raw) for key, raw in pairs}
    problem = first_problem(options)
    if problem:
        raise UsageError(f"-o {problem}", hint="see 'chatfn chat --help' for the common options")
    return options


def check_profile_options(profile: str, options: Mapping[str, Any], where: str) -> None:
    """ConfigError when ``[profiles.NAME.options]`` holds a value of the wrong type."""
    problem = first_problem(options)
    if problem:
        raise ConfigError(f"{where}: profiles.{profile}.options: {problem}")


def first_problem(options: Mapping[str, Any]) -> str | None:
    """What is wrong with the first bad option (``KEY: …``), or None."""
    for key, value in options.items():
        if not key:
            return "an option needs a name"
        if key in RESERVED:
            return f"{key}: chatfn sets this itself"
        expected = COMMON_OPTIONS.get(key)
        if expected is not None and not _is(value, expected):
            return f"{key}: expected {expected} (got {json.dumps(value)})"
    return None


def _is(value: Any, expected: str) -> bool:
    if value is None:  # null: the server's default, for every option
        return True
    if expected == NUMBER:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if expected == INTEGER:
        return isinstance(value, int) and not isinstance(value, bool)
    if expected == TEXT:
        return isinstance(value, str)
    return isinstance(value, str) or (isinstance(value, list) and all(isinstance(item, str) for item in value))
