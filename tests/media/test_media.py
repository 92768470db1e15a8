"""pvse.media: frame sampling, decoding of GIF / MP4 / WebP / APNG, compositing, limits and errors."""
from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from pvse.errors import MediaError
from pvse.media import (
    MEDIA_EXTENSIONS,
    Clip,
    ClipView,
    FrameSampling,
    MediaLimits,
    decode_all_frames,
    decode_clip,
    decode_clip_views,
    sample_frame_indices,
)

# Frame i of the synthetic clips is filled with COLOURS[i]: far apart, so even a lossy codec
# cannot turn one into another.
COLOURS = np.array(
    [
        (230, 25, 25), (25, 200, 40), (30, 40, 220), (240, 220, 30), (200, 30, 200),
        (30, 210, 210), (250, 140, 20), (120, 60, 20), (128, 128, 128), (10, 10, 10),
    ],
    dtype=np.uint8,
)
REAL_GIFS = ("001-smile.gif", "118-alien-monster.gif", "613-fireworks.gif")


def _nearest_colour(frame: np.ndarray) -> int:
    mean = frame.reshape(-1, 3).mean(axis=0)
    return int(np.argmin(np.abs(COLOURS.astype(float) - mean).sum(axis=1)))


def _ffmpeg_gif_frames(path: Path) -> list[np.ndarray]:
    """Reference decode of a GIF by FFmpeg's decoder (independent of Pillow), composited on white."""
    out = []
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            rgba = frame.to_ndarray(format="rgba").astype(np.uint32)
            a = rgba[..., 3:]
            out.append(((rgba[..., :3] * a + 255 * (255 - a) + 127) // 255).astype(np.uint8))
    return out


@pytest.fixture(scope="module")
def mp4_path(tmp_path_factory) -> Path:
    """10 frames of 64x64, frame i filled with COLOURS[i], H.264 (or MPEG-4 part 2)."""
    path = tmp_path_factory.mktemp("mp4") / "colours.mp4"
    codec = "libx264" if "libx264" in av.codecs_available else "mpeg4"
    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=10, options={"crf": "8"} if codec == "libx264" else {})
        stream.width, stream.height, stream.pix_fmt = 64, 64, "yuv420p"
        for colour in COLOURS:
            image = np.empty((64, 64, 3), np.uint8)
            image[:] = colour
            container.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")))
        container.mux(stream.encode())
    return path


def _rgba_frames(n: int) -> list[Image.Image]:
    """n 32x32 RGBA frames: left half opaque COLOURS[i], right half transparent, pixel (0,0) half alpha."""
    frames = []
    for i in range(n):
        rgba = np.zeros((32, 32, 4), np.uint8)
        rgba[:, :16, :3] = COLOURS[i]
        rgba[:, :16, 3] = 255
        rgba[0, 0, 3] = 128
        frames.append(Image.fromarray(rgba, "RGBA"))
    return frames


def _write_animated(path: Path) -> Path:
    """Lossless 6-frame animated WebP / APNG (by suffix) with transparency, written by Pillow."""
    frames = _rgba_frames(6)
    extra = {"lossless": True} if path.suffix == ".webp" else {"disposal": 1, "blend": 0}
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=100, loop=0, **extra)
    return path


@pytest.fixture(scope="module", params=["webp", "png"])
def animated_rgba_path(request, tmp_path_factory) -> Path:
    return _write_animated(tmp_path_factory.mktemp("anim") / f"colours.{request.param}")


@pytest.fixture(scope="module")
def transparent_gif_path(tmp_path_factory) -> Path:
    """5-frame 32x32 GIF: an 8x8 square of COLOURS[i] moving over a transparent canvas, disposal 2."""
    path = tmp_path_factory.mktemp("gif") / "moving.gif"
    frames = []
    for i in range(5):
        im = Image.new("P", (32, 32), 0)
        im.putpalette([0, 0, 0, *COLOURS[i].tolist()] + [0] * (254 * 3))
        im.paste(1, (i * 5, i * 5, i * 5 + 8, i * 5 + 8))
        frames.append(im)
    frames[0].save(path, save_all=True, append_images=frames[1:], transparency=0, disposal=2, duration=100, loop=0)
    return path


