"""Files a test makes: animated GIFs from Pillow frames, galleries of bundled GIFs, tampered copies of an index."""
from __future__ import annotations

import json
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest
from PIL import Image

BUNDLED_GALLERY = Path(__file__).resolve().parents[2] / "gallery" / "noto-emoji"


def save_gif(path: str | Path, frames: Sequence[Image.Image], delays_cs: int | Sequence[int],
             whole_frames: bool = True) -> Path:
    """Write `frames` as a looping GIF at `path`. `delays_cs`: the delay of each frame in centiseconds (the GIF's
    unit), or one delay for every frame. `whole_frames`: store every frame as it is (no optimisation, disposal 1),
    so that a decoder reads back exactly these frames with exactly these delays; False: Pillow's defaults."""
    duration = 10 * delays_cs if isinstance(delays_cs, int) else [10 * d for d in delays_cs]
    options = dict(optimize=False, disposal=1) if whole_frames else {}
    frames[0].save(path, save_all=True, append_images=list(frames[1:]), duration=duration, loop=0, **options)
    return Path(path)


def tampered_copy(index: Path, out: Path, meta_text: str | None = None, **meta_changes) -> Path:
    """A copy of the index folder `index` at `out` whose index.json has the fields `meta_changes` set (or, given
    `meta_text`, is that text)."""
    shutil.copytree(index, out)
    meta = json.loads((out / "index.json").read_text())
    meta.update(meta_changes)
    (out / "index.json").write_text(meta_text if meta_text is not None else json.dumps(meta))
    return out


def bundled_gallery(folder: Path, gifs: Mapping[str, str]) -> Path:
    """`folder` made with the bundled emoji GIFs named by `gifs` (path in the folder -> bundled file name);
    the test is skipped when the bundled gallery is not there."""
    if not BUNDLED_GALLERY.is_dir():
        pytest.skip("the bundled emoji gallery is not here")
    for target, source in gifs.items():
        (folder / target).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(BUNDLED_GALLERY / source, folder / target)
    return folder
