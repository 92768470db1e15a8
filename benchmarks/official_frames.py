"""Which frames a converted official checkpoint sees on real GIFs: the official evaluation's (8 fps timeline, MRW /
TGIF loader rules) against the segment starts of the GIF's own frames that converted checkpoints used before.

    python -m benchmarks.official_frames /work/realgifs

Reads only the GIFs' structure (frame count and delays): no pixels, no CNN. Prints how many GIFs get the same
frames both ways, and the GIFs' own frame rates (the 8 fps timeline is FFmpeg's `-r 8` conversion,
`pvse.media.ffmpeg_rate`; docs/model.md).
"""
from __future__ import annotations

import argparse
import statistics
from pathlib import Path

from pvse.media import gif
from pvse.media.sampling import FrameSampling, gif_display_times, sample_frame_indices

RULES = {"tgif": 8, "mrw": 4}  # the official evaluation's T for each loader rule


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("gif_dir", type=Path, help="a folder of GIFs (searched recursively)")
    args = parser.parse_args(argv)
    same = dict.fromkeys(RULES, 0)
    rates: list[float] = []
    for path in sorted(args.gif_dir.rglob("*.gif")):
        try:
            structure = gif.parse_gif(path.read_bytes())
        except (OSError, gif.GifFormatError):
            continue
        n = len(structure.images)
        if n < 2:
            continue
        times = gif_display_times([image.delay_cs for image in structure.images])
        rates.append(n / float(sum(times.durations)))
        for rule, t in RULES.items():
            same[rule] += FrameSampling(rule, 8).choose(n, t, lambda times=times: times) == \
                sample_frame_indices(n, t, "starts")
    if not rates:
        parser.error(f"no animated GIF under {args.gif_dir}")
    print(f"{len(rates)} animated GIFs; own frame rate median {statistics.median(rates):.1f} fps, "
          f"{sum(r > 8 for r in rates) / len(rates):.0%} faster than 8 fps")
    for rule, t in RULES.items():
        print(f"{rule} (T = {t}): segment starts of the GIF's own frames = the official frames on "
              f"{same[rule]} of {len(rates)} GIFs")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
