"""Index build throughput and memory: one process (fp32, int8) and Ray (1 and 2 workers), side by side in one run.

    python -m benchmarks.index_benchmark /work/realgifs --clips 48 --repeats 2
    python -m benchmarks.index_benchmark                  # the bundled emoji gallery

Each variant is a fresh child process (`python -m benchmarks.index_benchmark --variant NAME ...`) that indexes
a copy of --clips GIFs taken evenly from GALLERY (recursively) into a new index, no feature cache; the parent
takes its peak RSS from `os.wait4` and its report (clips/s end to end, stage times). Ray
variants start a local Ray instance with that many 1-CPU actors (`pvse index --ray local`); their workers
report their own peak RSS. Rounds alternate the order of the variants, and each round's ratios are to that
round's `fp32`, so a shared, noisy machine still compares them fairly (medians over rounds are printed).
Before the rounds, each variant indexes 1 clip once (ONNX export / int8 calibration cached, not timed).

A stage profile comes first: decode, CNN (fp32 and int8, batches interleaved) and encoder, ms per clip, and the
cosine between int8 and fp32 features of every frame.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks import BUNDLED_GALLERY, REPO_ROOT

VARIANTS = ("fp32", "int8", "ray1", "ray2")  # also: ray2int8 (Ray, 2 workers, int8 CNN)
ABOUT = {"fp32": "one process, fp32 CNN (default)", "int8": "one process, int8 CNN (--precision int8)",
         "ray1": "Ray, 1 worker (--ray local)", "ray2": "Ray, 2 workers (--ray local)",
         "ray2int8": "Ray, 2 workers, int8 CNN"}


def pick(gallery: Path, clips: int) -> list[Path]:
    every = sorted(p for p in gallery.rglob("*") if p.suffix.lower() == ".gif")
    return every[:: max(1, len(every) // clips)][:clips]


def copy_gallery(files: list[Path], dest: Path) -> Path:
    dest.mkdir(parents=True)
    for i, path in enumerate(files):
        shutil.copy(path, dest / f"{i:04d}-{path.name}")
    return dest


def run_variant(variant: str, gallery: Path, out: Path, weights: str, threads: int) -> dict:
    """In the child: build the index, return the report's numbers (and Ray workers' peak RSS)."""
    import torch

    from pvse.build import build_index
    torch.set_num_threads(threads)
    encoder = None
    if variant.startswith("ray"):
        from pvse.build.ray_build import RayEncoder
        encoder = RayEncoder("local", workers=int(variant[3]), threads=1)
    start = time.perf_counter()
    report = build_index(gallery, out, weights, device="cpu", progress=False, rebuild=True,
                         precision="int8" if variant.endswith("int8") else "fp32", encoder=encoder)
    wall = time.perf_counter() - start
    return {"variant": variant, "indexed": report.indexed, "failed": len(report.failed), "wall_s": wall,
            "clips_per_s": report.clips_per_second, "timings": report.timings,
            "worker_rss_mb": getattr(encoder, "worker_peak_rss_mb", None)}


def child(args: list[str], env: dict) -> tuple[dict, float]:
    """Run a variant in a fresh process: (its JSON result, its peak RSS in MiB)."""
    proc = subprocess.Popen([sys.executable, "-m", "benchmarks.index_benchmark", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True, cwd=REPO_ROOT, env=env)
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    if status != 0:
        raise RuntimeError(f"variant {args} failed (status {status})")
    return json.loads(out.strip().splitlines()[-1]), usage.ru_maxrss / 1024


def stage_profile(files: list[Path], weights: str, threads: int) -> dict:
    """ms per clip: decode, CNN fp32 and int8 (same batches, interleaved), video encoder."""
    import numpy as np
    import torch

    from pvse.clip_features import _extract_batch, frame_decode_size
    from pvse.media import decode_clip
    from pvse.pipeline import PVSEPipeline
    torch.set_num_threads(threads)
    fp32 = PVSEPipeline.from_pretrained(weights, device="cpu")
    int8 = PVSEPipeline.from_pretrained(weights, device="cpu", frame_precision="int8")
    size = frame_decode_size(fp32.config.frame_features, fp32.config.frame_preprocessing())
    t = fp32.config.num_frames
    start = time.perf_counter()
    clips = [decode_clip(p, num_frames=t, max_size=size).frames for p in files]
    decode = time.perf_counter() - start
    cnn = {"fp32": 0.0, "int8": 0.0}
    feats, feats8 = [], []
    for pipeline in (fp32, int8):
        _extract_batch(pipeline.frame_extractor, clips[:1])  # build + warm up
    for i in range(0, len(clips), 8):
        for name, pipeline in (("fp32", fp32), ("int8", int8)) if i % 16 == 0 else (("int8", int8), ("fp32", fp32)):
            start = time.perf_counter()
            out = _extract_batch(pipeline.frame_extractor, clips[i:i + 8])
            cnn[name] += time.perf_counter() - start
            (feats if name == "fp32" else feats8).extend(out)
    start = time.perf_counter()
    for i in range(0, len(feats), 8):
        fp32.encode_frame_features(np.stack(feats[i:i + 8]))
    encoder = time.perf_counter() - start
    n = len(files)
    a, b = np.concatenate(feats), np.concatenate(feats8)
    cosine = (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)
    return {"decode_ms": 1e3 * decode / n, "cnn_fp32_ms": 1e3 * cnn["fp32"] / n, "cnn_int8_ms": 1e3 * cnn["int8"] / n,
            "encoder_ms": 1e3 * encoder / n, "int8_cosine_mean": float(cosine.mean()),
            "int8_cosine_p1": float(np.percentile(cosine, 1)), "int8_cosine_min": float(cosine.min()),
            "frames": int(len(cosine))}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("gallery", nargs="?", default=str(BUNDLED_GALLERY), help="folder of GIFs (walked recursively)")
    parser.add_argument("--clips", type=int, default=48)
    parser.add_argument("--weights", default=str(REPO_ROOT / "weights" / "default"))
    parser.add_argument("--threads", type=int, default=2, help="CNN threads in one process (default 2)")
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--repeats", type=int, default=1, help="rounds, variant order alternating")
    parser.add_argument("--no-stages", action="store_true", help="skip the stage profile")
    parser.add_argument("--json-out")
    parser.add_argument("--variant", help=argparse.SUPPRESS)  # child mode
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.variant:
        result = run_variant(args.variant, Path(args.gallery), Path(args.out), args.weights, args.threads)
        result["self_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(json.dumps(result, default=float))
        return 0

    variants = [v for v in args.variants.split(",") if v]
    tmp = Path(tempfile.mkdtemp(prefix="pvse-index-bench-"))
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    try:
        files = pick(Path(args.gallery), args.clips)
        gallery = copy_gallery(files, tmp / "gallery")
        warm = copy_gallery(files[:1], tmp / "warm")
        for v in variants:
            if v in ("fp32", "int8"):  # Ray actors share the same on-disk ONNX cache
                child(["--variant", v, str(warm), "--out", str(tmp / f"warm-{v}.index"), "--weights", args.weights,
                       "--threads", str(args.threads)], env)
        stages = None if args.no_stages else stage_profile(files, args.weights, args.threads)
        if stages:
            print("stage profile (ms per clip; int8 vs fp32 feature cosine per frame):",
                  json.dumps({k: round(v, 4) for k, v in stages.items()}), flush=True)
        rounds: list[dict[str, dict]] = []
        load = []
        for r in range(args.repeats):
            order = variants if r % 2 == 0 else variants[::-1]
            results = {}
            for v in order:
                load.append(os.getloadavg()[0])
                result, rss = child(["--variant", v, str(gallery), "--out", str(tmp / f"{v}.index"),
                                     "--weights", args.weights, "--threads", str(args.threads)], env)
                result["peak_rss_mb"] = rss
                results[v] = result
                print(f"round {r + 1} {v}: {result['clips_per_s']:.2f} clips/s, wall {result['wall_s']:.1f} s, "
                      f"peak RSS {rss:.0f} MiB", flush=True)
            rounds.append(results)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    def med(v, key):
        return statistics.median(rd[v][key] for rd in rounds)

    base = "fp32" if "fp32" in variants else variants[0]
    summary = {"gallery": args.gallery, "clips": len(files), "threads": args.threads, "repeats": args.repeats,
               "load_average": [min(load), max(load)], "stages": stages, "rounds": rounds}
    print(f"\n{len(files)} GIFs from {args.gallery}; {args.repeats} round(s), load average "
          f"{min(load):.1f}-{max(load):.1f} during the runs; medians over rounds; ratios to {base} in the same round.\n")
    print("| variant | clips/s (end to end) | × vs fp32 | wall s | peak RSS (driver) | peak RSS per Ray worker |")
    print("|---|---|---|---|---|---|")
    for v in variants:
        ratio = statistics.median(rd[v]["clips_per_s"] / rd[base]["clips_per_s"] for rd in rounds)
        worker = [rd[v]["worker_rss_mb"] for rd in rounds if rd[v].get("worker_rss_mb")]
        print(f"| {ABOUT.get(v, v)} | {med(v, 'clips_per_s'):.2f} | ×{ratio:.2f} | {med(v, 'wall_s'):.1f} | "
              f"{med(v, 'peak_rss_mb'):.0f} MiB | {f'{statistics.median(worker):.0f} MiB' if worker else '-'} |")
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(summary, indent=2, default=float))
    return 0


if __name__ == "__main__":
    sys.exit(main())
