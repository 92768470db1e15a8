"""What reading the text in frames costs `pvse index`: the same folder indexed with and without it, side by side.

    python -m benchmarks.read_text_benchmark GIF_DIR [--repeats 1] [--weights DIR]

Each build runs in its own process (`python -m pvse index ... [--no-read-text] --rebuild`, no feature cache), the
two kinds interleaved so that a loaded machine slows both alike; prints seconds, clips/s, peak RSS (MiB) of each
run and the ratio of the medians. The index's own timings (decode + CNN, read text, text heads) come from its
summary line.
"""
from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def run(gif_dir: Path, out: Path, read_text: bool, weights: str | None) -> dict:
    command = [sys.executable, "-m", "pvse", "index", str(gif_dir), "--out", str(out), "--rebuild", "--quiet",
               "--device", "cpu"] + ([] if read_text else ["--no-read-text"]) + (["--weights", weights] if weights else [])
    started = time.perf_counter()
    wrapped = [sys.executable, "-c", "import resource, subprocess, sys; rc = subprocess.call(sys.argv[1:]); "
               "print('maxrss_kib', resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr); "
               "sys.exit(rc)", *command]
    done = subprocess.run(wrapped, capture_output=True, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    seconds = time.perf_counter() - started
    if done.returncode:
        raise SystemExit(f"pvse index failed: {done.stderr.strip()[-500:]}")
    clips = int(re.search(r"indexed (\d+) clips", done.stdout).group(1))
    rss = int(re.search(r"maxrss_kib (\d+)", done.stderr).group(1)) / 1024
    timings = dict((k, float(v)) for k, v in re.findall(r"([a-z ]+) ([\d.]+) s", done.stdout.split("time:", 1)[-1]))
    return {"read_text": read_text, "seconds": seconds, "clips": clips, "clips_per_s": clips / seconds,
            "peak_rss_mib": rss, "timings": {k.strip(): v for k, v in timings.items()}}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("gif_dir", type=Path)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--weights", default=None)
    args = parser.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory(prefix="read-text-bench-") as tmp:
        for repeat in range(args.repeats):
            for read_text in ((False, True) if repeat % 2 == 0 else (True, False)):
                row = run(args.gif_dir, Path(tmp) / f"{read_text}.index", read_text, args.weights)
                rows.append(row)
                print(f"reading {'on ' if read_text else 'off'}: {row['seconds']:.1f} s, {row['clips_per_s']:.2f} "
                      f"clips/s, peak RSS {row['peak_rss_mib']:.0f} MiB, " +
                      ", ".join(f"{k} {v:.1f} s" for k, v in row["timings"].items()), flush=True)
    on = statistics.median(r["seconds"] for r in rows if r["read_text"])
    off = statistics.median(r["seconds"] for r in rows if not r["read_text"])
    print(f"reading text adds {100 * (on / off - 1):.0f} % to pvse index ({on:.1f} s vs {off:.1f} s, median of "
          f"{args.repeats} each)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
