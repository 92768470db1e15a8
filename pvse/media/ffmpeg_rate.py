"""What `ffmpeg -i CLIP -r FPS frames/%05d.jpg` writes: which of the clip's frames fills each output frame.

The official PVSE data were re-extracted this way (8 fps) before the loaders counted frames, so a converted
checkpoint must count the same frames. Two pieces of FFmpeg, re-implemented from its source (FFmpeg 5.1,
`fftools/ffmpeg.c` `do_video_out` and `libavformat` `ff_rfps_add_frame` / `ff_rfps_calculate`) and checked
frame for frame against FFmpeg 5.1.9's output (the 209 GIFs of tests/media/data/ffmpeg_timelines.json, and
more in docs/model.md):

- `cfr_frames`: the constant-frame-rate conversion. Each input frame starts at pts·fps output slots; it is dropped
  when it lands more than 1.1 slots behind, repeated when more than 1.1 ahead, written once otherwise (a drift of
  up to 1.1 slots is tolerated, which is why it is not "the frame on screen at each slot's centre").
- `gif_frame_rate`: the frame rate libavformat guesses for a GIF stream. It decides how long FFmpeg takes a frame
  shorter than half a slot (a GIF delay ≤ 6 cs at 8 fps) to last, so it changes which of them are kept.

Pure arithmetic on floats exactly as FFmpeg does it (its 1/65536 pts rounding and 1/131072 nudge included).
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from fractions import Fraction

DRIFT_SLOTS = 1.1  # how far (in output slots) a frame may drift before FFmpeg drops or repeats one
_PTS_BITS = 16  # FFmpeg keeps a frame's output pts to 1/2^16 of a slot, then nudges it by half of that
_GIF_TIME_BASE = Fraction(1, 100)
_PROBE_SECONDS = 5.0  # avformat_find_stream_info's default analyzeduration
_PROBE_INTERVALS = 49  # and at most this many frame intervals: measured (FFmpeg 5.1.9 on 516 GIFs; 40 is in its
#                        source, the decoder's look-ahead adds the rest), not read
_MAX_ERROR = 0.01  # a standard rate is taken only when the timestamps fit it this well (variance of the error)


def cfr_frames(durations: Sequence[Fraction], fps: Fraction | float, stream_rate: Fraction | float) -> list[int]:
    """The input frame written at each output slot by FFmpeg's `-r fps` conversion (vsync cfr).

    durations: each frame's display time in seconds (the frame starts when the previous ones have been shown).
    stream_rate: the frame rate FFmpeg guessed for the input stream (`gif_frame_rate` for a GIF); a frame whose
    duration rounds to no whole slot counts as min(1, fps / stream_rate) slots.
    """
    if not durations:
        raise ValueError("a clip needs at least one frame")
    rate = float(fps)
    if not rate > 0:
        raise ValueError(f"fps must be > 0, got {fps}")
    short = min(1.0, rate / float(stream_rate)) if stream_rate and float(stream_rate) > 0 else 0.0
    out: list[int] = []
    written = 0  # the next output slot (FFmpeg's sync_opts)
    last_repeats = [0, 0, 0]  # previous-frame repeats of the last three frames, for the end of the stream
    start = Fraction(0)
    for index, duration in enumerate(durations):
        slot = round(float(start * Fraction(rate)) * 2**_PTS_BITS) / 2**_PTS_BITS
        if slot:
            slot += math.copysign(1 / 2 ** (_PTS_BITS + 1), slot)
        whole = round(float(duration) * rate)  # lrintf: half to even
        length = whole if whole > 0 else short
        behind = slot - written  # delta0
        delta = behind + length
        if behind < 0 < delta:
            behind = 0.0  # the frame is clipped to start at the current slot
        copies, repeats = 1, 0
        if delta < -DRIFT_SLOTS:
            copies = 0
        elif delta > DRIFT_SLOTS:
            copies = round(delta)
            if behind > DRIFT_SLOTS:
                repeats = round(behind - 0.6)
        last_repeats = [min(repeats, copies), *last_repeats[:2]]
        for j in range(copies):
            out.append(index - 1 if j < repeats and index > 0 else index)
            written += 1
        start += max(Fraction(duration), Fraction(0))
    out += [len(durations) - 1] * sorted(last_repeats)[1]  # at the end: the median of the last repeats
    return out


def _standard_rate(i: int) -> int:
    """FFmpeg's `get_std_framerate`: candidate rates, in units of 1/(12·1001) frames per second."""
    if i < 30 * 12:
        return (i + 1) * 1001
    i -= 30 * 12
    if i < 30:
        return (i + 31) * 1001 * 12
    i -= 30
    if i < 3:
        return (80, 120, 240)[i] * 1001 * 12
    return (24, 30, 60, 12, 15, 48)[i - 3] * 1000 * 12


