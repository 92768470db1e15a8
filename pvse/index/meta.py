"""`IndexMeta`: what an index says about itself (`index.json`, or a Milvus gallery's meta row), typed.

The one place that reads and writes the metadata's keys. Heads, as the format counts them:

- `attention_heads`: K, the model's attention heads (`num_attention_heads`; 0 = one global embedding, no
  attention; `attention.npy` is (M, K, T));
- `gif_heads`: embeddings each clip gets from its frames, max(K, 1) (= a query's embeddings);
- `text_heads`: embeddings each clip gets from its caption or name (0: pixels only), stored after the GIF heads;
- `embeddings_per_clip`: gif_heads + text_heads (`num_embeds` on disk; `embeddings.npy` is (M, this, H) and
  the vector id is row * this + head).

The dictionary form (`to_dict`) keeps the on-disk key order, so an index written through it is the same file.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..features.precision import DEFAULT_FRAME_PRECISION as DEFAULT_PRECISION
from ..limits import MAX_CLIPS, MAX_EMBED_DIM, MAX_FRAMES, MAX_HEADS, whole

FORMAT_NAME = "pvse-gif-index"
FORMAT_VERSION = 1
META_FILE = "index.json"  # an index folder's metadata file; its presence marks a complete index


@dataclass
class WeightsRef:
    """The weights that built the index: a Hub repo id or a path (relative to the index folder when marked)."""

    ref: str | None
    fingerprint: str
    ref_is_relative_path: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"ref": self.ref, "fingerprint": self.fingerprint, "ref_is_relative_path": self.ref_is_relative_path}


@dataclass
class IndexMeta:
    """Typed `index.json`; see the module doc for the head counts."""

    weights: WeightsRef
    config: dict[str, Any]  # the model's PVSEConfig.to_dict()
    attention_heads: int
    embeddings_per_clip: int
    embed_dim: int
    num_frames: int  # T, frames sampled per clip
    frame_features: str
    word_features: str
    gallery_root: str  # relative to the index folder when possible
    vectors: dict[str, Any]  # kind, params, user_params, metric, id, exact, bytes (+ engine fields for Milvus)
    counts: dict[str, int]  # clips, vectors
    last_build: dict[str, Any]
    text_heads: int = 0
    hub_scores: dict[str, Any] | None = None  # what made hub_scores.npy (`hubness.hub_meta`); None without it
    pvse_version: str = ""
    updated: str = ""
    format_version: int = FORMAT_VERSION
    frame_precision: str = DEFAULT_PRECISION  # the frame CNN's ("int8": quantized); rows of different precisions never mix
    reader: str | None = None  # "name@version" of the frame-text reader (`pvse.reading`); None: text not read
    text_layout: dict[str, Any] | None = None  # `text_layout.TextLayout` of sentence-model text heads; None: none
    matched: list[str] | None = None  # which texts the build matched (`pvse.build.write.matched_sources`); None: before that

    @property
    def layout(self):
        """The `TextLayout` of the index's text heads (scored by the sentence model), or None."""
        if self.text_layout is None:
            return None
        from .text_layout import TextLayout
        return TextLayout.from_dict(self.text_layout)

    @property
    def gif_heads(self) -> int:
        """Embeddings per clip from its frames, max(K, 1); they come first."""
        return self.embeddings_per_clip - self.text_heads

    @property
    def heads(self) -> int:
        """Embeddings per query (and per clip from its frames): max(K, 1)."""
        return self.gif_heads

    @property
    def num_clips(self) -> int:
        return int(self.counts.get("clips", 0))

    @property
    def kind(self) -> str:
        """The vector index kind (a name in `kinds.KINDS`)."""
        from .kinds import DEFAULT_KIND
        return str(self.vectors.get("kind", DEFAULT_KIND))

    @property
    def params(self) -> dict[str, Any]:
        """The vector index's resolved parameters (search knobs included)."""
        return dict(self.vectors.get("params") or {})

    @property
    def user_params(self) -> dict[str, Any]:
        """The parameters the user gave (a rerun starts from them)."""
        return dict(self.vectors.get("user_params") or {})

    def to_dict(self) -> dict[str, Any]:
        """The on-disk form, keys in the order `index.json` has always had."""
        return {
            "format": FORMAT_NAME, "format_version": self.format_version, "pvse_version": self.pvse_version,
            "updated": self.updated, "weights": self.weights.to_dict(), "config": self.config,
            "num_embeds": self.embeddings_per_clip, "num_attention_heads": self.attention_heads,
            "embed_dim": self.embed_dim, "num_frames": self.num_frames,
            "frame_features": self.frame_features, "word_features": self.word_features,
            "gallery_root": self.gallery_root, "vectors": self.vectors, "counts": self.counts,
            "last_build": self.last_build, "text_heads": self.text_heads,
        } | ({"hub_scores": self.hub_scores} if self.hub_scores is not None else {}) \
          | ({"frame_precision": self.frame_precision} if self.frame_precision != DEFAULT_PRECISION else {}) \
          | ({"reader": self.reader} if self.reader is not None else {}) \
          | ({"text_layout": self.text_layout} if self.text_layout is not None else {}) \
          | ({"matched": self.matched} if self.matched is not None else {})

    @classmethod
    def from_dict(cls, meta: dict[str, Any]) -> IndexMeta:
        """Parse the on-disk form; a missing key is a KeyError, a wrong type or an out-of-range number a
        ValueError naming the field (bounds from `pvse.limits`, checked before any array is read)."""
        if not isinstance(meta, dict):
            raise ValueError("index.json must hold a JSON object")
        weights = _field(meta, "weights", dict)
        per_clip = whole(meta["num_embeds"], "num_embeds", 1, 2 * MAX_HEADS)
        counts = _field(meta, "counts", dict, {})
        for key in ("clips", "vectors"):
            if key in counts:
                whole(counts[key], f"counts.{key}", 0, MAX_CLIPS * 2 * MAX_HEADS)
        vectors = _field(meta, "vectors", dict, {})
        _field(vectors, "kind", str, "", "vectors.kind")
        _field(vectors, "params", dict, {}, "vectors.params")
        _field(vectors, "user_params", dict, {}, "vectors.user_params")
        if vectors.get("bytes") is not None:
            whole(vectors["bytes"], "vectors.bytes", 0, 2**62)
        gallery_root = _field(meta, "gallery_root", str)
        if not gallery_root or "\x00" in gallery_root:
            raise ValueError("gallery_root must name a folder")
        ref = _field(weights, "ref", str, None, "weights.ref")
        return cls(
            weights=WeightsRef(ref, _field(weights, "fingerprint", str, name="weights.fingerprint"),
                               _field(weights, "ref_is_relative_path", bool, False, "weights.ref_is_relative_path")),
            config=_field(meta, "config", dict, {}),
            attention_heads=whole(meta["num_attention_heads"], "num_attention_heads", 0, MAX_HEADS),
            embeddings_per_clip=per_clip, embed_dim=whole(meta["embed_dim"], "embed_dim", 1, MAX_EMBED_DIM),
            num_frames=whole(meta["num_frames"], "num_frames", 1, MAX_FRAMES),
            frame_features=_field(meta, "frame_features", str, ""), word_features=_field(meta, "word_features", str, ""),
            gallery_root=gallery_root, vectors=dict(vectors), counts=dict(counts),
            last_build=_field(meta, "last_build", dict, {}),
            text_heads=whole(meta.get("text_heads") or 0, "text_heads", 0, per_clip - 1),
            hub_scores=meta["hub_scores"] if isinstance(meta.get("hub_scores"), dict) else None,
            pvse_version=_field(meta, "pvse_version", str, ""), updated=_field(meta, "updated", str, ""),
            format_version=whole(meta.get("format_version", 0), "format_version", 0, FORMAT_VERSION),
            frame_precision=_precision(meta.get("frame_precision", DEFAULT_PRECISION)),
            reader=_field(meta, "reader", str, None), text_layout=_checked_layout(meta, per_clip),
            matched=_matched(meta))


