"""A generic data set: a folder of clips and a TSV of `file<TAB>text[<TAB>split]` rows.

Several rows may name the same file (several texts per clip). Split rules:
- "column": the third column says train / val (valid) / test for each row (all rows of a file must agree);
- "hash": each file goes where sha256(seed:file) falls, 80/10/10 - stable when files are added;
- "shuffle": a seeded shuffle of the files cut 80/10/10 by count.
The default is "column" when every row has a third column, else "hash".
"""
from __future__ import annotations

from pathlib import Path

from ..errors import PVSEError
from .pairs import PairDataset, build_splits, canonical_split, read_tsv_rows, split_groups_hashed, split_groups_shuffled

SPLIT_RULES = ("column", "hash", "shuffle")


def load_tsv(tsv: str | Path, clips_dir: str | Path | None = None, split_rule: str | None = None,
             seed: int = 0) -> PairDataset:
    """Load a `file<TAB>text[<TAB>split]` TSV whose files live in `clips_dir` (default: the TSV's folder)."""
    tsv = Path(tsv)
    clips_dir = Path(clips_dir) if clips_dir else tsv.parent
    if not clips_dir.is_dir():
        raise PVSEError(f"clips folder {clips_dir} does not exist")
    rows = read_tsv_rows(tsv, min_columns=2)
    if not rows:
        raise PVSEError(f"{tsv}: no `file<TAB>text` rows")
    has_column = all(len(row) >= 3 and row[2].strip() for _, row in rows)
    rule = split_rule or ("column" if has_column else "hash")
    if rule not in SPLIT_RULES:
        raise PVSEError(f"unknown split rule '{rule}': use one of {', '.join(SPLIT_RULES)}")
    if rule == "column" and not has_column:
        raise PVSEError(f"{tsv}: split rule 'column' needs a third column (train / val / test) on every row")

    clips: dict[Path, str] = {}
    pairs: list[tuple[Path, str]] = []
    row_split: dict[str, str] = {}
    missing: list[str] = []
    for line_no, row in rows:
        file, text = row[0].strip(), row[1].strip()
        path = Path(file) if Path(file).is_absolute() else clips_dir / file
        if not path.is_file():
            missing.append(file)
            continue
        if not text:
            continue
        clips[path] = file
        pairs.append((path, text))
        if rule == "column":
            split = canonical_split(row[2])
            if row_split.setdefault(file, split) != split:
                raise PVSEError(f"{tsv}:{line_no}: {file} is in split '{row_split[file]}' on an earlier row "
                                f"and '{split}' here; all rows of a file must agree")
    if not clips:
        raise PVSEError(f"{tsv}: none of the files it lists were found in {clips_dir}")
    if rule == "column":
        assignment = row_split
    elif rule == "hash":
        assignment = split_groups_hashed(clips.values(), seed=seed)
    else:
        assignment = split_groups_shuffled(clips.values(), seed=seed)
    notes: dict[str, object] = {"split_rule": rule, "split_seed": seed}
    if missing:
        notes["missing_files"] = sorted(set(missing))
    return PairDataset("tsv", str(tsv), build_splits(clips, pairs, assignment), notes)
