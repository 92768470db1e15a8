"""The gallery's credits for the page: its CREDITS file, read only when it is a small regular file inside it."""
from __future__ import annotations

import html
import logging
import os
from pathlib import Path

from pvse.index.trust import read_gallery_text

log = logging.getLogger("demo")

CREDITS_FILES = ("CREDITS.md", "CREDITS", "CREDITS.txt")
CREDITS_MAX_BYTES = 64 * 1024


def gallery_credits(root: Path, max_chars: int = 1500) -> str | None:
    """The gallery's CREDITS file as text for the page (its title dropped, cut at a paragraph), or None without one.

    Read with `read_gallery_text`: a regular file inside the gallery, not a link, at most 64 KiB; HTML in it is
    shown as text, not rendered."""
    for name in CREDITS_FILES:
        text = read_gallery_text(root, name, CREDITS_MAX_BYTES)
        if text is None:
            if os.path.lexists(os.path.join(root, name)):
                log.warning("not showing %s: only a regular file of at most %d bytes inside the gallery, not a link, "
                            "is shown", os.path.join(root, name), CREDITS_MAX_BYTES)
            continue
        lines = text.strip().splitlines()
        while lines and (lines[0].startswith("#") or not lines[0].strip()):
            lines.pop(0)
        text = "\n".join(lines).strip()
        if len(text) > max_chars:
            text = text[:max_chars].rsplit("\n\n", 1)[0] + "\n\n…"
        return html.escape(text, quote=False) or None
    return None
