"""The MRW ("my reaction when") release layout (Song & Soleymani, CVPR 2019; github.com/yalesong/pvse).

    ROOT/mrw-v1.0.json       list of {"id", "sentence", "images": {"mp4_url", ...}, ...}
    ROOT/split/train.tsv     one id a line (also valid.tsv, test.tsv)
    ROOT/mp4/<id>.mp4        the downloaded clips (any media extension; folder may also be gif/, videos/, ...)

One sentence per clip; the group key is the id. Clips whose file is not there (dead URLs are common) are
left out and counted in the data set's notes.
"""
from __future__ import annotations

import json
from pathlib import Path

from ..errors import PVSEError
from ..media import MEDIA_EXTENSIONS
from .pairs import SPLITS, PairDataset, build_splits

MRW_JSON = "mrw-v1.0.json"
SPLIT_FILES = {"train": ("train.tsv",), "val": ("valid.tsv", "val.tsv"), "test": ("test.tsv",)}
CLIP_FOLDERS = ("mp4", "gif", "gifs", "videos", "video", "clips", "media")


def is_mrw_root(path: str | Path) -> bool:
    return (Path(path) / MRW_JSON).is_file()


def find_clips_dir(root: Path) -> Path:
    """The first of ROOT/mp4, ROOT/gif, ... that exists, else ROOT itself."""
    for name in CLIP_FOLDERS:
        if (root / name).is_dir():
            return root / name
    return root


def _index_media(folder: Path) -> dict[str, Path]:
    """File stem -> path for every media file in `folder` (one directory listing, not one stat per id)."""
    out: dict[str, Path] = {}
    for entry in sorted(folder.iterdir()):
        if entry.suffix.lower() in MEDIA_EXTENSIONS and entry.is_file():
            out.setdefault(entry.stem, entry)
    return out


def _read_ids(path: Path) -> list[str]:
    ids = []
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and line.lower() != "id":
            ids.append(line.split("\t")[0].strip())
    return ids


def load_mrw(root: str | Path, clips_dir: str | Path | None = None) -> PairDataset:
    """Load an MRW release folder into train / val / test (the release's own split files)."""
    root = Path(root)
    json_path = root / MRW_JSON
    if not json_path.is_file():
        raise PVSEError(f"{root} is not an MRW release folder: {MRW_JSON} not found")
    try:
        items = json.loads(json_path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise PVSEError(f"{json_path} is not valid JSON: {exc}") from exc
    if not isinstance(items, list):
        raise PVSEError(f"{json_path}: expected a JSON list of clips, got {type(items).__name__}")

    split_of: dict[str, str] = {}
    for split in SPLITS:
        files = [root / "split" / name for name in SPLIT_FILES[split] if (root / "split" / name).is_file()]
        if not files:
            raise PVSEError(f"{root}/split/{SPLIT_FILES[split][0]} not found (MRW split files: train.tsv, "
                            "valid.tsv, test.tsv)")
        for clip_id in _read_ids(files[0]):
            split_of.setdefault(clip_id, split)

    folder = Path(clips_dir) if clips_dir else find_clips_dir(root)
    if not folder.is_dir():
        raise PVSEError(f"MRW clips folder {folder} does not exist")
    media = _index_media(folder)
    clips: dict[Path, str] = {}
    pairs: list[tuple[Path, str]] = []
    missing: list[str] = []
    not_in_split = 0
    for n, item in enumerate(items):
        if not isinstance(item, dict) or "id" not in item or "sentence" not in item:
            raise PVSEError(f"{json_path}: item {n} lacks 'id' or 'sentence'")
        clip_id = str(item["id"])
        if clip_id not in split_of:
            not_in_split += 1
            continue
        path = media.get(clip_id)
        if path is None:
            url = str((item.get("images") or {}).get("mp4_url") or "")
            path = media.get(Path(url.split("?")[0]).stem) if url else None
        if path is None:
            missing.append(clip_id)
            continue
        clips[path] = clip_id
        sentence = str(item["sentence"]).strip()
        if sentence:
            pairs.append((path, sentence))
    if not clips:
        raise PVSEError(f"MRW: none of the {len(items)} clips of {json_path.name} were found in {folder} "
                        "(expected files named <id>.mp4 or <id>.gif)")
    notes: dict[str, object] = {"split_rule": "MRW release split files", "clips_dir": str(folder)}
    if missing:
        notes["missing_files"] = missing
    if not_in_split:
        notes["not_in_any_split"] = not_in_split
    return PairDataset("mrw", str(root), build_splits(clips, pairs, split_of), notes)
