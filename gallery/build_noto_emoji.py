"""Build the bundled gallery `gallery/noto-emoji/` from the shared Noto animated emoji folder.

One GIF per emoji (skin-tone variants dropped, other kinds of reaction all kept), re-encoded with gifsicle
(-O3 --lossy) to fit the repository's size budget, with the manifest rows and the attribution the licences ask for.
Run: python gallery/build_noto_emoji.py [SOURCE_DIR]
"""
from __future__ import annotations

import csv
import shutil
import subprocess
import sys
from pathlib import Path

from pvse.data.emoji import emoji_group

HERE = Path(__file__).resolve().parent
DEFAULT_SOURCE = HERE.parents[1] / "shared" / "data" / "noto-animated-emoji"
OUT = HERE / "noto-emoji"

CREDITS = """# Credits and licences

The animations in this folder are **Noto Emoji animations by Google**, licensed under
[CC BY 4.0](https://creativecommons.org/licenses/by/4.0/). They were re-encoded for this gallery: scaled to
160 px, frames thinned and flattened on white (by the shared dataset), then optimised with gifsicle
(`-O3 --lossy=60`); one GIF per emoji, skin-tone variants dropped.

- Names, shortcodes and emoticons in `manifest.tsv`: the Noto animated emoji metadata.
- `cldr_name` and `keywords` in `manifest.tsv`: Unicode CLDR annotations (English), under the Unicode License v3,
  see `CLDR-LICENSE.txt`.
"""


def main(source: Path = DEFAULT_SOURCE) -> None:
    with open(source / "manifest.tsv", newline="") as fh:
        reader = csv.DictReader(fh, delimiter="\t")
        fields, rows = reader.fieldnames, list(reader)
    seen: set[str] = set()
    kept = []
    for row in rows:
        key = emoji_group(row["codepoints"], row["name"] or Path(row["file"]).stem)  # the training split's groups
        if key not in seen:
            seen.add(key)
            kept.append(row)
    tmp = OUT.with_name(OUT.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    for row in kept:
        subprocess.run(["gifsicle", "-O3", "--lossy=60", "--no-warnings", str(source / row["file"]),
                        "-o", str(tmp / row["file"])], check=True)
    with open(tmp / "manifest.tsv", "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=fields, delimiter="\t", lineterminator="\n")
        writer.writeheader()
        writer.writerows(kept)
    shutil.copy(source / "CLDR-LICENSE.txt", tmp / "CLDR-LICENSE.txt")
    (tmp / "CREDITS.md").write_text(CREDITS)
    shutil.rmtree(OUT, ignore_errors=True)
    tmp.rename(OUT)
    size = sum(p.stat().st_size for p in OUT.iterdir())
    print(f"{len(kept)} of {len(rows)} GIFs -> {OUT} ({size / 1e6:.1f} MB)")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_SOURCE)