# ---------------------------------------------------------------------------------- sampling


@pytest.mark.parametrize("n", [1, 2, 3, 7, 8, 9, 24, 25, 100, 10_000])
@pytest.mark.parametrize("t", [1, 2, 8, 16])
def test_sample_frame_indices_properties(n, t):
    idx = sample_frame_indices(n, t)
    assert len(idx) == t
    assert all(0 <= i < n for i in idx)
    assert idx == sorted(idx)
    assert idx == sample_frame_indices(n, t)  # pure, deterministic
    if n >= t:
        assert len(set(idx)) == t
        gaps = np.diff([*idx, idx[0] + n])  # wrap-around gap included: spacing is even all round
        assert gaps.max() - gaps.min() <= 1
    else:
        assert idx == list(range(n)) + [n - 1] * (t - n)


def test_sample_frame_indices_examples():
    assert sample_frame_indices(24, 8) == [1, 4, 7, 10, 13, 16, 19, 22]  # centres of 8 segments of 3
    assert sample_frame_indices(8, 8) == list(range(8))
    assert sample_frame_indices(3, 5) == [0, 1, 2, 2, 2]
    assert sample_frame_indices(9, 1) == [4]
    with pytest.raises(ValueError):
        sample_frame_indices(0, 8)
    with pytest.raises(ValueError):
        sample_frame_indices(5, 0)


# ---------------------------------------------------------------------------------- real GIFs


@pytest.mark.parametrize("name", REAL_GIFS)
def test_decode_real_noto_gifs(shared_dir, name):
    path = shared_dir / name
    n = len(_ffmpeg_gif_frames(path))
    clip = decode_clip(path)
    assert isinstance(clip, Clip)
    assert clip.frames.shape == (8, 160, 160, 3) and clip.frames.dtype == np.uint8
    assert clip.num_source_frames == n
    assert clip.indices == tuple(sample_frame_indices(n, 8))
    assert clip.path == str(path)
    assert len({f.tobytes() for f in clip.frames}) == min(n, 8)  # an animation: sampled frames differ


def test_real_gif_matches_ffmpeg_reference(shared_dir):
    """Pillow's composited frames (partial-frame GIF) equal FFmpeg's independent GIF decoder."""
    path = shared_dir / "001-smile.gif"
    reference = _ffmpeg_gif_frames(path)
    clip = decode_clip(path)
    for frame, index in zip(clip.frames, clip.indices):
        diff = np.abs(frame.astype(int) - reference[index].astype(int))
        assert diff.max() <= 2, f"frame {index} differs by up to {diff.max()}"
    every = decode_all_frames(path)
    assert len(every) == len(reference)
    assert max(int(np.abs(a.astype(int) - b).max()) for a, b in zip(every, reference)) <= 2


# ---------------------------------------------------------------------------------- synthetic media


def test_mp4_frames_and_colours(mp4_path):
    clip = decode_clip(mp4_path, num_frames=8)
    assert clip.frames.shape == (8, 64, 64, 3)
    assert clip.num_source_frames == 10
    assert clip.indices == (0, 1, 3, 4, 5, 6, 8, 9)
    for frame, index in zip(clip.frames, clip.indices):
        assert _nearest_colour(frame) == index
        assert np.abs(frame.reshape(-1, 3).mean(0) - COLOURS[index]).max() < 12


def test_mp4_short_clip_repeats_last_frame(mp4_path):
    clip = decode_clip(mp4_path, num_frames=13)
    assert clip.indices == (*range(10), 9, 9, 9)
    assert np.array_equal(clip.frames[-1], clip.frames[9])
    assert [_nearest_colour(f) for f in clip.frames] == list(clip.indices)


