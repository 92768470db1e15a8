"""The Noto animated emoji set as training data: texts from its manifest, split by emoji code point.

Each GIF gets the texts its manifest row offers (animation name, CLDR name, shortcode as words, each
keyword, each emoticon) and a few templated sentences that combine them. Clips are grouped by code point
sequence with skin-tone modifiers (U+1F3FB..U+1F3FF) and VS16 (U+FE0F) removed, so the variants of one emoji
share a group and never straddle train and test.
"""
from __future__ import annotations

import csv
import re
from pathlib import Path

from ..errors import PVSEError
from .pairs import PairDataset, build_splits, split_groups_shuffled

MANIFEST = "manifest.tsv"
IGNORED_CODEPOINTS = frozenset({"1f3fb", "1f3fc", "1f3fd", "1f3fe", "1f3ff", "fe0f"})
REQUIRED_COLUMNS = ("file", "name", "codepoints", "shortcode", "emoticons", "cldr_name", "keywords")


def emoji_group(codepoints: str, name: str) -> str:
    """Group key: code points without skin tones / FE0F ('1f44d 1f3fd' -> '1f44d'); rows without any use the name."""
    kept = [cp for cp in codepoints.lower().split() if cp not in IGNORED_CODEPOINTS]
    if kept:
        return "-".join(kept)
    return "name:" + " ".join(_words(name))


def _words(text: str) -> list[str]:
    return re.sub(r"[_:\-]+", " ", text).lower().split()


def emoji_texts(row: dict[str, str]) -> list[str]:
    """The texts of one manifest row: names, shortcode words, keywords, emoticons, three templated sentences."""
    name = " ".join(_words(row.get("name", "")))
    cldr = row.get("cldr_name", "").strip().lower()
    shortcode = " ".join(_words(row.get("shortcode", "")))
    keywords = [k.strip().lower() for k in row.get("keywords", "").split(";") if k.strip()]
    emoticons = row.get("emoticons", "").split()
    texts = [name, cldr, shortcode, *keywords, *emoticons]
    title = cldr or name
    if title:
        texts.append(f"an animated {title} emoji")
    if name:
        texts.append(f"my reaction when {name}")
    name_words = set(name.split()) | set(cldr.split())
    extra = [k for k in keywords if k not in name_words][:3]
    if name and extra:
        texts.append(f"{name}: {', '.join(extra)}")
    seen: set[str] = set()
    out = []
    for text in texts:
        key = " ".join(text.lower().split())
        if key and key not in seen:
            seen.add(key)
            out.append(text)
    return out


def load_emoji(directory: str | Path, seed: int = 0) -> PairDataset:
    """Load the Noto emoji folder (manifest.tsv + GIFs) and split it 80/10/10 by code-point group (seeded)."""
    if not directory:
        raise PVSEError("emoji data set: give its folder, e.g. --data emoji:PATH (the Noto animated emoji folder "
                        "with manifest.tsv and its GIFs)")
    directory = Path(directory)
    manifest = directory / MANIFEST
    if not manifest.is_file():
        raise PVSEError(f"emoji data set: {manifest} not found (expected the Noto animated emoji folder with "
                        "manifest.tsv and its GIFs)")
    with open(manifest, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh, delimiter="\t", quoting=csv.QUOTE_NONE)
        missing_cols = [c for c in REQUIRED_COLUMNS if c not in (reader.fieldnames or [])]
        if missing_cols:
            raise PVSEError(f"{manifest}: missing columns {missing_cols}")
        rows = list(reader)
    clips: dict[Path, str] = {}
    pairs: list[tuple[Path, str]] = []
    missing: list[str] = []
    for row in rows:
        path = directory / row["file"]
        if not path.is_file():
            missing.append(row["file"])
            continue
        clips[path] = emoji_group(row["codepoints"], row["name"] or Path(row["file"]).stem)
        pairs.extend((path, text) for text in emoji_texts(row))
    if not clips:
        raise PVSEError(f"emoji data set {directory}: none of the {len(rows)} files in {MANIFEST} are there")
    assignment = split_groups_shuffled(clips.values(), seed=seed)
    notes: dict[str, object] = {"split_rule": "shuffle by code-point group (skin tones and FE0F ignored)",
                                "split_seed": seed}
    if missing:
        notes["missing_files"] = missing
    return PairDataset("emoji", str(directory), build_splits(clips, pairs, assignment), notes)
