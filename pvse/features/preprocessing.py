"""How a clip's frames become frame-CNN input (`FramePreprocessing`): owned by the frame extractors, whose spec
gives each CNN's own, and named by a model config only when it differs."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..errors import WeightsError

if TYPE_CHECKING:
    from ..media.sampling import FrameSampling

INTERPOLATIONS = ("bicubic", "bilinear")


@dataclass(frozen=True)
class FramePreprocessing:
    """How a clip's frames become frame-CNN input: which T frames, how each is resized, how normalised.

    sampling: which T of n frames (`pvse.media.sampling`): "centres" takes frame floor((i + 1/2) n / T) (the centre
    of T equal segments); "starts" takes floor(i n / T); "mrw" / "tgif" the official PVSE evaluation loaders'
    strided picks (i ((n + 1) // T); 6 + i max(1, (n - 11) // T)).
    timeline_fps: None counts the file's own frames; a number first resamples the clip at that constant rate from
    its frames' display times (the official data were re-extracted with `ffmpeg -r 8`), and n counts those.
    prescale / jpeg_quality: the official frames were stored with their shorter side resized to `prescale` by
    OpenCV (bilinear, no antialiasing) and JPEG-compressed at `jpeg_quality`; both None: neither step.
    resize: None squashes the whole frame to size x size (nothing cropped away); a number resizes the shorter
    side to it, keeping the aspect ratio, then crops the centre size x size (the reference's 256 then 224).
    interpolation: antialiased "bicubic" or "bilinear". mean / std: per RGB channel, on pixels in [0, 1], applied
    when `normalize` (the official video loader's normalisation was a no-op: pixels stayed in [0, 1]).
    A model's config names it only when it differs from its frame extractor's own (`registry.FrameExtractorSpec`).
    """

    size: int
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    resize: int | None = None
    interpolation: str = "bicubic"
    sampling: str = "centres"  # media.sampling.DEFAULT_SAMPLING, spelt out: media is imported only when checked
    timeline_fps: float | None = None
    normalize: bool = True
    prescale: int | None = None
    jpeg_quality: int | None = None

    def __post_init__(self) -> None:
        from ..media.sampling import SAMPLINGS  # the media package (Pillow, NumPy) only once a model is configured

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
        fps = self.timeline_fps
        if fps is not None and (isinstance(fps, bool) or not isinstance(fps, int | float) or not 0 < fps <= 1000):
            problems.append(f"timeline_fps must be a number from 0 (excluded) to 1000, or null; got {fps!r:.40}")
        if not isinstance(self.normalize, bool):
            problems.append(f"normalize must be true or false, got {self.normalize!r:.40}")
        if self.prescale is not None and (not _whole(self.prescale) or self.prescale < self.size or self.resize is None):
            problems.append(f"prescale {self.prescale!r:.40}: needs resize (shorter side, then crop) and a whole "
                            "number >= size")
        if self.jpeg_quality is not None and not (_whole(self.jpeg_quality) and 1 <= self.jpeg_quality <= 100):
            problems.append(f"jpeg_quality must be a whole number 1-100, got {self.jpeg_quality!r:.40}")
        if problems:
            raise WeightsError("frame preprocessing: " + "; ".join(problems))

    @property
    def decode_size(self) -> tuple[int, int] | None:
        """(width, height) frames may be shrunk to while decoding: the squash target; None when cropping."""
        return (self.size, self.size) if self.resize is None else None

    @property
    def frame_sampling(self) -> FrameSampling:
        """Which frames to decode: the rule, on the resampled timeline when `timeline_fps` is set."""
        from ..media.sampling import FrameSampling

        return FrameSampling(self.sampling, self.timeline_fps)


def _whole(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
