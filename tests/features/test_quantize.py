"""The int8 frame CNN: an exact padding fold, a quantized graph close to fp32, cached, and never mixed with fp32."""
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from pvse.build import build_index
from pvse.checkpoints import load_checkpoint
from pvse.features import build_frame_extractor
from pvse.features import quantize as quantize_module
from pvse.features.cache import frame_features_key
from pvse.index import read_index
from pvse.media import decode_clip
from pvse.pipeline import PVSEPipeline
from tests.helpers.models import tiny_checkpoint

pytest.importorskip("onnxruntime")

GALLERY = Path(__file__).resolve().parents[2] / "gallery" / "noto-emoji"
GIFS = ["001-smile.gif", "118-alien-monster.gif", "509-droplet.gif"]


@pytest.fixture(scope="module")
def extractors(tmp_path_factory):
    """fp32 and int8 EfficientNet-Lite0, the int8 one calibrated on 4 bundled GIFs (the default is 32)."""
    if not GALLERY.is_dir():
        pytest.skip("the bundled emoji gallery is not here")
    mp = pytest.MonkeyPatch()
    mp.setattr(quantize_module, "CALIBRATION_CLIPS", 4)
    fp32 = build_frame_extractor("efficientnet-lite0")
    int8 = build_frame_extractor("efficientnet-lite0", precision="int8")
    yield fp32, int8, mp
    mp.undo()


def emoji_frames() -> np.ndarray:
    return np.concatenate([decode_clip(GALLERY / name, num_frames=4).frames for name in GIFS])


def test_folding_the_padding_changes_no_output(extractors):
    fp32, _, _ = extractors
    import onnxruntime as ort
    folded = quantize_module.fold_fixed_padding(fp32._runner.model, 224)
    pixels = np.random.default_rng(0).standard_normal((3, 3, 224, 224)).astype(np.float32)
    before = fp32._runner(torch.from_numpy(pixels))
    after = ort.InferenceSession(folded, providers=["CPUExecutionProvider"]).run(None, {"pixels": pixels})[0]
    assert np.array_equal(before, after)
    assert len(folded) < len(fp32._runner.model) + 1024  # the shape computations are gone, nothing added


def test_int8_features_are_close_to_fp32_and_come_from_another_graph(extractors):
    fp32, int8, _ = extractors
    assert (fp32.precision, int8.precision) == ("fp32", "int8") and "int8" in int8.backend_note
    frames = emoji_frames()
    a, b = fp32.extract(frames, batch_size=8), int8.extract(frames, batch_size=8)
    cosine = (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)
    assert cosine.mean() > 0.7 and cosine.min() > 0.6, cosine  # 4 calibration GIFs here; 32 by default (docs)
    assert not np.allclose(a, b, atol=1e-3)  # really the quantized graph


def test_the_int8_graph_is_cached_and_not_quantized_again(extractors, monkeypatch):
    _, int8, mp = extractors
    monkeypatch.setattr(quantize_module, "quantize_int8", lambda *a, **k: pytest.fail("quantized again"))
    again = build_frame_extractor("efficientnet-lite0", precision="int8")
    frames = emoji_frames()[:4]
    assert np.array_equal(again.extract(frames), int8.extract(frames))


def test_int8_runs_on_onnxruntime_cpu_only():
    with pytest.raises(ValueError, match="CPU only"):
        build_frame_extractor("efficientnet-lite0", precision="int8", backend="torch")
    with pytest.raises(ValueError, match="precision must be one of fp32, int8"):
        build_frame_extractor("efficientnet-lite0", precision="int4")


def test_feature_cache_keys_name_the_precision():
    assert frame_features_key("efficientnet-lite0") == "efficientnet-lite0"
    assert frame_features_key("efficientnet-lite0", None, "int8") == "efficientnet-lite0@int8"


def test_an_index_records_its_precision_and_never_mixes_int8_with_fp32_rows(extractors, tmp_path):
    _, int8, _ = extractors
    gallery = tmp_path / "gallery"
    gallery.mkdir()
    for name in GIFS:
        shutil.copy(GALLERY / name, gallery / name)
    weights = tiny_checkpoint(tmp_path / "weights", num_embeds=2, embed_dim=16)
    out, cache = tmp_path / "gallery.index", tmp_path / "cache"

    def build(precision):
        pipeline = PVSEPipeline(load_checkpoint(weights, device="cpu"), "cpu", frame_precision=precision)
        return build_index(gallery, out, pipeline=pipeline, feature_cache=cache, progress=False)

    first = build("int8")
    assert first.added == 3 and read_index(out).meta.frame_precision == "int8"
    assert '"frame_precision": "int8"' in (out / "index.json").read_text()
    again = build("int8")
    assert again.reused == 3
    fp32 = build("fp32")
    assert fp32.reused == 0 and fp32.added == 3 and any("int8 frame-CNN features" in n for n in fp32.notes)
    assert read_index(out).meta.frame_precision == "fp32" and "frame_precision" not in (out / "index.json").read_text()
    assert sorted(p.name for p in cache.iterdir()) == ["efficientnet-lite0-t4", "efficientnet-lite0@int8-t4"]
