"""Cold start of the CLI and the demo, as ratios to `python -c "import torch"`, side by side in one run.

    python -m benchmarks.startup_benchmark [--repeats 3] [--no-demo] [--against OTHER_CHECKOUT]

Each command runs as a fresh process (interleaved with the baseline, --repeats rounds, medians reported), from
a temporary folder with this checkout on PYTHONPATH and one thread, on the bundled model and gallery:
- `python -c "import torch"`: the baseline (any PVSE search has to load torch);
- `pvse --help`;
- `pvse search "..." --json --top-k 5`: load the index and the model, answer, exit;
- `python -m demo`: from launch to the first answered search (the page is served only once the model is
  loaded and has answered a warm-up query).
--against DIR also times the pvse commands of another checkout (e.g. `git archive` of an older commit), interleaved
with this one's, so old and new are measured side by side in one run.
Not a test: the numbers depend on the machine and its load; the ratios are what to compare.
"""
from __future__ import annotations

import argparse
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
QUERY = "my reaction when my code compiles on the first try"


def run_once(argv: list[str], cwd: str, env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(argv, cwd=cwd, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def demo_to_first_answer(cwd: str, env: dict[str, str]) -> float:
    """Seconds from `python -m demo` to the first search answered over HTTP by gradio_client."""
    from gradio_client import Client

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "demo", "--port", str(port)], cwd=cwd, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        for line in proc.stdout:
            if re.search(r"open http://", line):
                break
        else:
            raise RuntimeError("the demo exited before serving")
        Client(f"http://127.0.0.1:{port}/", verbose=False).predict(QUERY, 5, api_name="/search")
        return time.perf_counter() - started
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-demo", action="store_true")
    parser.add_argument("--against", metavar="CHECKOUT", help="another checkout to time beside this one")
    args = parser.parse_args()
    checkouts = {"": REPO} | ({" (other)": Path(args.against).resolve()} if args.against else {})
    base_env = {**os.environ, "OMP_NUM_THREADS": "1", "GRADIO_ANALYTICS_ENABLED": "False", "HF_HUB_OFFLINE": "1"}
    baseline = 'python -c "import torch"'
    runs: dict[str, tuple[list[str] | None, dict[str, str]]] = {baseline: ([sys.executable, "-c", "import torch"],
                                                                        base_env)}
    for label, checkout in checkouts.items():
        env = {**base_env, "PYTHONPATH": str(checkout)}
        runs[f"pvse --help{label}"] = ([sys.executable, "-m", "pvse", "--help"], env)
        runs[f"pvse search --json{label}"] = ([sys.executable, "-m", "pvse", "search", QUERY, "--json", "--top-k", "5"],
                                              env)
        if not args.no_demo:
            runs[f"python -m demo, to the first answer{label}"] = (None, env)
    times: dict[str, list[float]] = {name: [] for name in runs}
    with tempfile.TemporaryDirectory() as cwd:
        for _ in range(args.repeats):
            for name, (argv, env) in runs.items():
                times[name].append(run_once(argv, cwd, env) if argv else demo_to_first_answer(cwd, env))
    base = statistics.median(times[baseline])
    print(f"{os.cpu_count()} CPUs, {args.repeats} runs each (median), one thread, bundled model and gallery"
          + (f"; (other) = {args.against}" if args.against else "") + "\n")
    print("| command | seconds | × import torch |")
    print("|---|---|---|")
    for name, values in times.items():
        median = statistics.median(values)
        print(f"| `{name}` | {median:.2f} | {median / base:.2f} |")


if __name__ == "__main__":
    main()
