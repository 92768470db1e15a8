"""The official data's frame storage (OpenCV shorter side 256 + JPEG) and the CNN input's pixel range."""
import cv2
import numpy as np
import pytest
import torch

from pvse.features import frame_extractor_spec
from pvse.features.backbones import IMAGENET_MEAN, IMAGENET_STD
from pvse.features.frames import FrameFeatureExtractor
from pvse.features.preprocessing import FramePreprocessing
from pvse.features.stored_frames import jpeg_round_trip, opencv_shorter_side, opencv_shorter_side_size


def _frames(n=2, h=48, w=80, seed=0):
    rng = np.random.default_rng(seed)
    smooth = rng.integers(0, 256, (n, h // 8 + 1, w // 8 + 1, 3)).repeat(8, 1).repeat(8, 2)[:, :h, :w]
    return np.clip(smooth + rng.integers(-20, 21, smooth.shape), 0, 255).astype(np.uint8)


@pytest.mark.parametrize(("hw", "expected"), [((48, 80), (256, 426)), ((80, 48), (426, 256)), ((300, 300), (256, 256)),
                                              ((256, 500), (256, 500)), ((1080, 1920), (256, 455)),
                                              ((199, 301), (256, 387))])
def test_shorter_side_sizes_are_gulpio_int_truncation(hw, expected):
    assert opencv_shorter_side_size(*hw, 256) == expected
    assert opencv_shorter_side(np.zeros((*hw, 3), np.uint8), 256).shape[:2] == expected


def test_shorter_side_is_opencv_bilinear_without_antialiasing():
    frame = _frames(1, 120, 200)[0]
    ours = opencv_shorter_side(frame, 42)  # a downscale by 2.86: antialiasing would average about 3 x 3 pixels
    assert ours.shape == (42, 70, 3)
    assert np.array_equal(ours, cv2.resize(frame[..., ::-1].copy(), (70, 42), interpolation=cv2.INTER_LINEAR)[..., ::-1])
    antialiased = cv2.resize(frame, (70, 42), interpolation=cv2.INTER_AREA)
    assert np.abs(ours.astype(int) - antialiased).mean() > 2  # the test can tell the two filters apart


def test_jpeg_round_trip_is_opencvs_default_quality_on_bgr():
    frame = _frames(1, 64, 96)[0]
    ok, data = cv2.imencode(".jpg", frame[..., ::-1].copy())  # OpenCV's default quality, as GulpIO stored frames
    assert ok
    expected = cv2.cvtColor(cv2.imdecode(data, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
    assert np.array_equal(jpeg_round_trip(frame, 95), expected)
    assert not np.array_equal(jpeg_round_trip(frame, 50), expected)
    assert 0 < np.abs(expected.astype(int) - frame).mean() < 16  # lossy (the test frames are noisy), but close


OFFICIAL = dict(size=224, resize=256, mean=IMAGENET_MEAN, std=IMAGENET_STD, interpolation="bilinear",
                sampling="tgif", timeline_fps=8.0, prescale=256, jpeg_quality=95)


def _extractor(preprocessing):
    """The ResNet-152 extractor's preprocessing alone (its trunk is built on first use, never here)."""
    return FrameFeatureExtractor("resnet152", None, frame_extractor_spec("resnet152"), preprocessing=preprocessing)


def test_pixel_range_follows_the_normalize_switch():
    """normalize off: the CNN sees [0, 1] (the official video loader); on: ImageNet mean / std of the same pixels."""
    frames = _frames(3, 90, 160, seed=4)
    raw = _extractor(FramePreprocessing(**OFFICIAL, normalize=False))
    imagenet = _extractor(FramePreprocessing(**OFFICIAL, normalize=True))
    pixels = raw.preprocess(frames)
    assert pixels.shape == (3, 3, 224, 224)
    assert 0.0 <= float(pixels.min()) < 0.1 and 0.9 < float(pixels.max()) <= 1.0
    mean, std = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
    torch.testing.assert_close(imagenet.preprocess(frames), (pixels - mean) / std)
    assert float(imagenet.preprocess(frames).min()) < -1.5


def test_official_pixels_are_stored_frames_cropped():
    """prescale + JPEG, then Resize(256) leaves the 256 side alone and the centre 224 x 224 is cropped."""
    frames = _frames(1, 90, 160, seed=5)
    extractor = _extractor(FramePreprocessing(**OFFICIAL, normalize=False))
    stored = jpeg_round_trip(opencv_shorter_side(frames[0], 256), 95)  # 256 x 455
    left = int(round((455 - 224) / 2.0))
    expected = torch.from_numpy(stored[16:240, left:left + 224].astype(np.float32) / 255.0).permute(2, 0, 1)
    torch.testing.assert_close(extractor.preprocess(frames)[0], expected, atol=0, rtol=0)


def test_official_preprocessing_values_are_checked():
    from pvse.errors import WeightsError
    with pytest.raises(WeightsError, match="jpeg_quality"):
        FramePreprocessing(**{**OFFICIAL, "jpeg_quality": 0})
    with pytest.raises(WeightsError, match="prescale"):
        FramePreprocessing(**{**OFFICIAL, "resize": None, "prescale": 256})
    with pytest.raises(WeightsError, match="timeline_fps"):
        FramePreprocessing(**{**OFFICIAL, "timeline_fps": -8})
    with pytest.raises(WeightsError, match="normalize"):
        FramePreprocessing(**OFFICIAL, normalize="no")
    for field, bad in [("prescale", "256"), ("jpeg_quality", 9.5), ("timeline_fps", True), ("timeline_fps", "8")]:
        with pytest.raises(WeightsError, match=field):
            FramePreprocessing(**{**OFFICIAL, field: bad})
