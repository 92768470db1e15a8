"""What reading a clip's frames gives: the lines of text it shows, each with the frame and box it was read in."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..errors import GalleryIndexError
from ..limits import MAX_FRAME_SIDE, MAX_SOURCE_FRAMES, number, whole

MAX_LINES = 24  # a comic strip shows dozens of balloons; the largest lines carry the caption
MAX_CHARS = 400  # the clip's text (all lines joined) is cut here: the sentence model reads 128 pieces at most


@dataclass(frozen=True)
class TextLine:
    """One line of text as shown in one frame: `box` is (x0, y0, x1, y1) in that frame's pixels."""

    text: str
    frame: int  # the source frame it was read in (0-based, as `Clip.indices`)
    box: tuple[int, int, int, int]
    score: float  # the recogniser's confidence, 0..1

    def to_dict(self) -> dict[str, Any]:
        return {"text": self.text, "frame": self.frame, "box": list(self.box), "score": round(self.score, 3)}


@dataclass(frozen=True)
class ReadText:
    """The text a reader found in a clip (`lines`, cleaned and merged across frames), and which reader it was."""

    reader: str  # "name@version" of the frame-text reader (`registry`)
    lines: tuple[TextLine, ...] = ()

    @property
    def text(self) -> str:
        """The lines joined in reading order, cut at MAX_CHARS on a word boundary ('' when nothing was read)."""
        text = " ".join(line.text for line in self.lines)
        if len(text) <= MAX_CHARS:
            return text
        cut = text.rfind(" ", 0, MAX_CHARS)
        return text[:cut if cut > 0 else MAX_CHARS]

    def to_dict(self) -> dict[str, Any]:
        return {"reader": self.reader, "lines": [line.to_dict() for line in self.lines]}

    @classmethod
    def from_dict(cls, data: Any, where: str = "the index") -> ReadText:
        """Parse what `to_dict` wrote; anything else is a GalleryIndexError naming `where`."""
        try:
            if not isinstance(data, dict) or not isinstance(data.get("reader"), str):
                raise TypeError("no reader")
            lines = []
            items = data.get("lines", ())
            if not isinstance(items, list):
                raise TypeError("lines is not a list")
            for item in items[:MAX_LINES]:
                if not isinstance(item, dict) or not isinstance(item.get("text"), str) or \
                        not isinstance(item.get("box"), list) or len(item["box"]) != 4:
                    raise ValueError("a line is not {text, frame, box: [x0, y0, x1, y1], score}")
                box = tuple(whole(v, "a box coordinate", -MAX_FRAME_SIDE, MAX_FRAME_SIDE) for v in item["box"])
                lines.append(TextLine(item["text"][:MAX_CHARS], whole(item["frame"], "a line's frame", 0,
                                                                      MAX_SOURCE_FRAMES),
                                      box, number(item["score"], "a line's score", 0.0, 1.0)))
        except (TypeError, ValueError, KeyError) as exc:
            raise GalleryIndexError(f"{where}: a clip's read text is malformed ({exc}); rebuild the index "
                                    "with `pvse index --rebuild`") from None
        return cls(data["reader"], tuple(lines))
