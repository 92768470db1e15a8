"""Frame choice: the official PVSE loaders' strided rules against the formulas, and the constant-rate timeline
against what FFmpeg writes."""
import json
import shutil
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from pvse.media import FrameSampling, decode_clip, sample_frame_indices
from pvse.media.sampling import gif_display_times, resample_timeline, strided_indices
from tests.helpers.files import save_gif


def mrw_formula(n, t):
    """Official MRW evaluation: frame i ((n + 1) // T), i < T, while inside the clip; then the last repeated."""
    step = max(1, (n + 1) // t)
    picks = [i * step for i in range(t) if i * step < n]
    return picks + [picks[-1]] * (t - len(picks))


def tgif_formula(n, t):
    """Official TGIF evaluation: 6 frames skipped at each end, frame 6 + i max(1, (n - 11) // T) before n - 6."""
    step = max(1, (n - 11) // t)
    picks = [6 + i * step for i in range(t) if 6 + i * step < n - 6]
    return picks + [picks[-1]] * (t - len(picks))


# (n frames on the timeline, T, official frames): worked by hand from the loaders' description
MRW_TABLE = [
    (1, 4, [0, 0, 0, 0]),
    (3, 4, [0, 1, 2, 2]),  # skip 1: all three, the last repeated
    (7, 4, [0, 2, 4, 6]),
    (8, 4, [0, 2, 4, 6]),  # (8 + 1) // 4 = 2; our segment starts would be 0, 2, 4, 6 too
    (11, 4, [0, 3, 6, 9]),  # segment starts: 0, 2, 5, 8
    (20, 4, [0, 5, 10, 15]),
    (23, 4, [0, 6, 12, 18]),  # segment starts: 0, 5, 11, 17
    (40, 8, [0, 5, 10, 15, 20, 25, 30, 35]),
]
TGIF_TABLE = [
    (13, 8, [6] * 8),  # one frame left between the margins
    (19, 8, [6, 7, 8, 9, 10, 11, 12, 12]),
    (26, 8, [6, 7, 8, 9, 10, 11, 12, 13]),  # the example: ours was 0, 3, ..., 22
    (27, 8, [6, 8, 10, 12, 14, 16, 18, 20]),
    (100, 8, [6, 17, 28, 39, 50, 61, 72, 83]),
    (40, 4, [6, 13, 20, 27]),
]


@pytest.mark.parametrize(("n", "t", "expected"), MRW_TABLE)
def test_mrw_rule_table(n, t, expected):
    assert sample_frame_indices(n, t, "mrw") == expected == mrw_formula(n, t)


@pytest.mark.parametrize(("n", "t", "expected"), TGIF_TABLE)
def test_tgif_rule_table(n, t, expected):
    assert sample_frame_indices(n, t, "tgif") == expected == tgif_formula(n, t)


@pytest.mark.parametrize("t", [1, 4, 8])
def test_official_rules_follow_the_formulas_for_every_length(t):
    for n in range(1, 400):
        assert sample_frame_indices(n, t, "mrw") == mrw_formula(n, t), n
        if n > 12:
            assert sample_frame_indices(n, t, "tgif") == tgif_formula(n, t), n


def test_tgif_rule_on_clips_too_short_for_its_margins_keeps_the_middle():
    """The official loader finds no frame when n <= 12 (it fails); the margin shrinks so the middle frames stay."""
    assert strided_indices(12, 8, 6) == [5, 6, 6, 6, 6, 6, 6, 6]
    assert strided_indices(5, 4, 6) == [2, 2, 2, 2]
    assert strided_indices(1, 8, 6) == [0] * 8
    assert all(0 <= i < n for n in range(1, 13) for i in sample_frame_indices(n, 8, "tgif"))


def test_old_segment_rule_differs_from_the_official_ones():
    """Why the rules exist: 'starts' (floor(i n / T)) misses MRW's frames on about half the lengths, TGIF's on all."""
    mrw_same = sum(sample_frame_indices(n, 4, "starts") == mrw_formula(n, 4) for n in range(4, 201))
    tgif_same = sum(sample_frame_indices(n, 8, "starts") == tgif_formula(n, 8) for n in range(13, 206))
    assert (mrw_same, tgif_same) == (99, 0)  # of 197 lengths (T = 4) and 193 lengths (T = 8)


FFMPEG = json.loads((Path(__file__).parent / "data" / "ffmpeg_timelines.json").read_text())
"""What FFmpeg 5.1.9 wrote for `ffmpeg -i clip.gif -r 8 %05d.png` on 209 GIFs of made-up delays, and the frame rate
it guessed (ffprobe): recorded by `record_ffmpeg_timelines.py`, independently of pvse."""


def ffmpeg_recorded(delays_cs):
    return next(c["frames"] for c in FFMPEG["clips"] if c["delays_cs"] == delays_cs)


# (GIF delays in hundredths of a second, the GIF frame FFmpeg writes at each 8 fps output frame, why)
TIMELINE_TABLE = [
    ([10] * 10, list(range(10)), "10 fps for 1 s: 8 slots' time, but each frame drifts only 0.2 slot: none dropped"),
    ([50, 50], [0, 0, 0, 0, 1, 1, 1, 1], "2 fps: each frame held 4 slots"),
    ([20, 5, 5, 70], [0, 0, 1, 2, 3, 3, 3, 3], "the two short frames are kept: within the 1.1-slot drift"),
    ([0, 0, 1, 1], [0, 1, 2, 3], "delays under 2 cs mean 10 cs"),
    ([4] * 50, [0, 1, 2, 5, 9, 12, 15, 18, 21, 24, 27, 30, 34, 37, 40, 43, 46, 49], "25 fps: a short frame counts "
     "8/25 slot (the guessed rate), so the first ones pile up before FFmpeg starts dropping"),
    ([3], [0], "one frame"),
]


@pytest.mark.parametrize(("delays", "expected", "why"), TIMELINE_TABLE)
def test_timeline_table(delays, expected, why):
    times = gif_display_times(delays)
    assert resample_timeline(times.durations, 8, times.stream_rate) == expected == ffmpeg_recorded(delays), why


def test_timelines_are_what_ffmpeg_wrote_for_every_recorded_gif():
    assert len(FFMPEG["clips"]) >= 200 and FFMPEG["fps"] == 8
    for clip in FFMPEG["clips"]:
        times = gif_display_times(clip["delays_cs"])
        if len(clip["delays_cs"]) > 1:  # (FFmpeg's guess for one frame never matters)
            assert times.stream_rate == Fraction(clip["r_frame_rate"]), clip["delays_cs"]
        assert resample_timeline(times.durations, 8, times.stream_rate) == clip["frames"], clip["delays_cs"]


def test_the_stream_rate_decides_which_short_frames_are_kept():
    """At 8 fps a 4 cs frame is 0.32 slot: with FFmpeg's guess (25 fps) it counts 8/25 slot, without one 0."""
    times = gif_display_times([4] * 50)
    assert times.stream_rate == 25
    assert resample_timeline(times.durations, 8, times.stream_rate) == ffmpeg_recorded([4] * 50)
    assert resample_timeline(times.durations, 8, Fraction(1000)) != ffmpeg_recorded([4] * 50)


def _installed_ffmpeg() -> str:
    """The installed FFmpeg's version ('' when there is none)."""
    if shutil.which("ffmpeg") is None:
        return ""
    import subprocess
    line = subprocess.run(["ffmpeg", "-version"], capture_output=True, text=True, timeout=60).stdout.split("\n")[0]
    return line.split()[2] if line.startswith("ffmpeg version ") else "unknown"


def test_timelines_are_what_the_installed_ffmpeg_writes(tmp_path):
    """Fresh delays (another seed than the recorded table), through a real FFmpeg run now. The re-implementation is
    FFmpeg 5.1's (Debian 12's; what .ci/run installs): other versions guess frame rates differently in details."""
    import random

    version = _installed_ffmpeg()
    if not version.startswith("5.1"):
        pytest.skip(f"no FFmpeg 5.1 to compare with live ({version or 'none installed'}; `apt install ffmpeg` on "
                    "Debian 12); the recorded table above is checked either way")
    from record_ffmpeg_timelines import ffmpeg_frames, random_delays, write_gif
    rng = random.Random(11)
    for case in range(12):
        delays = random_delays(rng, case)
        write_gif(tmp_path / "clip.gif", delays)
        times = gif_display_times(delays)
        assert resample_timeline(times.durations, 8, times.stream_rate) == ffmpeg_frames(
            tmp_path / "clip.gif", len(delays)), delays


def _gif(path, delays_cs, size=(24, 16)):
    """Frame i filled with colour index i of a palette of distinct greys-and-hues (readable back from pixels)."""
    frames = [Image.new("RGB", size, ((37 * i) % 256, (91 * i) % 256, (11 * i + 5) % 256)) for i in range(len(delays_cs))]
    return save_gif(path, frames, delays_cs)


def test_decode_clip_on_the_official_timeline_uses_the_gif_delays(tmp_path):
    """40 frames of 5 cs (2 s) -> the 18 frames FFmpeg writes at 8 fps; the rule then picks timeline slots, and the
    decoded frames are those GIF frames."""
    path = _gif(tmp_path / "forty.gif", [5] * 40)
    slots = ffmpeg_recorded([5] * 40)
    assert len(slots) == 18
    tgif = decode_clip(path, num_frames=8, sampling=FrameSampling("tgif", 8))
    assert list(tgif.indices) == [slots[j] for j in tgif_formula(18, 8)] == [12, 14, 17, 19, 22, 24, 24, 24]
    mrw = decode_clip(path, num_frames=4, sampling=FrameSampling("mrw", 8))
    assert list(mrw.indices) == [slots[j] for j in mrw_formula(18, 4)] == [0, 7, 17, 27]
    assert mrw.num_source_frames == 40
    own = decode_clip(path, num_frames=4, sampling="mrw")  # the same rule on the GIF's own 40 frames
    assert list(own.indices) == mrw_formula(40, 4) == [0, 10, 20, 30]
    for i, frame in zip(mrw.indices, mrw.frames):
        expected = ((37 * i) % 256, (91 * i) % 256, (11 * i + 5) % 256)
        assert np.abs(frame.reshape(-1, 3).astype(int) - expected).max() <= 1, i


def test_decode_clip_timeline_of_uneven_delays(tmp_path):
    path = _gif(tmp_path / "uneven.gif", [20, 5, 5, 70])
    clip = decode_clip(path, num_frames=8, sampling=FrameSampling("mrw", 8))
    assert list(clip.indices) == [0, 0, 1, 2, 3, 3, 3, 3]  # FFmpeg's 8 frames, MRW step (8 + 1) // 8 = 1


def test_frame_sampling_checks_its_values():
    with pytest.raises(ValueError, match="sampling must be one of"):
        FrameSampling("random")
    with pytest.raises(ValueError, match="fps"):
        FrameSampling("tgif", 0)
    with pytest.raises(ValueError, match="display times"):
        FrameSampling("tgif", 8).choose(3, 2, lambda: [Fraction(1, 10)] * 2)


# (frame rate, frames, the frame FFmpeg 5.1.9 wrote at each 8 fps output frame of that H.264 MP4): MRW's clips were
# Giphy MP4s. Written here with PyAV like `_mp4` below; checked the same way on 30 MP4s of 10 rates (6-50 fps).
MP4_TABLE = [
    (Fraction(30000, 1001), 23, [0, 1, 3, 7, 10, 14, 18, 22]),
    (Fraction(25), 23, [0, 1, 2, 5, 9, 12, 15, 18, 21]),
    (Fraction(12), 23, [0, 1, 2, 3, 4, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18, 20, 21]),
]


def _code_colour(i):
    return np.array([(37 * i) % 256, (91 * i + 40) % 256, (151 * i + 90) % 256], np.uint8)


def _mp4(path, rate, count):
    import av
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264" if "libx264" in av.codecs_available else "mpeg4", rate=rate,
                                      options={"crf": "4"})
        stream.width = stream.height = 32
        stream.pix_fmt = "yuv420p"
        for i in range(count):
            image = np.empty((32, 32, 3), np.uint8)
            image[:] = _code_colour(i)
            container.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")))
        container.mux(stream.encode())
    return path


@pytest.mark.parametrize(("rate", "count", "expected"), MP4_TABLE)
def test_mp4_timelines_are_what_ffmpeg_wrote(tmp_path, rate, count, expected):
    path = _mp4(tmp_path / "clip.mp4", rate, count)
    clip = decode_clip(path, num_frames=len(expected), sampling=FrameSampling("mrw", 8))  # MRW step 1: every slot
    assert list(clip.indices) == expected and clip.num_source_frames == count
    shown = [int(np.argmin([np.abs(_code_colour(i).astype(float) - f.reshape(-1, 3).mean(0)).sum()
                            for i in range(count)])) for f in clip.frames]
    assert shown == expected
    longer = decode_clip(path, num_frames=len(expected) + 1, sampling=FrameSampling("mrw", 8))
    assert list(longer.indices) == expected + expected[-1:]  # the timeline has no frame more: the last repeats
