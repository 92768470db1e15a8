"""Clip-sentence pairs split into train / val / test: the common shape every data spec loads into.

A split holds clips (a file and a group key) and (clip index, text) pairs. The group key says which clips are
"the same thing" (one emoji in several skin tones, one MRW id): a group never spans two splits, and training
avoids putting two clips of one group in the same batch, where each would be the other's false negative.
"""
from __future__ import annotations

import csv
import hashlib
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import PVSEError

SPLITS = ("train", "val", "test")
SPLIT_ALIASES = {"train": "train", "training": "train", "val": "val", "valid": "val", "validation": "val",
                 "dev": "val", "test": "test", "testing": "test"}
DEFAULT_FRACTIONS = (0.8, 0.1, 0.1)


def canonical_split(name: str) -> str:
    """'valid' / 'validation' / 'dev' -> 'val'; unknown names are a clear error."""
    key = SPLIT_ALIASES.get(name.strip().lower())
    if key is None:
        raise PVSEError(f"unknown split '{name}': use one of train, val (or valid), test")
    return key


@dataclass(frozen=True)
class ClipRef:
    """One clip file of a data set and the group it belongs to."""

    path: Path
    group: str


@dataclass
class Split:
    """The clips of one split and their texts; `pairs` index into `clips`."""

    name: str
    clips: list[ClipRef]
    pairs: list[tuple[int, str]]

    @property
    def num_clips(self) -> int:
        return len(self.clips)

    def texts_by_clip(self) -> list[list[str]]:
        """Each clip's texts, in pair order, duplicates removed."""
        out: list[list[str]] = [[] for _ in self.clips]
        for clip, text in self.pairs:
            if text not in out[clip]:
                out[clip].append(text)
        return out

    def unique_texts(self) -> list[str]:
        """The split's distinct texts in first-seen order (one retrieval query each)."""
        return list(dict.fromkeys(text for _, text in self.pairs))

    def restrict(self, keep: set[Path]) -> Split:
        """The same split without the clips whose path is not in `keep` (e.g. files that failed to decode)."""
        new_index: dict[int, int] = {}
        clips: list[ClipRef] = []
        for i, clip in enumerate(self.clips):
            if clip.path in keep:
                new_index[i] = len(clips)
                clips.append(clip)
        pairs = [(new_index[c], t) for c, t in self.pairs if c in new_index]
        return Split(self.name, clips, pairs)

    def without_texts(self, drop: set[str]) -> Split:
        """The same split without pairs whose text is in `drop`; clips left with no text go too."""
        pairs = [(c, t) for c, t in self.pairs if t not in drop]
        keep = {self.clips[c].path for c, _ in pairs}
        return Split(self.name, self.clips, pairs).restrict(keep)

    def summary(self) -> dict:
        return {"clips": len(self.clips), "pairs": len(self.pairs), "texts": len(self.unique_texts()),
                "groups": len({c.group for c in self.clips})}


@dataclass
class PairDataset:
    """A data spec loaded into train / val / test splits (see `pvse.data.load_dataset`)."""

    kind: str  # "mrw", "tsv" or "emoji"
    source: str  # where it came from, for logs
    splits: dict[str, Split]
    notes: dict[str, object] = field(default_factory=dict)  # what was skipped and why, split rule, seed

    def split(self, name: str) -> Split:
        """One split by name; 'train+val' joins train and val (for the final model)."""
        names = [canonical_split(part) for part in name.split("+")]
        if len(names) == 1:
            return self.splits[names[0]]
        return merge_splits([self.splits[n] for n in names], "+".join(names))

    def describe(self, list_members: bool = False) -> dict:
        """Counts per split (and with list_members, each split's files and group keys) for reports."""
        out: dict[str, object] = {"kind": self.kind, "source": self.source, "notes": self.notes,
                                  "splits": {name: split.summary() for name, split in self.splits.items()}}
        if list_members:
            out["members"] = {name: [{"file": c.path.name, "group": c.group} for c in split.clips]
                              for name, split in self.splits.items()}
        return out

    def with_extra_pairs(self, tsv: str | Path) -> PairDataset:
        """Add `file<TAB>text` rows to the train split only; rows naming val / test clips are ignored (no leak).

        `file` is matched against the clips' file names (or paths relative to the TSV's folder). A file that is
        in no split is an error, so a typo does not silently train on nothing.
        """
        tsv = Path(tsv)
        rows = read_tsv_rows(tsv, min_columns=2)
        by_name: dict[str, tuple[str, int]] = {}
        for name, split in self.splits.items():
            for i, clip in enumerate(split.clips):
                by_name.setdefault(clip.path.name, (name, i))
                by_name.setdefault(str(clip.path.resolve()), (name, i))
        train = self.splits["train"]
        pairs = list(train.pairs)
        unknown: list[str] = []
        ignored = 0
        for line_no, row in rows:
            file, text = row[0].strip(), row[1].strip()
            hit = by_name.get(file) or by_name.get(Path(file).name) or by_name.get(str((tsv.parent / file).resolve()))
            if hit is None:
                unknown.append(f"{file} (line {line_no})")
            elif hit[0] != "train":
                ignored += 1
            elif text:
                pairs.append((hit[1], text))
        if unknown:
            raise PVSEError(f"{tsv}: {len(unknown)} rows name clips that are not in the data set, e.g. "
                            f"{', '.join(unknown[:3])}")
        splits = dict(self.splits)
        splits["train"] = Split("train", train.clips, pairs)
        notes = dict(self.notes)
        notes.setdefault("extra_pairs", []).append(  # type: ignore[union-attr]
            {"file": str(tsv), "added": len(pairs) - len(train.pairs), "ignored_not_train": ignored})
        return PairDataset(self.kind, self.source, splits, notes)


