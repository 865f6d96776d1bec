"""rich's Markdown, with every link showing where it really goes.

A model can write ``[https://python.org/downloads](http://evil.example/payload.sh)``:
drawn as a terminal hyperlink (OSC 8), the text says one place and a click goes to
another. Here links are never terminal hyperlinks; a link whose text is not its target
is drawn as ``text (target)``, and one whose text is its target as the text alone.
The text handed in is already sanitised (:mod:`chatfn.output.sanitize`).
"""

from __future__ import annotations

from typing import Any

from rich.markdown import Markdown as RichMarkdown

__all__ = ["Markdown", "shows_target"]


def shows_target(text: str, href: str) -> bool:
    """True when the link's text already says where it goes."""
    text, href = text.strip().rstrip("/"), href.strip().rstrip("/")
    return text == href or href == f"mailto:{text}" or (not text and not href)


class Markdown(RichMarkdown):
    """Markdown whose links show their target whenever it differs from their text."""

    def __init__(self, markup: str, **options: Any) -> None:
        options["hyperlinks"] = False
        super().__init__(markup, **options)
        _drop_plain_links(self.parsed)


def _drop_plain_links(tokens: list[Any]) -> None:
    """Remove the link markers of links whose text is their target, so only the text is drawn."""
    for token in tokens:
        children = token.children
        if not children:
            continue
        kept: list[Any] = []
        opened: list[tuple[int, str]] = []  # (index in kept, href) of open links
        for child in children:
            if child.type == "link_open":
                opened.append((len(kept), str(child.attrs.get("href", ""))))
            elif child.type == "link_close" and opened:
                start, href = opened.pop()
                text = "".join(part.content for part in kept[start + 1 :] if part.type in ("text", "code_inline"))
                if shows_target(text, href):
                    del kept[start]
                    continue
            kept.append(child)
        token.children = kept
        _drop_plain_links(kept)
