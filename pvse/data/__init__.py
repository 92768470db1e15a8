"""Training / evaluation data: data spec strings -> clip-text pairs in train / val / test splits.

Specs (`--data`):
- a folder holding `mrw-v1.0.json`, or `mrw:DIR`: the MRW release layout (pvse.data.mrw);
- `tsv:CLIPS_DIR:FILE.tsv`, or a `.tsv` path (clips in `clips_dir`, default its folder): generic (pvse.data.tsv);
- `emoji` or `emoji:DIR`: the Noto animated emoji set (pvse.data.emoji); a folder whose manifest.tsv has a
  `codepoints` column is read the same way.
"""
from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from ..errors import PVSEError
from .emoji import MANIFEST, load_emoji
from .mrw import is_mrw_root, load_mrw
from .pairs import SPLITS, ClipRef, PairDataset, Split, canonical_split
from .tsv import SPLIT_RULES, load_tsv

__all__ = ["load_dataset", "PairDataset", "Split", "ClipRef", "SPLITS", "SPLIT_RULES", "canonical_split",
           "load_mrw", "load_tsv", "load_emoji"]


def _is_emoji_folder(path: Path) -> bool:
    manifest = path / MANIFEST
    if not manifest.is_file():
        return False
    with open(manifest, encoding="utf-8") as fh:
        return "codepoints" in fh.readline().split("\t")


def load_dataset(spec: str | Path, *, clips_dir: str | Path | None = None, split_rule: str | None = None,
                 split_seed: int = 0, extra_pairs: Iterable[str | Path] = ()) -> PairDataset:
    """Load a data spec (see module doc). `extra_pairs` TSVs (`file<TAB>text`) add texts to train clips only."""
    text = str(spec)
    if text == "emoji" or text.startswith("emoji:"):
        if text[len("emoji:"):]:
            dataset = load_emoji(text[len("emoji:"):], seed=split_seed)
        else:  # the default gallery's emoji (pvse.defaults)
            from ..defaults import default_gallery
            dataset = load_emoji(default_gallery(), seed=split_seed)
    elif text.startswith("mrw:"):
        dataset = load_mrw(text[len("mrw:"):], clips_dir=clips_dir)
    elif text.startswith("tsv:"):
        rest = text[len("tsv:"):]
        folder, sep, tsv = rest.rpartition(":")
        if not sep or not folder or not tsv:
            raise PVSEError(f"data spec '{text}': expected tsv:CLIPS_DIR:FILE.tsv")
        dataset = load_tsv(tsv, clips_dir=folder, split_rule=split_rule, seed=split_seed)
    else:
        path = Path(text).expanduser()
        if path.is_dir() and is_mrw_root(path):
            dataset = load_mrw(path, clips_dir=clips_dir)
        elif path.is_dir() and _is_emoji_folder(path):
            dataset = load_emoji(path, seed=split_seed)
        elif path.suffix.lower() == ".tsv" and path.is_file():
            dataset = load_tsv(path, clips_dir=clips_dir, split_rule=split_rule, seed=split_seed)
        else:
            raise PVSEError(f"data spec '{text}' is not a data set: give an MRW folder (with mrw-v1.0.json), "
                            "tsv:CLIPS_DIR:FILE.tsv, a .tsv file, or emoji[:DIR]")
    for tsv in extra_pairs:
        dataset = dataset.with_extra_pairs(tsv)
    return dataset
