"""The project's checkpoint format: a directory (or Hub repo) with `config.json` + `model.safetensors`.

Optional companions, required by the config: `frame_cnn.safetensors` (a CNN carried by the checkpoint, e.g.
ResNet-152 from the official release) and `vocab.json` (the word list of a learned embedding table).
Saving is atomic: files are written to a temporary directory that replaces the target in one rename.
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from ._hub import fetch_file, is_repo_id
from .config import PVSEConfig
from .devices import DEFAULT_DEVICE
from .errors import DeviceError, WeightsError
from .features.registry import frame_extractor_spec, word_features_spec
from .integrity import file_sha256, mismatch
from .limits import MAX_CONFIG_BYTES, parse_json
from .model import PVSE

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"
FRAME_CNN_FILE = "frame_cnn.safetensors"
VOCAB_FILE = "vocab.json"


@dataclass
class Checkpoint:
    model: PVSE
    config: PVSEConfig
    source: str
    fingerprint: str  # hash of config + weights: identifies what built an index
    frame_cnn_state: dict[str, torch.Tensor] | None = None
    vocab: list[str] | None = None
    metadata: dict = field(default_factory=dict)


def checkpoint_files(config: PVSEConfig) -> list[str]:
    """The files a checkpoint of this config is made of: config and weights, plus what its extractors carry
    (the frame CNN's weights, the vocabulary of a learned word table), as their specs say."""
    files = [CONFIG_FILE, WEIGHTS_FILE]
    if frame_extractor_spec(config.frame_features).carried:
        files.append(FRAME_CNN_FILE)
    if word_features_spec(config.word_features).carried:
        files.append(VOCAB_FILE)
    return files


def resolve_device(device: str | torch.device | None = "auto") -> torch.device:
    """'auto' -> CUDA when available, else CPU; 'cuda' without CUDA is a clear error."""
    if device is None or str(device) == DEFAULT_DEVICE:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise DeviceError("--device cuda was asked for but CUDA is not available here; use --device cpu or auto.")
    return device


def _fingerprint(config_text: str, weights_path: Path) -> str:
    return file_sha256(weights_path, prefix=config_text.encode())[:16]


def save_checkpoint(model: PVSE, out_dir: str | Path, *, frame_cnn_state: dict[str, torch.Tensor] | None = None,
                    vocab: list[str] | None = None, metadata: dict | None = None) -> Path:
    """Write `model` (and its companions) to `out_dir` atomically; an existing checkpoint there is replaced."""
    out_dir = Path(out_dir)
    if out_dir.exists() and (not out_dir.is_dir() or (any(out_dir.iterdir()) and not (out_dir / CONFIG_FILE).is_file())):
        raise WeightsError(f"{out_dir} exists and is not a pvse-gif checkpoint; refusing to replace it. "
                           "Choose another output directory or remove it yourself.")
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.tmp-", dir=out_dir.parent))
    try:
        (tmp / CONFIG_FILE).write_text(model.config.to_json() + "\n")
        state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
        save_file(state, str(tmp / WEIGHTS_FILE), metadata={"format": "pt", **{k: str(v) for k, v in (metadata or {}).items()}})
        if frame_cnn_state is not None:
            save_file({k: v.detach().cpu().contiguous() for k, v in frame_cnn_state.items()}, str(tmp / FRAME_CNN_FILE))
        if vocab is not None:
            (tmp / VOCAB_FILE).write_text(json.dumps(vocab, ensure_ascii=False))
        if out_dir.exists():
            old = out_dir.with_name(f".{out_dir.name}.old-{os.getpid()}")
            os.replace(out_dir, old)
            os.replace(tmp, out_dir)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, out_dir)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out_dir


def read_weights_metadata(path: str | Path) -> dict[str, str]:
    """The `metadata` given to save_checkpoint, as stored (strings) in the header of a model.safetensors."""
    from safetensors import safe_open
    try:
        with safe_open(str(path), framework="pt") as fh:
            meta = dict(fh.metadata() or {})
    except (SafetensorError, OSError) as exc:
        raise WeightsError(f"cannot read the metadata of {path}: {exc}") from exc
    meta.pop("format", None)
    return meta


def _read_safetensors(path: Path, what: str, ref: str) -> dict[str, torch.Tensor]:
    try:
        return load_file(str(path), device="cpu")
    except (SafetensorError, OSError, ValueError) as exc:
        raise WeightsError(f"{what} of '{ref}' ({path}) is damaged or not a safetensors file: {exc}. "
                           "Re-download or re-train the checkpoint.") from exc


def load_checkpoint(ref: str | Path, device: str | torch.device | None = "auto") -> Checkpoint:
    """Load a checkpoint from a local directory or a Hugging Face Hub repo id (see `pvse._hub`)."""
    ref = str(ref)
    if not is_repo_id(ref) and not Path(ref).expanduser().is_dir():
        raise WeightsError(f"checkpoint '{ref}' not found: expected a directory with {CONFIG_FILE} and {WEIGHTS_FILE} "
                           "or a Hugging Face repo id like 'user/repo'.")
    config_path = fetch_file(ref, CONFIG_FILE)
    try:
        with open(config_path, "rb") as fh:
            config_text = fh.read(MAX_CONFIG_BYTES + 1).decode("utf-8")
        config = PVSEConfig.from_dict(parse_json(config_text, CONFIG_FILE, MAX_CONFIG_BYTES))
    except (OSError, ValueError, TypeError) as exc:
        raise WeightsError(f"{config_path} is not a valid pvse-gif config: {exc}") from None
    except WeightsError as exc:  # a field of the wrong type or out of range: name the file, say what to do
        raise WeightsError(f"{config_path}: {str(exc).removeprefix('config.json: ')} (a damaged or tampered "
                           "checkpoint: re-download or re-export it)") from None
    weights_path = fetch_file(ref, WEIGHTS_FILE)
    state = _read_safetensors(weights_path, WEIGHTS_FILE, ref)
    model = PVSE(config)
    expected = model.state_dict()
    detail = mismatch(expected, state)
    if detail:
        raise WeightsError(f"{WEIGHTS_FILE} of '{ref}' does not match its {CONFIG_FILE} ({detail}). "
                           "The files come from different models; re-export the checkpoint.")
    model.load_state_dict(state)
    companions = checkpoint_files(config)
    frame_cnn_state = None
    if FRAME_CNN_FILE in companions:
        frame_cnn_state = _read_safetensors(fetch_file(ref, FRAME_CNN_FILE), FRAME_CNN_FILE, ref)
    vocab = None
    if VOCAB_FILE in companions:
        vocab = json.loads(fetch_file(ref, VOCAB_FILE).read_text())
        if len(vocab) != config.vocab_size:
            raise WeightsError(f"{VOCAB_FILE} of '{ref}' has {len(vocab)} words but the config says {config.vocab_size}.")
    model.to(resolve_device(device)).eval()
    return Checkpoint(model=model, config=config, source=ref, fingerprint=_fingerprint(config_text, weights_path),
                      frame_cnn_state=frame_cnn_state, vocab=vocab, metadata=read_weights_metadata(weights_path))