def test_animated_rgba_composited_on_white(animated_rgba_path):
    clip = decode_clip(animated_rgba_path, num_frames=3)
    assert clip.num_source_frames == 6
    assert clip.indices == (1, 3, 5)
    for frame, index in zip(clip.frames, clip.indices):
        colour = COLOURS[index].astype(int)
        assert np.array_equal(frame[1:, :16], np.broadcast_to(colour, (31, 16, 3)))
        assert (frame[:, 16:] == 255).all()  # transparent -> white
        expected_half = (colour * 128 + 255 * 127 + 127) // 255
        assert np.abs(frame[0, 0].astype(int) - expected_half).max() <= 1


def test_transparent_gif_disposal_composited_on_white(transparent_gif_path):
    frames = decode_all_frames(transparent_gif_path)
    reference = _ffmpeg_gif_frames(transparent_gif_path)
    assert len(frames) == 5
    for i, frame in enumerate(frames):
        square = (slice(i * 5, i * 5 + 8),) * 2
        assert (frame[square] == COLOURS[i]).all()
        mask = np.ones((32, 32), bool)
        mask[square] = False
        assert (frame[mask] == 255).all()  # previous squares disposed, background white
        assert np.array_equal(frame, reference[i])


def test_still_png_is_one_frame_repeated(tmp_path):
    path = tmp_path / "still.png"
    Image.fromarray(np.full((20, 30, 3), 77, np.uint8)).save(path)
    clip = decode_clip(path, num_frames=4)
    assert clip.num_source_frames == 1 and clip.indices == (0, 0, 0, 0)
    assert clip.frames.shape == (4, 20, 30, 3) and (clip.frames == 77).all()


def test_decode_all_frames_max_frames_spans_the_clip(mp4_path):
    frames = decode_all_frames(mp4_path, max_frames=4)
    assert [_nearest_colour(f) for f in frames] == sample_frame_indices(10, 4)
    assert [_nearest_colour(f) for f in decode_all_frames(mp4_path)] == list(range(10))


def test_media_extensions():
    assert {".gif", ".mp4", ".webp"} <= set(MEDIA_EXTENSIONS)
    assert all(e == e.lower() and e.startswith(".") for e in MEDIA_EXTENSIONS)


# ---------------------------------------------------------------------------------- bad input


def _assert_media_error(path: Path, *words: str, **kwargs) -> MediaError:
    with pytest.raises(MediaError) as info:
        decode_clip(path, **kwargs)
    err = info.value
    assert err.path == str(path) and str(path) in str(err)
    assert "Traceback" not in err.reason
    for word in words:
        assert word in err.reason, err.reason
    return err