def _matched(meta: dict[str, Any]) -> list[str] | None:
    """index.json's "matched" (which texts the build matched), each one of `text_layout.SOURCES`, or None."""
    from .text_layout import SOURCES
    value = _field(meta, "matched", list, None)
    if value is not None and (len(value) > len(SOURCES) or any(v not in SOURCES for v in value)):
        raise ValueError(f"matched must list texts among {', '.join(SOURCES)}, got {value!r:.60}")
    return None if value is None else [str(v) for v in value]


_REQUIRED = object()


def _checked_layout(meta: dict[str, Any], per_clip: int) -> dict[str, Any] | None:
    """index.json's "text_layout" when it is one that pvse-gif writes and agrees with the other fields, else None
    (absent) or ValueError."""
    data = _field(meta, "text_layout", dict, None)
    if data is None:
        if meta.get("text_heads"):
            raise ValueError("text_heads without a text_layout (written by an older pvse-gif); rebuild the index")
        return None
    from .text_layout import TextLayout
    try:
        layout = TextLayout.from_dict(data)
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"text_layout is not one pvse-gif writes ({exc!s:.80})") from None
    if layout.dim != meta.get("embed_dim") or len(layout.sources) != meta.get("text_heads") or per_clip <= len(
            layout.sources):
        raise ValueError("text_layout does not agree with embed_dim / text_heads / num_embeds")
    return data


def _field(data: dict[str, Any], key: str, kind: type, default: Any = _REQUIRED, name: str | None = None) -> Any:
    """data[key] when it is a `kind` (None or absent: `default`, if there is one); ValueError otherwise."""
    value = data.get(key)
    if value is None:
        if default is _REQUIRED:
            raise KeyError(name or key)
        return default
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ValueError(f"{name or key} must be {_KIND_NAMES.get(kind, kind.__name__)}, got {value!r:.60}")
    return value


_KIND_NAMES = {dict: "a JSON object", str: "text", bool: "true or false", list: "a list"}


def _precision(value: Any) -> str:
    """The index's frame CNN precision, one of `config.FRAME_PRECISIONS` (ValueError otherwise)."""
    from ..features.precision import FRAME_PRECISIONS
    if value not in FRAME_PRECISIONS:
        raise ValueError(f"frame_precision must be one of {', '.join(FRAME_PRECISIONS)}, got {value!r:.60}")
    return str(value)


def newer_format(meta: dict[str, Any]) -> str | None:
    """'was written by a newer pvse-gif ...' when this version cannot read `meta`'s format, else None."""
    version = meta.get("format_version", 0)
    if isinstance(version, int) and not isinstance(version, bool) and version > FORMAT_VERSION:
        return (f"was written by a newer pvse-gif (index format {version}, this one reads "
                f"{FORMAT_VERSION}); upgrade pvse-gif.")
    return None


class MetaView:
    """What a loaded index (faiss folder or Milvus gallery) answers from its `meta`."""

    meta: IndexMeta

    @property
    def fingerprint(self) -> str:
        return self.meta.weights.fingerprint

    @property
    def text_heads(self) -> int:
        """How many of each clip's embeddings come from its caption or name (0: pixels only)."""
        return self.meta.text_heads

    @property
    def gif_heads(self) -> int:
        """How many of each clip's embeddings come from its frames (they come first)."""
        return self.meta.gif_heads
