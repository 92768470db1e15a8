"""Text for the page's Markdown: a person's own words shown as written (never as links, HTML or formatting),
and long text cut at a word."""
from __future__ import annotations

import re

_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()<>#+\-.!|~])")


def escape_markdown(text: str) -> str:
    """User text shown inside Markdown without turning into links, HTML or formatting."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text)


def shorten(text: str, max_chars: int = 60) -> str:
    """`text` cut to about `max_chars` at a word boundary, with an ellipsis when cut."""
    if len(text) <= max_chars:
        return text
    cut = text.rfind(" ", 0, max_chars)
    return text[: cut if cut > max_chars // 2 else max_chars].rstrip() + "…"