@pytest.mark.parametrize("keep", ["half", "all but 100 bytes"])
def test_truncated_gif(shared_dir, tmp_path, keep):
    """Cut mid-file, or inside the last frame, which no sampled index needs but must still decode."""
    data = (shared_dir / "001-smile.gif").read_bytes()
    path = tmp_path / "cut.gif"
    path.write_bytes(data[: len(data) // 2] if keep == "half" else data[:-100])
    _assert_media_error(path, "truncated")


@pytest.mark.parametrize("suffix", [".webp", ".png", ".mp4"])
def test_truncated_other_formats(request, tmp_path, suffix):
    source = request.getfixturevalue("mp4_path") if suffix == ".mp4" else _write_animated(tmp_path / f"whole{suffix}")
    data = source.read_bytes()
    path = tmp_path / f"cut{suffix}"
    path.write_bytes(data[: len(data) // 2])
    _assert_media_error(path, "truncated")


def test_zero_byte_file(tmp_path):
    path = tmp_path / "empty.gif"
    path.write_bytes(b"")
    _assert_media_error(path, "empty")


def test_text_file_named_gif(tmp_path):
    path = tmp_path / "notes.gif"
    path.write_text("this is a shopping list, not a GIF\n" * 20)
    _assert_media_error(path, "decode")


def test_missing_file_and_directory(tmp_path):
    _assert_media_error(tmp_path / "nope.mp4", "does not exist")
    _assert_media_error(tmp_path, "not a regular file")


def test_audio_only_file(tmp_path):
    path = tmp_path / "tone.wav"
    with av.open(str(path), "w") as container:
        stream = container.add_stream("pcm_s16le", rate=8000)
        frame = av.AudioFrame.from_ndarray(np.zeros((1, 800), np.int16), format="s16", layout="mono")
        frame.sample_rate = 8000
        container.mux(stream.encode(frame))
        container.mux(stream.encode())
    _assert_media_error(path, "no video stream")


def test_file_size_limit(shared_dir):
    path = shared_dir / "001-smile.gif"
    _assert_media_error(path, "limit", "max_file_bytes", limits=MediaLimits(max_file_bytes=1000))


@pytest.mark.parametrize("kind", ["gif", "mp4", "webp", "png"])
def test_pixel_and_frame_limits(request, shared_dir, tmp_path, kind):
    if kind == "gif":
        path = shared_dir / "001-smile.gif"
    elif kind == "mp4":
        path = request.getfixturevalue("mp4_path")
    else:
        path = _write_animated(tmp_path / f"anim.{kind}")
    _assert_media_error(path, "limit", "max_pixels", limits=MediaLimits(max_pixels=31 * 31))
    _assert_media_error(path, "limit", "max_frames", limits=MediaLimits(max_frames=5))
    assert decode_clip(path, limits=MediaLimits(max_pixels=160 * 160, max_frames=24)).frames.shape[0] == 8


def test_video_packet_count_overstating_frames_is_resampled(mp4_path, monkeypatch):
    """Some codecs emit fewer frames than packets: indices are re-chosen from the decoded count."""
    import pvse.media.decode as media

    monkeypatch.setattr(media, "_av_count_frames", lambda path, limits: (14, lambda n: [Fraction(1, 10)] * n))
    clip = decode_clip(mp4_path, num_frames=8)
    assert clip.num_source_frames == 10
    assert clip.indices == tuple(sample_frame_indices(10, 8))
    assert [_nearest_colour(f) for f in clip.frames] == list(clip.indices)


def test_mp4_on_an_8_fps_timeline_uses_the_packet_timestamps(mp4_path):
    """10 frames at 10 fps (1 s): `ffmpeg -r 8` writes all 10 (each drifts 0.2 slot, within its 1.1-slot
    tolerance; FFmpeg 5.1.9 on this file), `-r 5` writes frames 0, 1, 2, 3, 5, 7, 9."""
    clip = decode_clip(mp4_path, num_frames=10, sampling=FrameSampling("mrw", 8))
    assert list(clip.indices) == list(range(10)) and clip.num_source_frames == 10
    assert [_nearest_colour(f) for f in clip.frames] == list(range(10))
    slow = decode_clip(mp4_path, num_frames=8, sampling=FrameSampling("mrw", 5))  # 7 frames, the last repeated
    assert list(slow.indices) == [0, 1, 2, 3, 5, 7, 9, 9]


def test_animated_webp_and_png_on_a_timeline_use_their_frame_durations(animated_rgba_path):
    """6 frames of 100 ms (0.6 s) at 5 fps: FFmpeg 5.1.9 writes frames 0, 1, 2, 3, 5 for the APNG; MRW's step
    (5 + 1) // 3 = 2 then takes slots 0, 2, 4."""
    clip = decode_clip(animated_rgba_path, num_frames=3, sampling=FrameSampling("mrw", 5))
    assert list(clip.indices) == [0, 2, 5]


def _assert_views_match(path) -> None:
    small, full = decode_clip_views(path, [ClipView(8, "centres", (32, 24)), ClipView(4)])
    for view, alone in ((small, decode_clip(path, 8, max_size=(32, 24))), (full, decode_clip(path, 4))):
        assert view.indices == alone.indices and view.num_source_frames == alone.num_source_frames
        assert np.array_equal(view.frames, alone.frames)
    assert small.frames.shape[1:3] == (24, 32) and full.frames.shape[1] > 24


def test_views_give_each_consumer_what_its_own_decode_gives(shared_dir, mp4_path):
    """One pass for the frame CNN's small frames and the text reader's full-size ones: the same indices and pixels
    as two separate decodes."""
    _assert_views_match(shared_dir / "613-fireworks.gif")
    _assert_views_match(mp4_path)


def test_views_of_animated_webp_and_png(animated_rgba_path):
    _assert_views_match(animated_rgba_path)
