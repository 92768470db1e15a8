"""Do frame features carry reactions at all? A training-free probe on labelled real GIFs.

    python -m benchmarks.real_gifs_probe GIF_DIR --labels labels.tsv [--frames 16] [--faces]

For each GIF, its 5 nearest other GIFs under a frame feature (cosine after centring): hit@5 = one of them shares a
category with it ("any") or has the same main category ("main"); chance by random neighbours (50 draws). No text
and no training: this is the ceiling any text-to-GIF model built on that feature starts from. Features: the mean
of the frozen EfficientNet-Lite0 frame vectors over 8 or all T frames, their motion (mean |f_t - f_(t-1)|),
grayscale pixel motion (a 4x4 grid of mean / std absolute frame differences), and with `--faces` the CNN vector of
the largest face crop (MTCNN from facenet-pytorch, which ships its detector weights; install it with
`pip install --no-deps facenet-pytorch`: its metadata pins an old torch), the scene vector where no face is found.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from benchmarks.real_gifs import read_labels
from pvse.errors import MediaError
from pvse.features import build_frame_extractor
from pvse.media import decode_clip


def centred_unit(x: np.ndarray) -> np.ndarray:
    x = x - x.mean(0)
    return x / (np.linalg.norm(x, axis=1, keepdims=True) + 1e-8)


def neighbour_hits(x: np.ndarray, categories: list[list[str]], k: int = 5, draws: int = 50, seed: int = 0) -> dict:
    """Leave-one-out k-nearest-neighbour hit rates ("any" shared category, same "main" one) and their chance."""
    x = centred_unit(x)
    sims = x @ x.T
    np.fill_diagonal(sims, -np.inf)
    top = np.argsort(-sims, axis=1)[:, :k]
    sets, main = [set(c) for c in categories], [c[0] for c in categories]

    def rates(neighbours: np.ndarray) -> tuple[float, float]:
        return (float(np.mean([any(sets[i] & sets[j] for j in row) for i, row in enumerate(neighbours)])),
                float(np.mean([any(main[j] == main[i] for j in row) for i, row in enumerate(neighbours)])))

    rng = np.random.default_rng(seed)
    n = len(categories)
    chance = np.mean([rates(np.stack([rng.choice(np.delete(np.arange(n), i), k, replace=False) for i in range(n)]))
                      for _ in range(draws)], axis=0)
    got = rates(top)
    return {"any": got[0], "main": got[1], "chance_any": float(chance[0]), "chance_main": float(chance[1])}


def pixel_motion(frames: np.ndarray, size: int = 64, grid: int = 4) -> np.ndarray:
    """Grayscale absolute frame differences: per grid cell their mean and std over time, plus 3 global stats."""
    gray = np.stack([np.asarray(Image.fromarray(f).convert("L").resize((size, size)), dtype=np.float32) / 255
                     for f in frames])
    diff = np.abs(np.diff(gray, axis=0))
    cell = size // grid
    cells = diff.reshape(len(diff), grid, cell, grid, cell).mean((2, 4))
    return np.concatenate([cells.mean(0).ravel(), cells.std(0).ravel(),
                           [diff.mean(), diff.std(), diff.mean((1, 2)).max()]])


def face_vectors(clips: list[np.ndarray], extractor, every: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """The CNN vector of the largest detected face (box grown by a quarter), averaged over every `every`-th frame."""
    from facenet_pytorch import MTCNN
    detector = MTCNN(keep_all=False, device="cpu", post_process=False, min_face_size=30)
    out, found = np.zeros((len(clips), extractor.dim), np.float32), np.zeros(len(clips), bool)
    for i, frames in enumerate(clips):
        crops = []
        for frame in frames[::every]:
            boxes, _ = detector.detect(Image.fromarray(frame))
            if boxes is None:
                continue
            x0, y0, x1, y1 = boxes[np.argmax((boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1]))]
            w, h = x1 - x0, y1 - y0
            x0, y0 = int(max(0, x0 - w / 4)), int(max(0, y0 - h / 4))
            x1, y1 = int(min(frame.shape[1], x1 + w / 4)), int(min(frame.shape[0], y1 + h / 4))
            if x1 - x0 > 10 and y1 - y0 > 10:
                crops.append(np.asarray(Image.fromarray(frame[y0:y1, x0:x1]).resize((224, 224))))
        if crops:
            out[i], found[i] = extractor.extract(np.stack(crops)).mean(0), True
    return out, found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("gif_dir", type=Path)
    parser.add_argument("--labels", type=Path, required=True)
    parser.add_argument("--frames", type=int, default=16, help="frames decoded per GIF (default 16; 'mean 8' uses every other)")
    parser.add_argument("--faces", action="store_true", help="also probe MTCNN face crops (needs facenet-pytorch)")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    labels, clips = [], []
    for label in read_labels(args.labels):
        try:
            clips.append(decode_clip(args.gif_dir / label.key, num_frames=args.frames).frames)
            labels.append(label)
        except MediaError as exc:
            print(f"note: left out {label.key}: {exc.reason}")
    extractor = build_frame_extractor("efficientnet-lite0")
    feats = np.stack([extractor.extract(c) for c in clips])  # (N, T, 1280)
    mean_all, mean_half = feats.mean(1), feats[:, ::2].mean(1)
    motion = np.abs(np.diff(feats, axis=1)).mean(1)
    pixels = np.stack([pixel_motion(c) for c in clips])
    variants = {
        f"CNN mean, {args.frames // 2} frames": mean_half,
        f"CNN mean, {args.frames} frames": mean_all,
        "CNN motion |f_t - f_(t-1)|": motion,
        "CNN mean + CNN motion": np.hstack([centred_unit(mean_all), centred_unit(motion)]),
        "pixel motion grid": pixels,
        "CNN mean + 0.5 pixel motion": np.hstack([centred_unit(mean_all), 0.5 * centred_unit(pixels)]),
    }
    if args.faces:
        faces, found = face_vectors(clips, extractor)
        face_or_scene = np.where(found[:, None], faces, mean_all)
        print(f"faces found in {found.sum()} of {len(clips)} GIFs")
        variants["face crop (scene where none)"] = face_or_scene
        variants["CNN mean + face"] = np.hstack([centred_unit(mean_all), centred_unit(face_or_scene)])
        variants["CNN mean + face + CNN motion"] = np.hstack([centred_unit(mean_all), centred_unit(face_or_scene),
                                                              centred_unit(motion)])
    categories = [lab.categories for lab in labels]
    print(f"{len(labels)} GIFs; leave-one-out 5-nearest-neighbour hit rate (chance in brackets)")
    print("| feature | hit@5, any shared category | hit@5, same main category |\n|---|---|---|")
    for name, x in variants.items():
        r = neighbour_hits(x, categories)
        print(f"| {name} | {r['any']:.3f} ({r['chance_any']:.3f}) | {r['main']:.3f} ({r['chance_main']:.3f}) |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
