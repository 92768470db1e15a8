"""Record what a real FFmpeg writes for `ffmpeg -i CLIP.gif -r 8 %05d.png` (which GIF frame fills each output frame)
and the frame rate it guesses (ffprobe r_frame_rate), for GIFs of made-up delays: the table
`data/ffmpeg_timelines.json` that `test_frame_sampling` checks `pvse.media.ffmpeg_rate` against.

    python -m tests.media.record_ffmpeg_timelines   # from the repository root; needs ffmpeg and ffprobe on PATH
                                                    # (Debian: apt install ffmpeg)

Each frame of a recorded GIF is one solid palette colour that encodes its index, so the written frames read back to
indices exactly. The delays are seeded random sequences of five kinds (constant, alternating film-like pairs,
anything including 0/1 cs and long holds, mostly short with odd long ones) and a few worked examples.
"""
from __future__ import annotations

import json
import random
import subprocess
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

from tests.helpers.files import save_gif

OUT = Path(__file__).parent / "data" / "ffmpeg_timelines.json"
FPS = 8
WORKED = [[10] * 10, [50, 50], [20, 5, 5, 70], [0, 0, 1, 1], [4] * 50, [3], [25] * 4, [5] * 40,
          [6, 4, 4, 10, 1, 7, 5, 5, 12, 3, 8, 4, 4, 6, 9, 5, 5, 5, 15, 4, 4, 6, 7, 5, 5, 10, 4, 8, 6, 5]]


def colour(i: int) -> tuple[int, int, int]:
    return 40 + i % 200, 30 + 20 * (i // 200), 90


def write_gif(path: Path, delays_cs: list[int]) -> None:
    frames = []
    for i in range(len(delays_cs)):
        im = Image.new("P", (16, 16), 0)
        im.putpalette(list(colour(i)) + [0, 0, 0] * 255)
        frames.append(im)
    save_gif(path, frames, delays_cs)


def ffmpeg_frames(path: Path, count: int, fps: int = FPS) -> list[int]:
    """The GIF frame in each frame `ffmpeg -r fps` writes."""
    lookup = {colour(i): i for i in range(count)}
    with tempfile.TemporaryDirectory() as out:
        subprocess.run(["ffmpeg", "-v", "error", "-i", str(path), "-r", str(fps), f"{out}/%05d.png"], check=True)
        return [lookup[tuple(np.asarray(Image.open(f).convert("RGB"))[8, 8].tolist())]
                for f in sorted(Path(out).glob("*.png"))]


def ffprobe_rate(path: Path) -> str:
    return subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries", "stream=r_frame_rate",
                           "-of", "default=nw=1:nk=1", str(path)], capture_output=True, text=True, check=True).stdout.strip()


def random_delays(rng: random.Random, case: int) -> list[int]:
    n = rng.randint(2, 90)
    kind = case % 5
    if kind == 0:
        return [rng.choice([2, 3, 4, 5, 6, 7])] * n
    if kind == 1:
        a = rng.choice([3, 4, 6])
        return [rng.choice([a, a + 1]) for _ in range(n)]
    if kind == 2:
        return [rng.choice([0, 1, 2, 3, 4, 5, 8, 10, 12, 20, 50, 150]) for _ in range(n)]
    if kind == 3:
        return [rng.choice([4, 4, 4, 5, 30]) for _ in range(n)]
    pattern = rng.choice([[3, 3, 4], [4, 4, 5], [6, 7], [6, 7, 7], [3, 4], [7, 7, 6, 7]])  # regular, as films are
    return [pattern[i % len(pattern)] for i in range(n)]


def main() -> None:
    rng = random.Random(2026)
    sequences = WORKED + [random_delays(rng, case) for case in range(200)]
    version = subprocess.run(["ffmpeg", "-version"], capture_output=True, text=True).stdout.split("\n")[0]
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for delays in sequences:
            path = Path(folder) / "clip.gif"
            write_gif(path, delays)
            rows.append({"delays_cs": delays, "frames": ffmpeg_frames(path, len(delays)),
                         "r_frame_rate": ffprobe_rate(path)})
    OUT.write_text(json.dumps({"ffmpeg": version, "fps": FPS, "command": "ffmpeg -i clip.gif -r 8 %05d.png",
                               "clips": rows}, separators=(",", ":")) + "\n")
    print(f"{len(rows)} clips recorded with {version} -> {OUT}")


if __name__ == "__main__":
    main()
