"""Frame choice: the official PVSE loaders' strided rules and the constant-rate timeline, against the formulas."""
from fractions import Fraction

import numpy as np
import pytest
from PIL import Image

from pvse.media import FrameSampling, decode_clip, sample_frame_indices
from pvse.media.sampling import gif_delay_seconds, resample_timeline, strided_indices


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


# (GIF delays in hundredths of a second, fps, the GIF frame shown in each timeline slot)
TIMELINE_TABLE = [
    ([10] * 10, 8, [0, 1, 3, 4, 5, 6, 8, 9]),  # 10 fps, 1 s -> 8 slots at (k + 1/2) / 8 s
    ([50, 50], 8, [0, 0, 0, 0, 1, 1, 1, 1]),  # 2 fps: each frame held 4 slots
    ([20, 5, 5, 70], 8, [0, 0, 3, 3, 3, 3, 3, 3]),  # frames 1 and 2 fall between slot centres
    ([0, 0, 1, 1], 8, [0, 1, 3]),  # delays under 2 cs mean 10 cs: 0.4 s -> ceil(3.2 - 1/2) = 3 slots
    ([4] * 50, 8, [1, 4, 7, 10, 14, 17, 20, 23, 26, 29, 32, 35, 39, 42, 45, 48]),  # 25 fps, 2 s
    ([3], 8, [0]),  # shorter than half a slot: still one slot
    ([25] * 4, 4, [0, 1, 2, 3]),  # exactly the timeline's rate: every frame once
]


def _slot_frames_by_hand(delays_cs, fps):
    """Independent count: walk the clip in steps of a 1/1600 s tick and read which frame is on screen at each
    slot centre (2k + 1) / (2 fps)."""
    shown = [10 if d < 2 else d for d in delays_cs]
    ticks = [16 * d for d in shown]  # 1 cs = 16 ticks
    total = sum(ticks)
    out, k = [], 0
    while True:
        centre = (2 * k + 1) * 800 // fps  # ticks; exact for fps dividing 800
        if centre >= total:
            break
        elapsed, frame = 0, 0
        while elapsed + ticks[frame] <= centre:
            elapsed += ticks[frame]
            frame += 1
        out.append(frame)
        k += 1
    return out or [0]


@pytest.mark.parametrize(("delays", "fps", "expected"), TIMELINE_TABLE)
def test_timeline_table(delays, fps, expected):
    slots = resample_timeline([gif_delay_seconds(d) for d in delays], fps)
    assert slots == expected == _slot_frames_by_hand(delays, fps)


def test_timeline_count_is_the_slots_inside_the_clip():
    for total_cs in range(1, 400, 7):
        slots = resample_timeline([Fraction(total_cs, 100)], 8)
        assert len(slots) == max(1, -(-(total_cs * 8 - 50) // 100)), total_cs  # ceil(D fps - 1/2)


def _gif(path, delays_cs, size=(24, 16)):
    """Frame i filled with colour index i of a palette of distinct greys-and-hues (readable back from pixels)."""
    frames = [Image.new("RGB", size, ((37 * i) % 256, (91 * i) % 256, (11 * i + 5) % 256)) for i in range(len(delays_cs))]
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=[10 * d for d in delays_cs], loop=0,
                   optimize=False, disposal=1)
    return path


def test_decode_clip_on_the_official_timeline_uses_the_gif_delays(tmp_path):
    """40 frames of 5 cs (2 s) -> 16 slots at 8 fps, slot k showing frame floor((2k + 1) 1.25); the rule then picks
    timeline slots, and the decoded frames are those GIF frames."""
    path = _gif(tmp_path / "forty.gif", [5] * 40)
    slots = [int((2 * k + 1) * 1.25) for k in range(16)]
    tgif = decode_clip(path, num_frames=8, sampling=FrameSampling("tgif", 8))
    assert list(tgif.indices) == [slots[j] for j in tgif_formula(16, 8)] == [16, 18, 21, 23, 23, 23, 23, 23]
    mrw = decode_clip(path, num_frames=4, sampling=FrameSampling("mrw", 8))
    assert list(mrw.indices) == [slots[j] for j in mrw_formula(16, 4)] == [1, 11, 21, 31]
    assert mrw.num_source_frames == 40
    own = decode_clip(path, num_frames=4, sampling="mrw")  # the same rule on the GIF's own 40 frames
    assert list(own.indices) == mrw_formula(40, 4) == [0, 10, 20, 30]
    for i, frame in zip(mrw.indices, mrw.frames):
        expected = ((37 * i) % 256, (91 * i) % 256, (11 * i + 5) % 256)
        assert np.abs(frame.reshape(-1, 3).astype(int) - expected).max() <= 1, i


def test_decode_clip_timeline_of_uneven_delays(tmp_path):
    path = _gif(tmp_path / "uneven.gif", [20, 5, 5, 70])
    clip = decode_clip(path, num_frames=8, sampling=FrameSampling("mrw", 8))
    assert list(clip.indices) == [0, 0, 3, 3, 3, 3, 3, 3]  # slots 0..7 = 0, 0, 3, ..., MRW step (8 + 1) // 8 = 1


def test_frame_sampling_checks_its_values():
    with pytest.raises(ValueError, match="sampling must be one of"):
        FrameSampling("random")
    with pytest.raises(ValueError, match="fps"):
        FrameSampling("tgif", 0)
    with pytest.raises(ValueError, match="display times"):
        FrameSampling("tgif", 8).choose(3, 2, lambda: [Fraction(1, 10)] * 2)