def merge_splits(splits: Sequence[Split], name: str) -> Split:
    clips: list[ClipRef] = []
    pairs: list[tuple[int, str]] = []
    for split in splits:
        offset = len(clips)
        clips.extend(split.clips)
        pairs.extend((c + offset, t) for c, t in split.pairs)
    return Split(name, clips, pairs)


def build_splits(clips: dict[Path, str], pairs: Iterable[tuple[Path, str]], assignment: dict[str, str]) -> dict[str, Split]:
    """Assemble splits from clip path -> group, (path, text) pairs and group -> split name."""
    members: dict[str, list[ClipRef]] = {name: [] for name in SPLITS}
    index: dict[Path, tuple[str, int]] = {}
    for path, group in clips.items():
        split = assignment[group]
        index[path] = (split, len(members[split]))
        members[split].append(ClipRef(path, group))
    split_pairs: dict[str, list[tuple[int, str]]] = {name: [] for name in SPLITS}
    for path, text in pairs:
        split, i = index[path]
        split_pairs[split].append((i, text))
    return {name: Split(name, members[name], split_pairs[name]) for name in SPLITS}


def split_groups_shuffled(groups: Iterable[str], seed: int = 0,
                          fractions: tuple[float, float, float] = DEFAULT_FRACTIONS) -> dict[str, str]:
    """Seeded shuffle of the distinct groups, cut into train / val / test by count (80/10/10 by default).

    Sorting before shuffling makes the result independent of input order and of Python's hash seed.
    """
    unique = sorted(set(groups))
    random.Random(seed).shuffle(unique)
    n = len(unique)
    n_val = int(round(fractions[1] * n))
    n_test = int(round(fractions[2] * n))
    if n >= 3:
        n_val, n_test = max(n_val, 1), max(n_test, 1)
    out = {}
    for i, group in enumerate(unique):
        out[group] = "test" if i < n_test else "val" if i < n_test + n_val else "train"
    return out


def split_groups_hashed(groups: Iterable[str], seed: int = 0,
                        fractions: tuple[float, float, float] = DEFAULT_FRACTIONS) -> dict[str, str]:
    """Each group goes where sha256(seed:group) falls: stable when clips are added or removed."""
    out = {}
    for group in set(groups):
        u = int.from_bytes(hashlib.sha256(f"{seed}:{group}".encode()).digest()[:8], "big") / 2**64
        out[group] = "train" if u < fractions[0] else "val" if u < fractions[0] + fractions[1] else "test"
    return out


def read_tsv_rows(path: Path, min_columns: int) -> list[tuple[int, list[str]]]:
    """(line number, columns) of a tab-separated file; blank lines and a `file<TAB>text` header are skipped."""
    if not path.is_file():
        raise PVSEError(f"{path}: no such file")
    rows = []
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            for line_no, row in enumerate(csv.reader(fh, delimiter="\t", quoting=csv.QUOTE_NONE), start=1):
                if not row or not any(cell.strip() for cell in row):
                    continue
                if line_no == 1 and row[0].strip().lower() in {"file", "path", "filename"}:
                    continue
                if len(row) < min_columns:
                    raise PVSEError(f"{path}:{line_no}: expected at least {min_columns} tab-separated columns, "
                                    f"got {len(row)}")
                rows.append((line_no, row))
    except UnicodeDecodeError as exc:
        raise PVSEError(f"{path}: not UTF-8 text ({exc})") from exc
    return rows
