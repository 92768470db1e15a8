"""Import the official PVSE release (github.com/yalesong/pvse): its `.pth` weights and pickled vocabulary.

The reference `model.py` names its parameters `img_enc.cnn.*` (a torchvision ResNet with `fc` emptied),
`img_enc.rnn.*` (bidirectional GRU 2048 -> H/2), `img_enc.pie_net.{attention.w_1, attention.w_2, fc, layer_norm}`
and the same under `txt_enc.` plus `txt_enc.embed.weight` (|V| x 300). Our PVSE uses those names already, so
conversion is: unwrap the file, normalise key spellings, split the CNN off into torchvision names (stored as
`frame_cnn.safetensors`), infer the sizes from the shapes, and check every tensor lands somewhere.

The published checkpoints were evaluated with `--legacy`: the global feature is the GRU output at the last
step, whose backward half has seen only the last item (`legacy_global=True` in our config).

Their frames are prepared as the official evaluation prepared them (`official_preprocessing`, recorded in the
converted config with the dataset): MRW and TGIF clips resampled at 8 frames a second (the data were re-extracted
with `ffmpeg -r 8`), the loader's strided frames of that timeline (TGIF skips 6 at each end), each frame's shorter
side resized to 256 with OpenCV and stored as JPEG, then torchvision's Resize(256) + CenterCrop(224) and pixels in
[0, 1]: the official video transform's Normalize discarded its result under the pinned torchvision 0.3.0.
docs/model.md has the details and what is matched.
"""
from __future__ import annotations

import argparse
import copyreg
import io
import json
import pickle
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

import torch

from .checkpoints import CONFIG_FILE, save_checkpoint
from .config import PVSEConfig
from .errors import WeightsError
from .features import vocab as vocab_table
from .features.backbones import IMAGENET_MEAN, IMAGENET_STD, RESNET152
from .features.preprocessing import FramePreprocessing
from .integrity import listing, mismatch
from .model import PVSE

OFFICIAL_REPO = "https://github.com/yalesong/pvse"
OFFICIAL_SPECIALS = tuple(vocab_table.SPECIALS)
DEFAULT_NUM_FRAMES = 8  # when neither the dataset nor the file says
DATASETS = ("mrw", "tgif", "other")
OFFICIAL_NUM_FRAMES = {"mrw": 4, "tgif": 8}  # --max_video_length of the official README's evaluation commands
OFFICIAL_FPS = 8.0  # the official data preparation re-extracted every clip with `ffmpeg -r 8`


def official_preprocessing(dataset: str, normalize: bool = False) -> FramePreprocessing:
    """The frames the official evaluation fed the CNN for `dataset` (see the module doc and docs/model.md).

    "mrw" / "tgif": 8 fps timeline, that loader's strided frames, OpenCV 256 + JPEG storage, Resize(256) +
    CenterCrop(224). "other" (a model trained on data of one's own): the same transform on the file's own frames,
    equal-interval frames without a margin (the MRW rule), no storage step (how such data were stored is unknown).
    normalize: ImageNet mean / std, which the official video transform meant to apply but, under the pinned
    torchvision 0.3.0, did not (`F.normalize` returns a normalised copy, which it discarded); 0.2.1 normalised.
    """
    if dataset not in DATASETS:
        raise WeightsError(f"dataset must be one of {', '.join(DATASETS)}, got {dataset!r}")
    official = dataset != "other"
    return FramePreprocessing(size=224, resize=256, mean=IMAGENET_MEAN, std=IMAGENET_STD, interpolation="bilinear",
                              sampling=dataset if official else "mrw", timeline_fps=OFFICIAL_FPS if official else None,
                              normalize=normalize, prescale=256 if official else None,
                              jpeg_quality=95 if official else None)


def guess_dataset(pth_path: str | Path, args: Mapping[str, Any]) -> tuple[str, str]:
    """(dataset, why): the training options' --data_name when stored, else the file name (mrw_pvse.pth), else
    "other"."""
    stored = str(args.get("data_name") or "").lower()
    if stored in DATASETS:
        return stored, "from the file's training options"
    name = Path(pth_path).name.lower()
    for dataset in ("mrw", "tgif"):
        if name.startswith(dataset):
            return dataset, "from the file name"
    return "other", "neither the file name nor its training options name MRW or TGIF"