_STANDARD_RATES = tuple(_standard_rate(i) for i in range(30 * 12 + 30 + 3 + 6))


def gif_frame_rate(durations: Sequence[Fraction]) -> Fraction:
    """The frame rate libavformat guesses for a GIF whose frames show for these durations (seconds, whole
    hundredths: `sampling.gif_delay_seconds`): over the frames read in the first 5 s (at most 50), one over the gcd of
    the durations once more than 15 were seen and the gcd exceeds one hundredth, else the standard rate that fits
    the timestamps best (error variance < 0.01), else 100 (one frame per hundredth)."""
    shown = [int(d / _GIF_TIME_BASE) for d in durations]  # in the GIF's time base, as libavformat counts
    tb = float(_GIF_TIME_BASE)
    sums = [[[0.0] * len(_STANDARD_RATES) for _ in range(2)] for _ in range(2)]  # [offset][sum, sum of squares]
    count = total = gcd = probed = 0
    stamp = 0
    for n, delay in enumerate(shown):
        if n > 0:
            if probed * tb >= _PROBE_SECONDS:
                break
            probed += delay
            _add_timestamp(sums, stamp * tb, count + 1)
            count += 1
            total += shown[n - 1]
            if count > 3:
                gcd = math.gcd(gcd, shown[n - 1])
        stamp += delay
        if count >= _PROBE_INTERVALS:
            break
    if count > 15 and gcd > 1:
        return 1 / (_GIF_TIME_BASE * gcd)
    best, num = _MAX_ERROR, 0
    for i, rate in enumerate(_STANDARD_RATES if count > 1 else ()):
        if probed * tb < (1001 * 12.0 - 1) / rate or tb * total / count < 1001 * 12.0 * 0.8 / rate:
            continue  # a period longer than what was read, or much longer than the mean delay
        for offset in range(2):
            mean = sums[offset][0][i] / count
            error = sums[offset][1][i] / count - mean * mean
            if error < best and best > 1e-9:
                best, num = error, rate
    if num and num / (12 * 1001) < 1.01 / tb:  # never above the time base's own rate by more than 1 %
        return Fraction(num, 12 * 1001)
    return 1 / _GIF_TIME_BASE


def _add_timestamp(sums: list, seconds: float, count: int) -> None:
    """`ff_rfps_add_frame`: accumulate how far a timestamp sits from each candidate rate's grid (on the grid and
    half a tick off), and every 10 timestamps drop the candidates that fit neither way."""
    for i, rate in enumerate(_STANDARD_RATES):
        if sums[0][1][i] >= 1e10:
            continue
        ticks = seconds * rate / (1001 * 12)
        for offset in range(2):
            error = ticks - round(ticks + offset * 0.5) + offset * 0.5
            sums[offset][0][i] += error
            sums[offset][1][i] += error * error
    if count % 10 == 0:
        for i in range(len(_STANDARD_RATES)):
            if sums[0][1][i] >= 1e10:
                continue
            spread = [sums[k][1][i] / count - (sums[k][0][i] / count) ** 2 for k in range(2)]
            if min(spread) > 0.04:
                sums[0][1][i] = sums[1][1][i] = 2e10
