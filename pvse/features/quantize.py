"""int8 frame CNN: ONNX Runtime static quantization of the verified fp32 graph, calibrated on bundled emoji frames.

The fp32 graph (`onnx_runner`) computes its TF-style "same" padding from the input's shape at run time; the
quantizer cannot handle those shape computations, and for a fixed input size they are constants, so they are
folded first (`fold_fixed_padding`, bit-identical outputs). Then `quantize_static` with QDQ nodes, per-channel
int8 weights with reduced range (7 bits: x86 CPUs without VNNI saturate on full-range u8 x s8 products),
uint8 activations from min/max calibration, and the stem and head convolutions kept in float (they hurt the
features most and cost little). The int8 graph is cached next to the fp32 one, keyed by the fp32 graph, the
calibration set and `QUANT_FORMAT`.

Features differ from fp32 (mean cosine ~0.97 on film frames, see docs/indexing-at-scale.md): int8 is an
option, never mixed with fp32 (feature-cache keys and index metadata name the precision).
"""
from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from .precision import DEFAULT_FRAME_PRECISION as DEFAULT_PRECISION
from .precision import FRAME_PRECISIONS as PRECISIONS
from .precision import check_precision

__all__ = ["DEFAULT_PRECISION", "PRECISIONS", "check_precision", "quantize_int8", "fold_fixed_padding"]

QUANT_FORMAT = 1  # part of the int8 cache key: raise it when the quantization recipe changes
CALIBRATION_CLIPS = 32  # x 8 frames: a few hundred frames, spread over the bundled emoji gallery
CALIBRATION_BATCH = 8


def fold_fixed_padding(model: bytes, image_size: int) -> bytes:
    """The graph with every Pad's run-time padding replaced by its value for (n, 3, image_size, image_size)
    inputs, and the shape computations that made it removed. Checked: the pads are the same for two batch sizes."""
    import onnx
    import onnxruntime as ort
    from onnx import numpy_helper

    graph_model = onnx.load_from_string(model)
    pad_inputs = sorted({n.input[1] for n in graph_model.graph.node
                         if n.op_type == "Pad" and len(n.input) > 1 and n.input[1]
                         and n.input[1] not in {i.name for i in graph_model.graph.initializer}})
    if not pad_inputs:
        return model
    probe = onnx.load_from_string(model)
    del probe.graph.output[:]
    probe.graph.output.extend(onnx.helper.make_tensor_value_info(name, onnx.TensorProto.INT64, None)
                              for name in pad_inputs)
    options = ort.SessionOptions()
    options.log_severity_level = 3
    session = ort.InferenceSession(probe.SerializeToString(), options, providers=["CPUExecutionProvider"])
    values = [session.run(None, {"pixels": np.zeros((n, 3, image_size, image_size), np.float32)}) for n in (1, 3)]
    if not all(np.array_equal(a, b) for a, b in zip(*values)):
        raise ValueError("the graph's padding depends on the batch size; it cannot be folded")
    folded = {name: f"{name}__folded" for name in pad_inputs}
    graph_model.graph.initializer.extend(numpy_helper.from_array(np.asarray(v, np.int64), folded[name])
                                         for name, v in zip(pad_inputs, values[0]))
    for node in graph_model.graph.node:
        if node.op_type == "Pad" and len(node.input) > 1 and node.input[1] in folded:
            node.input[1] = folded[node.input[1]]
    _prune(graph_model)
    return graph_model.SerializeToString()


def _prune(graph_model) -> None:
    """Drop nodes and initializers that no graph output depends on."""
    needed = {o.name for o in graph_model.graph.output}
    kept = []
    for node in reversed(graph_model.graph.node):
        if any(o in needed for o in node.output):
            kept.append(node)
            needed.update(i for i in node.input if i)
    del graph_model.graph.node[:]
    graph_model.graph.node.extend(reversed(kept))
    initializers = [t for t in graph_model.graph.initializer if t.name in needed]
    del graph_model.graph.initializer[:]
    graph_model.graph.initializer.extend(initializers)


def quantize_int8(model: bytes, calibration: np.ndarray, image_size: int) -> bytes:
    """The fp32 trunk graph `model` as a static int8 graph calibrated on `calibration` ((N, 3, S, S) float32
    normalised pixels, what `FrameFeatureExtractor.preprocess` gives)."""
    import tempfile

    import onnx
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static

    folded = onnx.load_from_string(fold_fixed_padding(model, image_size))
    convs = [n.name for n in folded.graph.node if n.op_type == "Conv"]
    batches = [{"pixels": np.ascontiguousarray(calibration[i:i + CALIBRATION_BATCH], dtype=np.float32)}
               for i in range(0, len(calibration), CALIBRATION_BATCH)]

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self.items = iter(batches)

        def get_next(self):
            return next(self.items, None)

    with tempfile.TemporaryDirectory(prefix="pvse-int8-") as tmp:
        source, target = Path(tmp) / "fp32.onnx", Path(tmp) / "int8.onnx"
        onnx.save(folded, source)
        quantize_static(str(source), str(target), Reader(), quant_format=QuantFormat.QDQ, per_channel=True,
                        reduce_range=True, activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                        nodes_to_exclude=[convs[0], convs[-1]] if len(convs) > 2 else [])
        return target.read_bytes()


def calibration_files(gallery: Path | None = None, clips: int | None = None) -> list[Path]:
    """`clips` (default CALIBRATION_CLIPS) GIFs spread evenly over the bundled emoji gallery (sorted by name): the
    calibration set."""
    clips = clips or CALIBRATION_CLIPS
    if gallery is None:
        from ..defaults import default_gallery
        gallery = default_gallery()
    files = sorted(Path(gallery).glob("*.gif"))
    if not files:
        raise FileNotFoundError(f"no calibration GIFs for the int8 frame CNN in {gallery}")
    step = max(1, len(files) // clips)
    return files[::step][:clips]


def calibration_digest(files: Sequence[Path]) -> str:
    """sha256 over the calibration files' names and bytes (part of the int8 cache key)."""
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.name.encode() + b"|" + path.read_bytes() + b"|")
    return digest.hexdigest()


def calibration_pixels(files: Sequence[Path], preprocess: Callable[[np.ndarray], object], num_frames: int = 8,
                       frame_size: tuple[int, int] | None = None) -> np.ndarray:
    """(N, 3, S, S) float32: `num_frames` frames of each file, decoded and preprocessed as indexing does."""
    from ..media import decode_clip

    out = []
    for path in files:
        frames = decode_clip(path, num_frames=num_frames, max_size=frame_size).frames
        out.append(np.asarray(preprocess(frames), dtype=np.float32))
    return np.concatenate(out)
