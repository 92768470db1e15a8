"""`pvse index` of another checkout (a base commit) and of this one, side by side in one run, reading on and off.

    git worktree add /tmp/base 96d5eae
    python -m benchmarks.index_side_by_side GIF_DIR --base /tmp/base --rounds 3 [--json-out FILE]

Four variants: base and this checkout, each with its defaults (text reading on) and with `--no-read-text`. Each run
is a fresh `python -m pvse index GIF_DIR --rebuild --quiet --device cpu` under `/usr/bin/time -v` (its peak RSS),
with its own new, empty feature cache (deleted afterwards), so every run decodes, runs the CNN and reads text in
full. Rounds alternate the order (A B C D, then D C B A), so a machine whose load drifts slows both alike; ratios
are taken within a round, then the median over rounds. The load average is recorded before every run. Also
compared: how many clips each checkout found text in, and whether the texts are the same (from the indexes' own
clips.jsonl; the texts themselves are not printed: the GIFs may carry no licence).
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

from benchmarks import REPO_ROOT

VARIANTS = ("base", "base-pixels", "new", "new-pixels")


def run_index(checkout: Path, gallery: Path, work: Path, read_text: bool) -> dict:
    """One build: wall seconds, peak RSS (MiB), the summary's clips, and each clip's read text."""
    out, cache = work / "out.index", work / "features"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    command = ["/usr/bin/time", "-v", sys.executable, "-m", "pvse", "index", str(gallery), "--out", str(out),
               "--rebuild", "--quiet", "--device", "cpu", "--feature-cache", str(cache)]
    command += [] if read_text else ["--no-read-text"]
    env = {**os.environ, "PYTHONPATH": str(checkout), "PYTHONUNBUFFERED": "1"}
    load = os.getloadavg()[0]
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=checkout)
    seconds = time.perf_counter() - started
    if done.returncode:
        raise SystemExit(f"pvse index failed in {checkout}: {done.stderr.strip()[-800:]}")
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", done.stderr).group(1)) / 1024
    clips = int(re.search(r"indexed (\d+) clips", done.stdout).group(1))
    texts = {}
    with open(out / "clips.jsonl", encoding="utf-8") as fh:
        for line in fh:
            clip = json.loads(line)
            read = clip.get("read_text") or {}
            texts[clip["path"]] = " ".join(item["text"] for item in read.get("lines", []))
    shutil.rmtree(work, ignore_errors=True)
    return {"seconds": seconds, "peak_rss_mib": rss, "clips": clips, "clips_per_s": clips / seconds,
            "load_before": load, "summary": done.stdout.strip().splitlines()[-3:], "texts": texts}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("gallery", type=Path)
    parser.add_argument("--base", type=Path, required=True, help="checkout of the commit to compare with")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--json-out", type=Path)
    args = parser.parse_args(argv)
    variants = [v for v in args.variants.split(",") if v]
    checkouts = {"base": args.base.resolve(), "new": REPO_ROOT}
    work = Path(tempfile.mkdtemp(prefix="pvse-side-by-side-"))
    rounds: list[dict[str, dict]] = []
    try:
        for r in range(args.rounds):
            results = {}
            for v in variants if r % 2 == 0 else variants[::-1]:
                side = v.split("-")[0]
                results[v] = run_index(checkouts[side], args.gallery, work / v, read_text=not v.endswith("pixels"))
                row = results[v]
                print(f"round {r + 1} {v}: {row['seconds']:.1f} s, {row['clips_per_s']:.2f} clips/s, peak RSS "
                      f"{row['peak_rss_mib']:.0f} MiB, load before {row['load_before']:.2f}", flush=True)
            rounds.append(results)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    def stats(values: list[float]) -> str:
        return f"{min(values):.1f} / {statistics.median(values):.1f} / {max(values):.1f}"

    loads = [rd[v]["load_before"] for rd in rounds for v in variants]
    print(f"\n{rounds[0][variants[0]]['clips']} clips from {args.gallery}; {args.rounds} rounds, order alternating; "
          f"load average before the runs {min(loads):.2f}-{max(loads):.2f}; {os.cpu_count()} CPUs\n")
    print("| variant | seconds (min / median / max) | clips/s (median) | peak RSS MiB (max) |")
    print("|---|---|---|---|")
    for v in variants:
        secs = [rd[v]["seconds"] for rd in rounds]
        print(f"| {v} | {stats(secs)} | {statistics.median(rd[v]['clips_per_s'] for rd in rounds):.2f} | "
              f"{max(rd[v]['peak_rss_mib'] for rd in rounds):.0f} |")
    ratios = {}
    if {"base", "new"} <= set(variants):
        ratios["speed-up, defaults (base s / new s)"] = [rd["base"]["seconds"] / rd["new"]["seconds"] for rd in rounds]
    for side in ("base", "new"):
        if {side, f"{side}-pixels"} <= set(variants):
            ratios[f"reading's cost, {side} (% over pixels only)"] = [
                100 * (rd[side]["seconds"] / rd[f"{side}-pixels"]["seconds"] - 1) for rd in rounds]
    if ratios:
        print("\n| ratio, within each round | min / median / max |\n|---|---|")
        for name, values in ratios.items():
            print(f"| {name} | {stats(values)} |")
    if {"base", "new"} <= set(variants):
        old, new = rounds[0]["base"]["texts"], rounds[0]["new"]["texts"]
        with_text = (sum(1 for t in old.values() if t), sum(1 for t in new.values() if t))
        lost = [p for p, t in old.items() if t and not new.get(p)]
        differ = [p for p, t in old.items() if t and new.get(p) and new[p] != t]
        print(f"\nclips with text read: base {with_text[0]}, new {with_text[1]}; lost {len(lost)}, text differs "
              f"{len(differ)}, same {sum(1 for p, t in old.items() if t and new.get(p) == t)}")
    if args.json_out:
        for rd in rounds:
            for row in rd.values():
                row.pop("texts", None)
        args.json_out.write_text(json.dumps({"gallery": str(args.gallery), "rounds": rounds, "loads": loads},
                                            indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
