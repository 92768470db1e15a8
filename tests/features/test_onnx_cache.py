"""The frame CNN's verified ONNX export is cached on disk: later processes skip the PyTorch trunk and the export."""
import os
import subprocess
import sys

import numpy as np

from pvse.features import build_frame_extractor
from pvse.features.onnx_runner import OnnxCache

PROBE = """
import sys, numpy as np
from pvse.features import build_frame_extractor
extractor = build_frame_extractor("efficientnet-lite0")
frames = np.random.default_rng(0).integers(0, 256, (3, 224, 224, 3), dtype=np.uint8)
np.save(sys.argv[1], extractor.extract(frames))
print(extractor.backend, "|", extractor.backend_note, "|", "timm" in sys.modules, "torch.onnx" in sys.modules)
"""


def run_probe(tmp_path, cache, name: str) -> tuple[np.ndarray, str]:
    out = tmp_path / f"{name}.npy"
    env = {**os.environ, "PVSE_ONNX_CACHE": str(cache)}
    result = subprocess.run([sys.executable, "-c", PROBE, str(out)], capture_output=True, text=True, timeout=600,
                            env=env, check=True)
    return np.load(out), result.stdout.strip().splitlines()[-1]


def test_second_process_uses_the_cached_graph_without_timm_and_gives_the_same_features(tmp_path):
    cache = tmp_path / "onnx"
    first, first_note = run_probe(tmp_path, cache, "first")
    assert first_note.startswith("onnxruntime | onnxruntime (max abs diff") and first_note.endswith("True True")
    files = list(cache.glob("efficientnet-lite0-*.onnx"))
    assert len(files) == 1 and not list(cache.glob(".*.tmp"))
    second, second_note = run_probe(tmp_path, cache, "second")
    assert "cached" in second_note and second_note.endswith("False False"), second_note  # no timm, no exporter
    assert np.array_equal(first, second)


def test_a_damaged_cache_file_is_exported_again(tmp_path, monkeypatch):
    cache = tmp_path / "onnx"
    monkeypatch.setenv("PVSE_ONNX_CACHE", str(cache))
    reference = build_frame_extractor("efficientnet-lite0")
    path, = cache.glob("*.onnx")
    path.write_bytes(path.read_bytes()[:1000])  # truncated
    rebuilt = build_frame_extractor("efficientnet-lite0")
    assert rebuilt.backend == "onnxruntime" and "max abs diff" in rebuilt.backend_note
    assert path.stat().st_size > 1_000_000
    frames = np.full((2, 224, 224, 3), 128, np.uint8)
    assert np.array_equal(reference.extract(frames), rebuilt.extract(frames))


def test_an_unwritable_cache_only_costs_the_export(tmp_path, monkeypatch):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    monkeypatch.setenv("PVSE_ONNX_CACHE", str(blocker / "onnx"))
    extractor = build_frame_extractor("efficientnet-lite0")
    assert extractor.backend == "onnxruntime"
    assert extractor.extract(np.zeros((1, 224, 224, 3), np.uint8)).shape == (1, 1280)


def test_the_key_follows_the_weights(tmp_path):
    lite0 = build_frame_extractor("efficientnet-lite0", backend="torch")
    state = lite0.trunk.state_dict()
    from pvse.features.onnx_runner import weights_digest
    changed = dict(state, **{"conv_stem.weight": state["conv_stem.weight"] + 1e-3})
    cache = OnnxCache(tmp_path)
    keys = {cache.path("efficientnet-lite0", 224, weights_digest(s, None)) for s in (state, changed)}
    assert len(keys) == 2
    assert cache.path("efficientnet-lite0", 224, "d") != cache.path("efficientnet-lite0", 192, "d")
