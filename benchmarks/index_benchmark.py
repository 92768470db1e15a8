"""Index build throughput on CPU and where the time goes. Not a test: run it by hand.

    python -m benchmarks.index_benchmark --clips 48

Takes --clips real GIFs spread over ../shared/data/noto-animated-emoji (the bundled gallery's source) and
1. times each stage alone, one after the other: decoding T frames (pvse.media.decode_clip), the frozen CNN
   (pipeline.frame_extractor, batches of --batch-size clips) and the video encoder (GRU + PIE-Net);
2. runs the real `build_index` (decoding in --workers threads overlapped with the CNN, no feature cache) and
   reports clips/s, then an incremental rerun on the unchanged folder.
Uses the bundled weights when present, else a random-init model of the default config (same cost: the
weights' values do not change the amount of work), and says which.
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from benchmarks import REPO_ROOT
from pvse.checkpoints import load_checkpoint, save_checkpoint
from pvse.config import PVSEConfig
from pvse.index import build_index
from pvse.media import decode_clip
from pvse.model import PVSE
from pvse.pipeline import PVSEPipeline

SHARED = REPO_ROOT.parent / "shared" / "data" / "noto-animated-emoji"


def load_pipeline(weights: str | None, tmp: Path) -> tuple[PVSEPipeline, str]:
    bundled = REPO_ROOT / "weights" / "default"
    ref = weights or (str(bundled) if (bundled / "config.json").is_file() else None)
    if ref:
        return PVSEPipeline(load_checkpoint(ref, device="cpu"), "cpu"), ref
    torch.manual_seed(0)
    path = save_checkpoint(PVSE(PVSEConfig()).eval(), tmp / "weights")
    return PVSEPipeline(load_checkpoint(path, device="cpu"), "cpu"), "STAND-IN random-init PVSEConfig() (no bundled weights yet)"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clips", type=int, default=48)
    parser.add_argument("--weights")
    parser.add_argument("--gallery", default=str(SHARED))
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json-out")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    tmp = Path(tempfile.mkdtemp(prefix="pvse-index-bench-"))
    try:
        source = Path(args.gallery)
        every = sorted(source.glob("*.gif"))
        total_in_gallery = len(every)
        picked = every[:: max(1, len(every) // args.clips)][: args.clips]
        gallery = tmp / "gallery"
        gallery.mkdir()
        for path in picked:
            shutil.copy(path, gallery / path.name)

        pipeline, weights_note = load_pipeline(args.weights, tmp)
        t = pipeline.config.num_frames
        start = time.perf_counter()
        extractor = pipeline.frame_extractor
        cnn_build_s = time.perf_counter() - start

        # 1. each stage alone
        start = time.perf_counter()
        clips = [decode_clip(gallery / p.name, num_frames=t) for p in picked]
        decode_s = time.perf_counter() - start
        extractor.extract(clips[0].frames)  # warm-up
        start = time.perf_counter()
        feats = []
        for i in range(0, len(clips), args.batch_size):
            batch = clips[i:i + args.batch_size]
            feats.append(extractor.extract(np.concatenate([c.frames for c in batch])).reshape(len(batch), t, -1))
        cnn_s = time.perf_counter() - start
        feats = np.concatenate(feats)
        pipeline.encode_frame_features(feats[:1])  # warm-up
        start = time.perf_counter()
        for i in range(0, len(feats), args.batch_size):
            pipeline.encode_frame_features(feats[i:i + args.batch_size])
        encoder_s = time.perf_counter() - start

        # 2. the real pipelined build, then an incremental rerun
        start = time.perf_counter()
        report = build_index(gallery, tmp / "gallery.index", pipeline=pipeline, batch_size=args.batch_size,
                             decode_workers=args.workers, progress=False)
        build_s = time.perf_counter() - start
        start = time.perf_counter()
        rerun = build_index(gallery, tmp / "gallery.index", pipeline=pipeline, progress=False)
        rerun_s = time.perf_counter() - start
        n = len(picked)
        frame_px = clips[0].frames.shape[1:3]
        result = {
            "weights": weights_note, "clips": n, "T": t, "frame_features": pipeline.config.frame_features,
            "cnn_backend": getattr(extractor, "backend", "?"), "frame_size": list(frame_px),
            "threads": args.threads, "cnn_build_s": cnn_build_s,
            "decode_ms_per_clip": decode_s / n * 1000, "cnn_ms_per_clip": cnn_s / n * 1000,
            "encoder_ms_per_clip": encoder_s / n * 1000,
            "serial_clips_per_s": n / (decode_s + cnn_s + encoder_s),
            "build_clips_per_s": report.indexed / build_s, "build_s": build_s, "build_timings": report.timings,
            "failed": report.failed, "rerun_s": rerun_s, "rerun_reused": rerun.reused,
            "full_gallery_clips": total_in_gallery,
            "full_gallery_estimate_min": total_in_gallery / (report.indexed / build_s) / 60,
        }
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(json.dumps(result, default=str), file=sys.stderr)
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(result, indent=2, default=str))
    r = result
    print(f"Index build on CPU ({r['threads']} threads), {r['clips']} GIFs from the bundled gallery's source, "
          f"T={r['T']} frames, {r['frame_features']} ({r['cnn_backend']}), weights: {r['weights']}:\n")
    print("| stage (alone) | ms per clip | share |\n|---|---|---|")
    parts = {"decode (PyAV, T frames)": r["decode_ms_per_clip"], "frame CNN": r["cnn_ms_per_clip"],
             "video encoder (GRU + PIE-Net)": r["encoder_ms_per_clip"]}
    for name, ms in parts.items():
        print(f"| {name} | {ms:.1f} | {ms / sum(parts.values()):.0%} |")
    print(f"\nserial sum: {r['serial_clips_per_s']:.2f} clips/s; real `build_index` (decode overlapped with the CNN, "
          f"{args.workers} decode threads): **{r['build_clips_per_s']:.2f} clips/s** ({r['build_s']:.1f} s for "
          f"{r['clips']} clips; the CNN is built once per run in {r['cnn_build_s']:.1f} s, not counted). "
          f"Whole {r['full_gallery_clips']}-clip gallery: about {r['full_gallery_estimate_min']:.1f} min. "
          f"Incremental rerun on the unchanged folder: {r['rerun_s']:.2f} s ({r['rerun_reused']} clips reused).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