_RNN_KEYS = tuple(f"rnn.{w}_{kind}_l0{suffix}" for suffix in ("", "_reverse")
                  for w in ("weight", "bias") for kind in ("ih", "hh"))
_PIE_KEYS = ("pie_net.attention.w_1.weight", "pie_net.attention.w_2.weight", "pie_net.fc.weight",
             "pie_net.fc.bias", "pie_net.layer_norm.weight", "pie_net.layer_norm.bias")
ENCODER_KEYS = _RNN_KEYS + _PIE_KEYS
CNN_PREFIX = "img_enc.cnn."
# nn.Sequential(*resnet.children()) numbers its children: conv1, bn1, relu, maxpool, layer1-4, avgpool, fc
_SEQUENTIAL_RESNET = {"0": "conv1", "1": "bn1", "4": "layer1", "5": "layer2", "6": "layer3", "7": "layer4"}
_DROPPED_CNN_HEADS = {"fc", "9"}


def _normalise_key(key: str) -> str:
    """Drop DataParallel `module.` segments; the earliest release called PIE-Net `our_model`."""
    parts = [("pie_net" if p == "our_model" else p) for p in key.split(".") if p != "module"]
    return ".".join(parts)


def unwrap_official(obj: Any) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """The state dict (and training options, when stored) from whatever `torch.load` gave back.

    Accepts a bare state dict (the published files), a training snapshot {'model': ..., 'args': ...}
    (train.py's `ckpt.pth.tar`), and the oldest format, a pair (img_enc state, txt_enc state).
    """
    args: dict[str, Any] = {}
    if isinstance(obj, Mapping):
        for wrapper in ("model", "state_dict"):
            if isinstance(obj.get(wrapper), Mapping):
                raw_args = obj.get("args")
                args = dict(vars(raw_args)) if isinstance(raw_args, argparse.Namespace) else \
                    dict(raw_args) if isinstance(raw_args, Mapping) else {}
                obj = obj[wrapper]
                break
        state = dict(obj)
    elif isinstance(obj, (list, tuple)) and len(obj) == 2 and all(isinstance(o, Mapping) for o in obj):
        state = {f"{side}.{k}": v for side, part in zip(("img_enc", "txt_enc"), obj) for k, v in part.items()}
    else:
        raise WeightsError(f"not an official PVSE checkpoint: expected a state dict, got {type(obj).__name__}.")
    bad = sorted(str(k) for k, v in state.items() if not isinstance(k, str) or not isinstance(v, torch.Tensor))
    if bad:
        raise WeightsError(f"not an official PVSE checkpoint: entries that are not named tensors: {listing(bad, 8)}.")
    return {_normalise_key(k): v for k, v in state.items()}, args


@lru_cache(maxsize=1)
def _resnet152_layout() -> dict[str, tuple[torch.Size, torch.dtype]]:
    """Names, shapes and dtypes of torchvision's ResNet-152 without its classifier (built on 'meta': no memory)."""
    import torchvision

    with torch.device("meta"):
        net = torchvision.models.resnet152(weights=None)
    return {k: (v.shape, v.dtype) for k, v in net.state_dict().items() if not k.startswith("fc.")}


def _torchvision_cnn_key(key: str) -> str | None:
    """'4.0.conv1.weight' or 'layer1.0.conv1.weight' -> 'layer1.0.conv1.weight'; classifier keys -> None."""
    head, _, rest = key.partition(".")
    if head in _DROPPED_CNN_HEADS:
        return None
    head = _SEQUENTIAL_RESNET.get(head, head)
    return f"{head}.{rest}" if rest else head


