"""Lines that fit the terminal: cut at a word boundary with an ellipsis, never wrapped mid-word.

A line wider than the terminal wraps wherever the column runs out (``… (0.`` /
``00 s)``). Lines meant for a person are cut to the width here instead; when the
stream is not a terminal nothing is cut, since a file or a pipe has no width.
"""

from __future__ import annotations

import shutil
import unicodedata
from typing import TextIO

from chatfn.output.console import is_terminal

ELLIPSIS = "…"


def columns_of(stream: TextIO) -> int | None:
    """The terminal's width when ``stream`` is a terminal, else None (no limit)."""
    if not is_terminal(stream):
        return None
    return shutil.get_terminal_size().columns


def cells(text: str) -> int:
    """How many terminal columns ``text`` takes (wide East Asian characters take two)."""
    return sum(2 if unicodedata.east_asian_width(char) in "WF" else 0 if unicodedata.combining(char) else 1 for char in text)


def fit(line: str, columns: int | None, *, keep: str = "") -> str:
    """``line`` + ``keep`` in at most ``columns`` columns: ``line`` is cut, at a space if one is near.

    ``keep`` (say, a duration) always stays whole at the end.
    """
    if columns is None or cells(line + keep) < columns:
        return line + keep
    room = columns - 1 - cells(keep) - cells(ELLIPSIS)  # the last column stays free: no pending wrap
    if room <= 0:
        return (line + keep)[: max(columns - 1, 1)]
    cut = ""
    for char in line:
        if cells(cut + char) > room:
            break
        cut += char
    space = cut.rfind(" ")
    if space >= len(cut) * 2 // 3:  # a word boundary not too far back
        cut = cut[:space]
    return cut.rstrip() + ELLIPSIS + keep
