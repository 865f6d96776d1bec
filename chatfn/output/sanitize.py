"""The one sanitiser for text from outside, applied before it reaches a terminal or a pipe.

A model, a server, a web page, a tool, a log or a plugin's metadata may hold terminal
control sequences: a title change, a clipboard write (OSC 52), a hidden link (OSC 8),
cursor moves that paint over a prompt, text made invisible (``ESC[8m``), or a query
(``ESC[6n``) that makes the terminal type its answer into chatfn's input. None of
that is ours to pass on. Every C0 and C1 control except newline and tab, and every
ESC-introduced sequence (CSI, OSC, DCS, APC, PM, SOS and the short two-byte ones),
is removed (:func:`clean`) or shown as visible escapes (:func:`visible`); lone
UTF-16 surrogates, which cannot be encoded, become U+FFFD. Bidirectional overrides,
which can make a command read differently from what runs, go the same way.

Both are one regex pass (no backtracking: each alternative consumes a character
class run), so the cost is linear in the text. chatfn's own styling is added after
sanitising, never mixed into untrusted text.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["clean", "clean_data", "json_safe", "visible"]

_ST = r"(?:\x1b\\|\x9c|\x07)"
_SEQUENCE = re.compile(
    "|".join(
        (
            r"(?:\x1b\[|\x9b)[\x30-\x3f]*[\x20-\x2f]*[\x40-\x7e]?",  # CSI: params, intermediates, final
            r"(?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f])[^\x07\x1b\x9c]*" + _ST + "?",  # OSC DCS SOS PM APC
            r"\x1b[\x20-\x2f]*[\x30-\x7e]?",  # other escapes (ESC c, ESC ( B, ESC 7) and a lone ESC
            r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff]",
        )
    )
)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")
_JSON_UNSAFE = re.compile(r"[\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def _removed(match: re.Match[str]) -> str:
    return "\ufffd" if "\ud800" <= match.group()[0] <= "\udfff" else ""


def clean(text: str) -> str:
    """``text`` with every control sequence removed: what a terminal may show as it is."""
    if text.isprintable():  # the common case: nothing to do, checked in C
        return text
    return _SEQUENCE.sub(_removed, text)


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    if "\ud800" <= char <= "\udfff":
        return "\ufffd"
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def visible(text: str) -> str:
    """``text`` with every control character shown as an escape (``\\x1b[8m``), nothing hidden.

    For places where the user must see that something odd was there: tool arguments
    and results in traces, the approval prompt, error lines, plugin metadata.
    """
    if text.isprintable():
        return text
    return _CONTROL.sub(_escape, text)


def clean_data(value: Any) -> Any:
    """``value`` (JSON data) with lone surrogates in every string replaced by U+FFFD.

    What a model sends can hold ``"\\ud800"``, which no encoder accepts: fixed once as it
    enters the history, the log and every output can write it.
    """
    if isinstance(value, str):
        return _SURROGATE.sub("\ufffd", value) if not value.isascii() else value
    if isinstance(value, dict):
        return {clean_data(key): clean_data(item) for key, item in value.items()}
    if isinstance(value, list):
        return [clean_data(item) for item in value]
    return value


def json_safe(line: str) -> str:
    """A JSON text (``ensure_ascii=False``) with the controls JSON leaves raw escaped as ``\\uXXXX``.

    ``json.dumps`` escapes C0 controls but not DEL, C1 controls, bidi overrides or lone
    surrogates; outside a string none of them can occur, so escaping them keeps the
    JSON valid and equal, and keeps a terminal showing ``--json`` output safe.
    """
    if line.isascii():
        return line
    return _JSON_UNSAFE.sub(lambda match: f"\\u{ord(match.group()):04x}", line)