def convert_frame_cnn(cnn_state: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Official `img_enc.cnn.*` tensors (prefix removed; named or nn.Sequential layout) -> torchvision ResNet-152
    names without `fc.*`, as `build_frame_extractor("resnet152", state_dict=...)` expects."""
    layout = _resnet152_layout()
    mapped: dict[str, torch.Tensor] = {}
    for key, value in cnn_state.items():
        name = _torchvision_cnn_key(key)
        if name is not None:
            mapped[name] = value
    for name, (shape, dtype) in layout.items():  # checkpoints from PyTorch < 0.4.1 have no BN step counters
        if name.endswith("num_batches_tracked") and name not in mapped:
            mapped[name] = torch.zeros(shape, dtype=dtype)
    detail = mismatch({k: shape for k, (shape, _) in layout.items()}, mapped)
    if detail:
        raise WeightsError(f"{CNN_PREFIX}* is not a torchvision ResNet-152 ({detail}). pvse-gif imports the official "
                           "video models, whose frame CNN is ResNet-152 (--cnn_type resnet152).")
    return {k: (v.detach().to(torch.float32) if v.is_floating_point() else v.detach()).contiguous()
            for k, v in mapped.items()}


def _check_vocab(words: list[str], vocab_size: int) -> list[str]:
    if len(words) != vocab_size:
        raise WeightsError(f"the vocabulary has {len(words)} words but txt_enc.embed.weight has {vocab_size} rows: "
                           "it belongs to another model (use the vocab_*.pkl of the same dataset).")
    if len(set(words)) != len(words):
        raise WeightsError("the vocabulary lists some words twice; it cannot index an embedding table.")
    absent = [w for w in OFFICIAL_SPECIALS if w not in words]
    if absent:
        raise WeightsError(f"the vocabulary lacks the special tokens {absent}; the official vocabularies start with "
                           f"{list(OFFICIAL_SPECIALS)}.")
    return list(words)


def _require_keys(state: Mapping[str, torch.Tensor]) -> None:
    if "img_enc.fc.weight" in state and "img_enc.rnn.weight_ih_l0" not in state:
        raise WeightsError("this is an official *image* model (COCO, --max_video_length 1: img_enc.fc, no img_enc.rnn); "
                           "pvse-gif imports the video models (MRW, TGIF).")
    required = [f"{side}.{k}" for side in ("img_enc", "txt_enc") for k in ENCODER_KEYS] + ["txt_enc.embed.weight"]
    missing = [k for k in required if k not in state]
    if not any(k.startswith(CNN_PREFIX) for k in state):
        missing.append(CNN_PREFIX + "*")
    if missing:
        no_pie = all(k in missing for k in ("img_enc.pie_net.fc.weight", "txt_enc.pie_net.fc.weight")) and \
            "img_enc.rnn.weight_ih_l0" in state
        hint = (" The model was trained without --img_attention/--txt_attention (no PIE-Net), which pvse-gif does not "
                "support." if no_pie else "")
        raise WeightsError(f"not an official PVSE video checkpoint: missing {listing(missing, 8)}.{hint}")


def convert_official_state_dict(
    state_dict: Mapping[str, torch.Tensor],
    vocab_words: list[str] | None,
    *,
    num_embeds: int | None = None,
    legacy: bool = True,
    num_frames: int = DEFAULT_NUM_FRAMES,
    dataset: str = "other",
    normalize: bool = False,
) -> tuple[PVSEConfig, dict[str, torch.Tensor], dict[str, torch.Tensor], list[str] | None]:
    """Official state dict -> (config, our model state, frame CNN state, vocabulary).

    dataset ("mrw", "tgif", "other") chooses the frame preprocessing (`official_preprocessing`); normalize: ImageNet
    mean / std on the CNN's input, off as the official video transform (under torchvision 0.3.0) left it.

    K, H, the frame and word sizes and |V| are read from the shapes (w_2 is K x d_in/2, the GRU's
    weight_hh is 3(H/2) x H/2); `num_embeds`, when given, must agree. `legacy` keeps the reference's
    last-step GRU output as global feature, which the published checkpoints were trained with.
    """
    state, _ = unwrap_official(state_dict)
    _require_keys(state)
    embed_dim = 2 * state["img_enc.rnn.weight_hh_l0"].shape[1]
    frame_dim = state["img_enc.rnn.weight_ih_l0"].shape[1]
    vocab_size, word_dim = state["txt_enc.embed.weight"].shape
    heads = {side: state[f"{side}.pie_net.attention.w_2.weight"].shape[0] for side in ("img_enc", "txt_enc")}
    if heads["img_enc"] != heads["txt_enc"]:
        raise WeightsError(f"video and text PIE-Nets have different numbers of heads ({heads['img_enc']} vs "
                           f"{heads['txt_enc']}); the file mixes two models.")
    k = heads["img_enc"]
    if num_embeds is not None and num_embeds != k:
        raise WeightsError(f"num_embeds={num_embeds} was asked for but the checkpoint has K={k} attention heads "
                           "(img_enc.pie_net.attention.w_2.weight).")
    if frame_dim != RESNET152.dim:
        raise WeightsError(f"the video GRU reads {frame_dim}-d frame features; only ResNet-152 (2048-d) models can be "
                           "imported.")
    config = PVSEConfig(num_embeds=k, embed_dim=embed_dim, frame_features=RESNET152.name, frame_dim=frame_dim,
                        word_features=vocab_table.NAME, word_dim=word_dim, num_frames=num_frames,
                        dropout=0.0, legacy_global=legacy, vocab_size=vocab_size,
                        preprocessing=official_preprocessing(dataset, normalize),
                        extra={"converted_from": OFFICIAL_REPO, "official_dataset": dataset})
    model = PVSE(config)
    expected = model.state_dict()
    ours = {key: value for key, value in state.items() if not key.startswith(CNN_PREFIX)}
    detail = mismatch(expected, ours)
    if detail:
        raise WeightsError(f"the checkpoint does not fit a PVSE model with K={k}, H={embed_dim} ({detail}).")
    model.load_state_dict({key: value.to(torch.float32) for key, value in ours.items()})
    frame_cnn_state = convert_frame_cnn({key[len(CNN_PREFIX):]: v for key, v in state.items()
                                         if key.startswith(CNN_PREFIX)})
    vocab = None if vocab_words is None else _check_vocab(list(vocab_words), vocab_size)
    our_state = {key: value.detach().contiguous() for key, value in model.state_dict().items()}
    return config, our_state, frame_cnn_state, vocab


class _OfficialVocabulary:
    """Stand-in for the reference `vocab.Vocabulary` (idx, word2idx, idx2word): unpickling keeps its data only."""


class _VocabUnpickler(pickle.Unpickler):
    """Resolves only the official Vocabulary class (and the plain-object helpers of old protocols)."""

    _VOCAB_CLASSES = {("vocab", "Vocabulary"), ("__main__", "Vocabulary")}
    _HELPERS = {("copyreg", "_reconstructor"): copyreg._reconstructor, ("copy_reg", "_reconstructor"): copyreg._reconstructor,
                ("builtins", "object"): object, ("__builtin__", "object"): object}

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in self._VOCAB_CLASSES:
            return _OfficialVocabulary
        if (module, name) in self._HELPERS:
            return self._HELPERS[(module, name)]
        raise pickle.UnpicklingError(f"it refers to '{module}.{name}', which the official vocabulary never does")


def _words_from_mapping(data: Mapping[Any, Any], path: Path) -> list[str]:
    if isinstance(data.get("idx2word"), Mapping):
        pairs = {int(i): w for i, w in data["idx2word"].items()}
    elif isinstance(data.get("word2idx"), Mapping):
        pairs = {int(i): w for w, i in data["word2idx"].items()}
    elif data and all(isinstance(v, int) for v in data.values()):
        pairs = {int(i): w for w, i in data.items()}
    else:
        raise WeightsError(f"{path}: a vocabulary mapping needs 'idx2word', 'word2idx' or word -> index entries.")
    if sorted(pairs) != list(range(len(pairs))):
        raise WeightsError(f"{path}: vocabulary indices are not 0..{len(pairs) - 1} without gaps.")
    words = [pairs[i] for i in range(len(pairs))]
    return [w.decode("utf-8") if isinstance(w, bytes) else w for w in words]


def load_official_vocab(path: str | Path) -> list[str]:
    """Words in index order from the official `vocab/<data>_vocab.pkl` (read without running pickled code),
    or from JSON: a list of words, a word -> index dict, or {"idx2word": ...} / {"word2idx": ...}."""
    path = Path(path).expanduser()
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise WeightsError(f"cannot read vocabulary {path}: {exc.strerror or exc}") from exc
    if raw.lstrip()[:1] in (b"[", b"{"):
        try:
            data = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise WeightsError(f"{path} is not valid JSON: {exc}") from exc
    else:
        try:
            data = _VocabUnpickler(io.BytesIO(raw), encoding="utf-8").load()
        except pickle.UnpicklingError as exc:
            raise WeightsError(f"{path} is not an official PVSE vocabulary pickle: {exc}. Refusing to load it.") from exc
        except (EOFError, ValueError, TypeError, AttributeError, IndexError, KeyError) as exc:
            raise WeightsError(f"{path} is damaged or not a vocabulary pickle: {exc!r}") from exc
        if isinstance(data, _OfficialVocabulary):
            data = vars(data)
    if isinstance(data, list):
        words = data
    elif isinstance(data, Mapping):
        words = _words_from_mapping(data, path)
    else:
        raise WeightsError(f"{path}: expected a vocabulary, found {type(data).__name__}.")
    if not words or not all(isinstance(w, str) for w in words):
        raise WeightsError(f"{path}: a vocabulary must be a non-empty list of strings.")
    return words


def load_official_pth(path: str | Path) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """torch.load with weights_only=True (no code runs; train.py's argparse options are allowed as data)."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise WeightsError(f"{path} not found: pass the official checkpoint, e.g. mrw_pvse.pth.")
    try:
        with torch.serialization.safe_globals([argparse.Namespace]):
            obj = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        culprit = next((line.strip().rstrip(".") for line in str(exc).splitlines() if "GLOBAL" in line), None)
        if culprit is None:
            raise WeightsError(f"{path} is damaged or not a PyTorch checkpoint (it cannot be unpickled).") from exc
        raise WeightsError(f"{path} holds more than tensors and was not loaded, as it could run code ({culprit}); "
                           "the official checkpoints are plain state dicts.") from exc
    except (RuntimeError, EOFError, OSError, ValueError, AttributeError) as exc:
        raise WeightsError(f"{path} is damaged or not a PyTorch checkpoint: {exc}") from exc
    return unwrap_official(obj)


def convert_official_checkpoint(
    pth_path: str | Path,
    vocab_path: str | Path,
    out_dir: str | Path,
    *,
    legacy: bool | None = None,
    num_frames: int | None = None,
    num_embeds: int | None = None,
    dataset: str | None = None,
    normalize: bool = False,
) -> Path:
    """Convert an official `.pth` + vocabulary into a pvse-gif checkpoint directory (written atomically).

    `legacy` and `num_frames` default to the training options stored in the file when present
    (train.py snapshots), else to the published models' settings: legacy GRU output, T as the official
    evaluation of the dataset (4 for MRW, 8 for TGIF and others). `dataset` defaults to `guess_dataset`.
    """
    out = Path(out_dir).expanduser()
    if out.exists() and not (out / CONFIG_FILE).is_file() and (not out.is_dir() or any(out.iterdir())):
        raise WeightsError(f"{out} exists and is not a pvse-gif checkpoint; refusing to replace it (choose another --out).")
    state, args = load_official_pth(pth_path)
    if args.get("order"):
        raise WeightsError(f"{pth_path} was trained with --order (order embeddings, absolute values); "
                           "pvse-gif scores with cosine similarity only.")
    if legacy is None:
        legacy = bool(args.get("legacy", True))
    if dataset is None:
        dataset, _ = guess_dataset(pth_path, args)
    if num_frames is None:
        num_frames = int(args.get("max_video_length") or OFFICIAL_NUM_FRAMES.get(dataset, DEFAULT_NUM_FRAMES))
    words = load_official_vocab(vocab_path)
    try:
        config, our_state, frame_cnn_state, vocab = convert_official_state_dict(
            state, words, num_embeds=num_embeds, legacy=legacy, num_frames=num_frames, dataset=dataset,
            normalize=normalize)
    except WeightsError as exc:
        raise WeightsError(f"{pth_path}: {exc}") from exc
    model = PVSE(config)
    model.load_state_dict(our_state)
    metadata = {"converted_from": Path(pth_path).name, "source": OFFICIAL_REPO, "license": "other",
                "license_note": "The official PVSE code and models are free to use for academic purposes only."}
    if args.get("data_name"):
        metadata["dataset"] = str(args["data_name"])
    return save_checkpoint(model, out, frame_cnn_state=frame_cnn_state, vocab=vocab, metadata=metadata)
