"""Which T frames of a clip the frame CNN sees.

Two independent pieces, both pure and deterministic (integer / rational arithmetic, except the timeline, which
repeats FFmpeg's own floating-point steps):

- a *rule* picks T of n frames: "centres" (segment centres, our models), "starts" (segment starts), or the
  official PVSE evaluation loaders' strided picks, "mrw" and "tgif" (`strided_indices`);
- an optional *timeline*: the rule then counts frames of the clip resampled at a constant rate (`resample_timeline`,
  FFmpeg's own conversion: `ffmpeg_rate`), as the official data were re-extracted with `ffmpeg -r 8` before the
  loaders counted them, instead of the file's own frames. The picked timeline slots are mapped back to the file's
  frames for decoding.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction

from .ffmpeg_rate import cfr_frames, gif_frame_rate

SAMPLINGS = ("centres", "starts", "mrw", "tgif")
DEFAULT_SAMPLING = SAMPLINGS[0]  # segment centres: what our models are trained and indexed with
OFFICIAL_MARGINS = {"mrw": 0, "tgif": 6}
"""Frames the official evaluation loader skips at each end of a clip: none for MRW, 6 for TGIF."""

GIF_MIN_DELAY_CS = 2
GIF_DEFAULT_DELAY_CS = 10
"""A GIF frame delay under 2 hundredths of a second is shown for 10 (FFmpeg's GIF demuxer, and browsers)."""


def sample_frame_indices(num_source_frames: int, num_frames: int, sampling: str = DEFAULT_SAMPLING) -> list[int]:
    """T of n frame indices by rule `sampling` (see module doc); short clips repeat the last frame.

    "centres": for ``n >= T``, index ``i`` is ``floor((i + 1/2) * n / T)``: distinct, increasing, and equal to
    ``range(n)`` when ``n == T``. For ``n < T`` every frame is used once, then the last is repeated.
    "starts": the start of each segment instead, ``floor(i * n / T)`` (0, n/4, n/2, 3n/4 for T = 4).
    "mrw" / "tgif": the official PVSE evaluation loaders (`strided_indices`).
    """
    if num_source_frames < 1:
        raise ValueError(f"num_source_frames must be >= 1, got {num_source_frames}")
    if num_frames < 1:
        raise ValueError(f"num_frames must be >= 1, got {num_frames}")
    if sampling in OFFICIAL_MARGINS:
        return strided_indices(num_source_frames, num_frames, OFFICIAL_MARGINS[sampling])
    n, t = num_source_frames, num_frames
    if n < t:
        return list(range(n)) + [n - 1] * (t - n)
    if sampling == "starts":
        return [i * n // t for i in range(t)]
    if sampling != DEFAULT_SAMPLING:
        raise ValueError(f"sampling must be one of {', '.join(SAMPLINGS)}, got {sampling!r}")
    return [(2 * i + 1) * n // (2 * t) for i in range(t)]


def strided_indices(num_source_frames: int, num_frames: int, margin: int) -> list[int]:
    """The official PVSE evaluation loader's frames: skip `margin` frames at each end, then every s-th frame,
    s = max(1, (n - 2 margin + 1) // T), keeping the first T; a clip with fewer repeats its last pick.

    That is frame ``margin + i * s``: ``i * ((n + 1) // T)`` for MRW (margin 0), ``6 + i * max(1, (n - 11) // T)``
    for TGIF (margin 6). Where the official loader finds no frame at all (n <= 2 margin: it fails), the margin
    shrinks to ``(n - 1) // 2`` so that at least one frame remains.
    """
    if num_source_frames < 1 or num_frames < 1:
        raise ValueError(f"need n >= 1 and T >= 1, got n={num_source_frames}, T={num_frames}")
    n, t = num_source_frames, num_frames
    margin = min(margin, (n - 1) // 2)
    start, end = margin, n - margin
    step = max(1, (end - start + 1) // t)
    picks = list(range(start, end, step))[:t]
    return picks + [picks[-1]] * (t - len(picks))


def gif_delay_seconds(delay_cs: int) -> Fraction:
    """How long a GIF frame is shown, from its delay in hundredths of a second (0 and 1 mean 10)."""
    return Fraction(GIF_DEFAULT_DELAY_CS if delay_cs < GIF_MIN_DELAY_CS else delay_cs, 100)


@dataclass(frozen=True)
class DisplayTimes:
    """Each frame's display time in seconds, and the frame rate FFmpeg guesses for the stream (None: one over the
    mean display time)."""

    durations: tuple[Fraction, ...]
    stream_rate: Fraction | None = None


def gif_display_times(delays_cs: Sequence[int]) -> DisplayTimes:
    """A GIF's frames' display times from their delays, with the frame rate libavformat guesses for it."""
    durations = tuple(gif_delay_seconds(d) for d in delays_cs)
    return DisplayTimes(durations, gif_frame_rate(durations))


def resample_timeline(durations: Sequence[Fraction], fps: Fraction | float,
                      stream_rate: Fraction | float | None = None) -> list[int]:
    """The source frame in each frame of the clip converted to a constant `fps` as `ffmpeg -r fps` converts it
    (`ffmpeg_rate.cfr_frames`; stream_rate: see `DisplayTimes`). A clip of zero duration keeps its own frames."""
    if not durations:
        raise ValueError("a clip needs at least one frame")
    if not Fraction(fps) > 0:
        raise ValueError(f"fps must be > 0, got {fps}")
    total = sum((max(Fraction(d), Fraction(0)) for d in durations), Fraction(0))
    if total == 0:
        return list(range(len(durations)))
    rate = stream_rate if stream_rate else len(durations) / total
    return cfr_frames(durations, fps, rate)


@dataclass(frozen=True)
class FrameSampling:
    """A sampling rule, on the file's own frames (fps None) or on the clip resampled at `fps` frames a second."""

    rule: str = DEFAULT_SAMPLING
    fps: float | None = None

    def __post_init__(self) -> None:
        if self.rule not in SAMPLINGS:
            raise ValueError(f"sampling must be one of {', '.join(SAMPLINGS)}, got {self.rule!r}")
        if self.fps is not None and not self.fps > 0:
            raise ValueError(f"timeline fps must be > 0, got {self.fps}")

    def choose(self, num_source_frames: int, num_frames: int,
               durations: Callable[[], Sequence[Fraction] | DisplayTimes] | None = None) -> list[int]:
        """The file's frame indices to decode, in order (with repeats). `durations` gives each frame's display
        time in seconds; it is called only when resampling, and must then cover `num_source_frames` frames."""
        if self.fps is None:
            return sample_frame_indices(num_source_frames, num_frames, self.rule)
        if durations is None:
            raise ValueError("resampling a timeline needs the frames' display times")
        times = durations()
        if not isinstance(times, DisplayTimes):
            times = DisplayTimes(tuple(times))
        if len(times.durations) != num_source_frames:
            raise ValueError(f"{len(times.durations)} display times for {num_source_frames} frames")
        slots = resample_timeline(times.durations, self.fps, times.stream_rate)
        return [slots[j] for j in sample_frame_indices(len(slots), num_frames, self.rule)]


def as_frame_sampling(sampling: str | FrameSampling) -> FrameSampling:
    return sampling if isinstance(sampling, FrameSampling) else FrameSampling(sampling)
