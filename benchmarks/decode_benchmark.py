"""Cost of `pvse index` on large GIFs: frames shrunk while decoding vs decoded at full size, side by side.

    python -m benchmarks.decode_benchmark                  # generated large GIFs (1000-3000 px)
    python -m benchmarks.decode_benchmark --film 40        # generated film-like GIFs (400-640 px, full frames)
    python -m benchmarks.decode_benchmark --gallery DIR    # a folder of your own (e.g. real film GIFs)
    ... --against OTHER_CHECKOUT                           # also time another checkout's `pvse index`

Writes --gifs GIFs into a temporary folder (sizes cycling through --sizes, 20-60 frames, a moving scene
over a gradient saved by Pillow, which stores each frame as the offset sub-rectangle that changed), or with
--film N, N GIFs like scenes cut from films (400-640 px wide, 16:9, 20-60 frames, a camera panning over a
textured photo-like scene with grain, so every frame changes whole and has its own 256-colour palette), then
runs the real CLI, `python -m pvse index`, in a fresh subprocess per variant and reads that child's peak
RSS from os.wait4:

- new:  frames shrunk to the CNN's input size right after each is composited (`pvse.media` max_size), the
        CNN fed CNN_FRAMES_PER_CALL frames per call (what `pvse index` does);
- full: the same decoder without shrinking: frames kept at full size until the CNN's own resize, 64 frames
        per CNN call (what batching 8 clips of one frame size gave before);
- previous: all of that with the decoder of --baseline-rev (Pillow's GIF plugin, frames counted by FFmpeg),
        read from git history; skipped outside a git checkout or with --no-previous;
- before: `pvse index` of the --against checkout, unpatched.

A third child only loads the model and builds the frame CNN: the memory every run pays before its first
clip (it also fills the run's own ONNX cache, so the variants measure a warm cache, as every run after a
user's first). Variants alternate over --repeats rounds; the table gives medians and new/other ratios.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from pvse.index.meta import META_FILE

REPO = Path(__file__).resolve().parents[1]

FULL_SIZE_PATCH = (
    "import pvse.clip_features as cf, pvse.build.run as b; "
    "cf.frame_decode_size = b.frame_decode_size = lambda *args, **kwargs: None; cf.CNN_FRAMES_PER_CALL = 64; "
)
PREVIOUS_DECODER = (
    "import importlib.util, sys; spec = importlib.util.spec_from_file_location('previous_media', sys.argv.pop(1)); "
    "old = importlib.util.module_from_spec(spec); sys.modules['previous_media'] = old; spec.loader.exec_module(old); "
    "import pvse.clip_features as cf; "
    "cf.decode_clip = lambda path, num_frames, limits, max_size=None: old.decode_clip(path, num_frames=num_frames, "
    "limits=old.MediaLimits(limits.max_file_bytes, limits.max_pixels, limits.max_frames)); "
)
RUN_CLI = "import sys; from pvse.cli import main; sys.exit(main(sys.argv[1:]))"
MODEL_ONLY = (
    "import sys; from pvse.defaults import default_weights; from pvse.pipeline import PVSEPipeline; "
    "p = PVSEPipeline.from_pretrained(sys.argv[1] if len(sys.argv) > 1 else default_weights(), device='cpu'); "
    "p.frame_extractor"
)


def previous_media_module(rev: str, folder: Path) -> Path | None:
    """pvse/media.py as it was at `rev` (the decoder before GIFs were composited by pvse.media.gif), or None."""
    try:
        text = subprocess.run(["git", "-C", str(REPO), "show", f"{rev}:pvse/media.py"], check=True,
                              capture_output=True, text=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    path = folder / "previous_media.py"
    path.write_text(text)
    return path


def write_gif(path: Path, width: int, height: int, frames: int, seed: int) -> None:
    """A palette GIF: a gradient with a few moving discs; Pillow stores the changed rectangle of each frame."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width]
    base = ((xx * 120 // max(1, width - 1)) + (yy * 100 // max(1, height - 1))).astype(np.uint8) % 220
    discs = [(rng.uniform(0.1, 0.9), rng.uniform(0.1, 0.9), rng.uniform(0.03, 0.12), 220 + k) for k in range(4)]
    palette = [int(v) for i in range(220) for v in (i, (i * 3) % 256, 255 - i)]
    palette += [v for k in range(36) for v in ((60 * k) % 256, 255 - (40 * k) % 256, (90 * k) % 256)]
    images = []
    for f in range(frames):
        canvas = base.copy()
        for cx, cy, r, colour in discs:
            x = (cx + 0.3 * np.sin(2 * np.pi * f / frames + colour)) * width
            y = (cy + 0.2 * np.cos(2 * np.pi * f / frames + colour)) * height
            radius = r * min(width, height)
            y0, y1 = int(max(0, y - radius)), int(min(height, y + radius))
            x0, x1 = int(max(0, x - radius)), int(min(width, x + radius))
            if y1 > y0 and x1 > x0:
                sub_y, sub_x = yy[y0:y1, x0:x1], xx[y0:y1, x0:x1]
                inside = (sub_x - x) ** 2 + (sub_y - y) ** 2 <= radius**2
                canvas[y0:y1, x0:x1][inside] = colour
        image = Image.fromarray(canvas, "P")
        image.putpalette(palette)
        images.append(image)
    images[0].save(path, save_all=True, append_images=images[1:], duration=40, loop=0, optimize=False)


def write_film_gif(path: Path, width: int, height: int, frames: int, seed: int) -> None:
    """A film-like GIF: a camera pan over a smooth random scene with grain; every frame is a full frame with its
    own 256-colour palette (fast octree quantisation), as GIFs cut from video are."""
    rng = np.random.default_rng(seed)
    scene_h, scene_w = height + frames * 2 + 8, width + frames * 6 + 8
    coarse = rng.uniform(0, 255, (scene_h // 16 + 2, scene_w // 16 + 2, 3)).astype(np.uint8)
    scene = np.asarray(Image.fromarray(coarse).resize((scene_w, scene_h), Image.BICUBIC), dtype=np.float32)
    yy, xx = np.mgrid[0:scene_h, 0:scene_w]
    scene += 40 * np.sin(xx / 23.0)[..., None] * np.cos(yy / 17.0)[..., None]
    images = []
    for f in range(frames):
        view = scene[2 * f:2 * f + height, 6 * f:6 * f + width] + rng.normal(0, 6, (height, width, 3))
        frame = Image.fromarray(np.clip(view, 0, 255).astype(np.uint8), "RGB")
        images.append(frame.quantize(256, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE))
    images[0].save(path, save_all=True, append_images=images[1:], duration=40, loop=0, optimize=False)


def make_film_gallery(folder: Path, count: int, seed: int) -> list[str]:
    rng = np.random.default_rng(seed)
    described = []
    for i in range(count):
        width = (400, 480, 500, 640)[i % 4]
        height, frames = width * 9 // 16, int(rng.integers(20, 61))
        write_film_gif(folder / f"film-{i:02d}.gif", width, height, frames, seed + i)
        described.append(f"{width}x{height}x{frames}")
    return described


def make_gallery(folder: Path, count: int, sizes: list[int], seed: int) -> list[str]:
    rng = np.random.default_rng(seed)
    described = []
    for i in range(count):
        side = sizes[i % len(sizes)]
        width, height = side, int(side * rng.uniform(0.55, 1.0))
        frames = int(rng.integers(20, 61))
        write_gif(folder / f"large-{i:02d}.gif", width, height, frames, seed + i)
        described.append(f"{width}x{height}x{frames}")
    return described


def run_child(code: str, args: list[str], threads: int, root: Path = REPO) -> tuple[float, int, str]:
    """(wall seconds, peak RSS in bytes, stdout) of `python -c code args` in a fresh process with `root` (a
    checkout) first on its path."""
    env = dict(os.environ, PYTHONPATH=str(root) + os.pathsep + os.environ.get("PYTHONPATH", ""),
               OMP_NUM_THREADS=str(threads))
    start = time.perf_counter()
    child = subprocess.Popen([sys.executable, "-c", code, *args], env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True, cwd=tempfile.gettempdir())  # not a checkout
    out = child.stdout.read()
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - start
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        raise SystemExit(f"child failed ({child.returncode}):\n{out[-3000:]}")
    return wall, usage.ru_maxrss * 1024, out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--gallery", help="index this folder instead of generated GIFs")
    parser.add_argument("--gifs", type=int, default=8, help="generated GIFs (default 8)")
    parser.add_argument("--film", type=int, metavar="N", help="generate N film-like GIFs instead of large ones")
    parser.add_argument("--against", metavar="CHECKOUT", help="also run this checkout's `pvse index` ('before')")
    parser.add_argument("--no-previous", action="store_true", help="skip the 'previous' decoder variant")
    parser.add_argument("--no-full", action="store_true", help="skip the 'full' (no shrinking) variant")
    parser.add_argument("--sizes", default="1000,1600,2200,3000", help="widths of the generated GIFs, cycled")
    parser.add_argument("--repeats", type=int, default=1, help="rounds of (new, full) runs (default 1)")
    parser.add_argument("--weights", help="checkpoint (default: the bundled model)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--baseline-rev", default="ac8a7e6",
                        help="git revision whose pvse/media.py is the 'previous' decoder (default: the last one "
                             "before this decoder)")
    parser.add_argument("--json-out")
    args = parser.parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="pvse-decode-bench-"))
    os.environ["PVSE_ONNX_CACHE"] = str(tmp / "onnx-cache")  # the children's own, filled by the model-only child
    try:
        if args.gallery:
            gallery, described = Path(args.gallery).resolve(), None
        else:
            gallery = tmp / "gifs"
            gallery.mkdir()
            tick = time.perf_counter()
            described = (make_film_gallery(gallery, args.film, args.seed) if args.film else
                         make_gallery(gallery, args.gifs, [int(s) for s in args.sizes.split(",")], args.seed))
            print(f"wrote {len(described)} GIFs in {time.perf_counter() - tick:.0f} s: {', '.join(described)}",
                  flush=True)
        weights = ["--weights", args.weights] if args.weights else []
        model_args = [args.weights] if args.weights else []
        first_wall, first_rss, _ = run_child(MODEL_ONLY, model_args, args.threads)  # exports and caches the CNN
        _, model_rss, _ = run_child(MODEL_ONLY, model_args, args.threads)
        print(f"model + frame CNN alone: first run (exports the CNN) {first_wall:.1f} s, peak RSS "
              f"{first_rss / 2**20:.0f} MiB; with the cached export {model_rss / 2**20:.0f} MiB", flush=True)
        previous = None if args.no_previous else previous_media_module(args.baseline_rev, tmp)
        against = Path(args.against).resolve() if args.against else None
        variants = (["new"] + ([] if args.no_full else ["full"]) + (["previous"] if previous else [])
                    + (["before"] if against else []))
        if previous is None and not args.no_previous:
            print(f"no 'previous' variant: cannot read pvse/media.py at {args.baseline_rev} from git", flush=True)
        results: dict[str, list[tuple[float, int, float]]] = {v: [] for v in variants}
        for _ in range(args.repeats):
            for variant in variants:
                out_dir = tmp / f"{variant}.index"
                shutil.rmtree(out_dir, ignore_errors=True)
                code = {"new": "", "full": FULL_SIZE_PATCH, "previous": PREVIOUS_DECODER + FULL_SIZE_PATCH,
                        "before": ""}[variant]
                extra = [str(previous)] if variant == "previous" else []
                cli = ["index", str(gallery), "--out", str(out_dir), "--quiet", *weights]
                root = against if variant == "before" else REPO
                wall, rss, out = run_child(code + RUN_CLI, [*extra, *cli], args.threads, root)
                meta = json.loads((out_dir / META_FILE).read_text())
                clips = meta["counts"]["clips"]
                busy = sum(float(m.group(1)) for m in re.finditer(r"(?:features|encoder) ([0-9.]+) s", out))
                speed = clips / busy if busy else clips / wall  # decode + CNN + encoder, as the report counts
                results[variant].append((speed, rss, wall))
                failed = len(meta["last_build"]["failed"])
                print(f"{variant}: {clips} clips ({failed} failed), {speed:.2f} clips/s encoded, wall {wall:.1f} s, "
                      f"peak RSS {rss / 2**20:.0f} MiB", flush=True)
        med = {v: (statistics.median(r[0] for r in rs), statistics.median(r[1] for r in rs)) for v, rs in results.items()}
        print()
        print(f"model + frame CNN alone: peak RSS {model_rss / 2**20:.0f} MiB")
        print(f"{'variant':<8} {'clips/s':>8} {'peak RSS MiB':>13} {'above model MiB':>16}")
        for v in reversed(variants):
            print(f"{v:<8} {med[v][0]:8.2f} {med[v][1] / 2**20:13.0f} {(med[v][1] - model_rss) / 2**20:16.0f}")
        ratios = {}
        for base in variants[1:]:
            ratios[base] = {"speed": med["new"][0] / med[base][0], "rss": med["new"][1] / med[base][1],
                            "rss_above_model": (med["new"][1] - model_rss) / max(1, med[base][1] - model_rss)}
            print(f"new / {base}: speed x{ratios[base]['speed']:.2f}, peak RSS x{ratios[base]['rss']:.2f}, "
                  f"RSS above the model x{ratios[base]['rss_above_model']:.2f}")
        if args.json_out:
            Path(args.json_out).write_text(json.dumps({
                "gallery": str(gallery) if args.gallery else "generated", "gifs": described,
                "model_rss_bytes": model_rss, "runs": results, "ratios": ratios}, indent=2))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
