"""A tiny MRW release of the exact layout: mrw-v1.0.json, split/{train,valid,test}.tsv, mp4/<id>.<ext>."""
import json
import shutil
from pathlib import Path

import av
import numpy as np

# (id, source GIF in the shared emoji folder or None for a made MP4, sentence, split)
MRW_ITEMS = [
    ("3o7btNa0RUYa5E7iiQ", "001-smile.gif", "my reaction when my friend tells a good joke", "train"),
    ("l0HlvtIPzPdt2usKs", "009-loudly-crying.gif", "mrw the movie ending is sad", "train"),
    ("xT9IgG50Fb7Mi0prBC", "010-wink.gif", "mfw i know a secret", "train"),
    ("26ufdipQqU2lhNA4g", "005-laughing.gif", "when someone trips and you try not to laugh", "train"),
    ("3oEjHV0z8S7WM4MwnK", None, "when the red box slides down the screen", "train"),
    ("l41lFw057lAJQMwg0", "007-joy.gif", "mrw i finally finish my thesis", "valid"),
    ("xUPGcguWZHRC2HyBRS", "003-grin.gif", "me when the pizza arrives", "test"),
    ("3o6Zt481isNVuQI1l6", "002-smile-with-big-eyes.gif", "mfw free food at work", "test"),
]
MISSING_ID = "deadBeefNotDownloaded"


def write_mp4(path: Path, frames: int = 8, size: int = 64) -> None:
    """A real MPEG-4 video of a red box moving down a white frame."""
    with av.open(str(path), "w") as out:
        stream = out.add_stream("mpeg4", rate=8)
        stream.width = stream.height = size
        stream.pix_fmt = "yuv420p"
        for i in range(frames):
            img = np.full((size, size, 3), 255, np.uint8)
            img[6 * i: 6 * i + 16, 10:30] = (200, 30, 30)
            for packet in stream.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)


def build_mrw(root: Path, shared: Path) -> Path:
    (root / "split").mkdir(parents=True)
    (root / "mp4").mkdir()
    items = []
    for clip_id, source, sentence, _split in MRW_ITEMS:
        if source is None:
            write_mp4(root / "mp4" / f"{clip_id}.mp4")
        else:
            shutil.copy(shared / source, root / "mp4" / f"{clip_id}.gif")
        items.append({"id": clip_id, "sentence": sentence, "gulp_num_frames": 8,
                      "images": {"mp4_url": f"https://media.giphy.com/media/{clip_id}/giphy.mp4"}})
    items.append({"id": MISSING_ID, "sentence": "this clip was never downloaded",
                  "images": {"mp4_url": f"https://media.giphy.com/media/{MISSING_ID}/giphy.mp4"}})
    (root / "mrw-v1.0.json").write_text(json.dumps(items))
    for split in ("train", "valid", "test"):
        ids = [i for i, _, _, s in MRW_ITEMS if s == split] + ([MISSING_ID] if split == "train" else [])
        (root / "split" / f"{split}.tsv").write_text("".join(f"{i}\n" for i in ids))
    return root
