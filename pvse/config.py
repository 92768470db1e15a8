"""Model configuration as data: everything needed to rebuild a PVSE model, stored as `config.json`."""
from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from .errors import WeightsError
from .features.preprocessing import FramePreprocessing
from .limits import MAX_EMBED_DIM, MAX_FEATURE_DIM, MAX_FRAMES, MAX_HEADS, MAX_VOCAB, whole

CONFIG_VERSION = 1
RESIDUALS = ("sigmoid", "centred")


@dataclass(frozen=True)
class PVSEConfig:
    """Hyper-parameters of a PVSE model (paper section 3) and the frozen extractors it was trained on.

    num_embeds: K, the number of attention heads / embeddings per instance (0 = global feature only).
    embed_dim: H, the joint embedding size (GRUs have H/2 units per direction).
    frame_features / word_features: names of extractors in `pvse.features.registry`; their output sizes are
    frame_dim / word_dim. A word-feature spec that is `learned` (the official release's layout) means an
    embedding table of vocab_size rows stored in the checkpoint.
    legacy_global: use the reference code's "last GRU output" as the global feature (needed by the
    published checkpoints) instead of the final hidden states of both directions.
    residual: PIE-Net's local residual Upsilon: "sigmoid" (the paper's eq. 2, values in (0, 1)) or "centred"
    (2 sigmoid - 1, values in (-1, 1)). Sigmoid residuals all start near 0.5, so the K residuals of an instance
    are nearly parallel and the diversity loss barely moves them; centred ones start near 0.
    preprocessing: how frames are sampled, resized and normalised for the frame CNN when the model was trained
    otherwise than the extractor's default (a converted official checkpoint); see `frame_preprocessing`.
    """

    num_embeds: int = 4
    embed_dim: int = 512
    frame_features: str = "efficientnet-lite0"
    frame_dim: int | None = None  # None: the frame extractor's spec says
    word_features: str = "glove-6b-50d"
    word_dim: int | None = None  # None: the word-feature spec says
    num_frames: int = 8
    dropout: float = 0.0
    legacy_global: bool = False
    vocab_size: int = 0
    residual: str = "sigmoid"
    preprocessing: FramePreprocessing | None = None  # None: the frame extractor's own (its spec)
    extra: dict[str, Any] = field(default_factory=dict)
    version: int = CONFIG_VERSION

    def __post_init__(self) -> None:
        from .features.registry import frame_extractor_spec, word_features, word_features_spec
        self._check_types()
        if self.frame_dim is None:
            object.__setattr__(self, "frame_dim", frame_extractor_spec(self.frame_features).dim)
        if self.word_dim is None:
            object.__setattr__(self, "word_dim", word_features_spec(self.word_features).dim)
        if self.word_dim is None:
            raise WeightsError(f"word_features '{self.word_features}' has no fixed size: give word_dim")
        if self.num_embeds < 0:
            raise WeightsError(f"num_embeds must be >= 0, got {self.num_embeds}")
        if self.embed_dim < 2 or self.embed_dim % 2:
            raise WeightsError(f"embed_dim must be an even number >= 2, got {self.embed_dim}")
        if self.frame_dim < 2 or self.word_dim < 2:
            raise WeightsError("frame_dim and word_dim must be >= 2")
        if self.num_frames < 1:
            raise WeightsError(f"num_frames must be >= 1, got {self.num_frames}")
        if isinstance(self.preprocessing, dict):
            known = {f.name for f in dataclasses.fields(FramePreprocessing)}
            unknown, missing = sorted(set(self.preprocessing) - known), {"size", "mean", "std"} - set(self.preprocessing)
            if unknown or missing:
                raise WeightsError(f"config.json: preprocessing has unknown fields {unknown} or lacks {sorted(missing)}; "
                                   "it was written by a newer or different version of pvse-gif")
            object.__setattr__(self, "preprocessing", FramePreprocessing(**self.preprocessing))
        if self.residual not in RESIDUALS:
            raise WeightsError(f"residual must be one of {', '.join(RESIDUALS)}, got '{self.residual}'")
        spec = word_features().get(self.word_features)
        if spec is not None and spec.learned and self.vocab_size < 1:
            raise WeightsError(f"word_features '{self.word_features}' is a learned table: it needs vocab_size >= 1")

    def _check_types(self) -> None:
        """Each field of its type and within `pvse.limits` (before anything is sized by it); WeightsError if not."""
        bounds = {"num_embeds": (0, MAX_HEADS), "embed_dim": (2, MAX_EMBED_DIM), "frame_dim": (2, MAX_FEATURE_DIM),
                  "word_dim": (2, MAX_FEATURE_DIM), "num_frames": (1, MAX_FRAMES), "vocab_size": (0, MAX_VOCAB),
                  "version": (0, CONFIG_VERSION)}
        try:
            for name, (low, high) in bounds.items():
                value = getattr(self, name)
                if value is not None or name not in ("frame_dim", "word_dim"):
                    whole(value, name, low, high)
        except ValueError as exc:
            raise WeightsError(f"config.json: {exc}") from None
        texts = {"frame_features": self.frame_features, "word_features": self.word_features, "residual": self.residual}
        for name, value in texts.items():
            if not isinstance(value, str):
                raise WeightsError(f"config.json: {name} must be text, got {value!r:.60}")
        dropout = self.dropout
        if isinstance(dropout, bool) or not isinstance(dropout, int | float) or not 0 <= dropout < 1:
            raise WeightsError(f"config.json: dropout must be a number from 0 to below 1, got {dropout!r:.60}")
        if not isinstance(self.legacy_global, bool) or not isinstance(self.extra, dict):
            raise WeightsError("config.json: legacy_global must be true or false and extra a JSON object")
        if self.preprocessing is not None and not isinstance(self.preprocessing, dict | FramePreprocessing):
            raise WeightsError("config.json: preprocessing must be a JSON object")

    def to_dict(self) -> dict[str, Any]:
        """The config as JSON-ready data; `preprocessing` only when set, so older configs read back unchanged."""
        data = dataclasses.asdict(self)
        if data["preprocessing"] is None:
            del data["preprocessing"]
        return data

    def frame_preprocessing(self) -> FramePreprocessing:
        """The frame preprocessing this model expects: its own when the config names one, else its extractor's."""
        from .features.registry import frame_extractor_spec
        return self.preprocessing or frame_extractor_spec(self.frame_features).preprocessing

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PVSEConfig:
        if not isinstance(data, dict):
            raise WeightsError("config.json must hold a JSON object")
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise WeightsError(
                f"config.json has unknown fields {unknown}; it was written by a newer or different "
                "version of pvse-gif. Upgrade pvse-gif or remove those fields."
            )
        version = data.get("version", CONFIG_VERSION)
        if isinstance(version, int) and not isinstance(version, bool) and version > CONFIG_VERSION:
            raise WeightsError(
                f"config.json is version {data['version']}, this pvse-gif reads up to {CONFIG_VERSION}: upgrade pvse-gif."
            )
        return cls(**data)

    def fingerprint(self) -> str:
        """Short hash of the architecture (not the weights)."""
        return hashlib.sha256(self.to_json().encode()).hexdigest()[:16]
