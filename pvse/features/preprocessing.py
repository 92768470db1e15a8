"""How a clip's frames become frame-CNN input (`FramePreprocessing`): owned by the frame extractors, whose spec
gives each CNN's own, and named by a model config only when it differs."""
from __future__ import annotations

from dataclasses import dataclass

from ..errors import WeightsError

SAMPLINGS = ("centres", "starts")
INTERPOLATIONS = ("bicubic", "bilinear")


@dataclass(frozen=True)
class FramePreprocessing:
    """How a clip's frames become frame-CNN input: which T frames, how each is resized, how normalised.

    sampling: "centres" takes frame floor((i + 1/2) n / T) of n (the centre of T equal segments); "starts"
    takes floor(i n / T), i.e. 0, n/4, n/2, 3n/4 for T = 4 (the reference code's evaluation).
    resize: None squashes the whole frame to size x size (nothing cropped away); a number resizes the shorter
    side to it, keeping the aspect ratio, then crops the centre size x size (the reference's 256 then 224).
    interpolation: antialiased "bicubic" or "bilinear". mean / std: per RGB channel, on pixels in [0, 1].
    A model's config names it only when it differs from its frame extractor's own (`registry.FrameExtractorSpec`).
    """

    size: int
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    resize: int | None = None
    interpolation: str = "bicubic"
    sampling: str = "centres"

    def __post_init__(self) -> None:
        object.__setattr__(self, "mean", tuple(float(v) for v in self.mean))
        object.__setattr__(self, "std", tuple(float(v) for v in self.std))
        problems = []
        if self.size < 1 or (self.resize is not None and self.resize < self.size):
            problems.append(f"size {self.size} / resize {self.resize}: need 1 <= size <= resize")
        if len(self.mean) != 3 or len(self.std) != 3 or min(self.std) <= 0:
            problems.append("mean and std need 3 values each, std > 0")
        if self.sampling not in SAMPLINGS:
            problems.append(f"sampling must be one of {', '.join(SAMPLINGS)}, got '{self.sampling}'")
        if self.interpolation not in INTERPOLATIONS:
            problems.append(f"interpolation must be one of {', '.join(INTERPOLATIONS)}, got '{self.interpolation}'")
        if problems:
            raise WeightsError("frame preprocessing: " + "; ".join(problems))

    @property
    def decode_size(self) -> tuple[int, int] | None:
        """(width, height) frames may be shrunk to while decoding: the squash target; None when cropping."""
        return (self.size, self.size) if self.resize is None else None
