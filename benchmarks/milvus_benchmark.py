"""Milvus Lite against faiss flat and IVF-PQ on the same synthetic galleries, in one run. Not a test: run by hand.

    nice -n 10 python -m benchmarks.milvus_benchmark                           # 100k clips, K=4, H=512
    nice -n 10 python -m benchmarks.milvus_benchmark --sizes 100000 1000000 --milvus-kinds flat hnsw

For each gallery size (synthetic clustered unit vectors from benchmarks/search_benchmark.py, K heads of H
dims per clip; queries are noisy copies of random clips), every engine answers the same queries with the
project's own search code (`faiss_search.search_top_k`, `milvus_index.search_top_k`: candidates, then exact
max-over-K² re-scoring) and is measured on:

- build: faiss index construction / Milvus collection creation + insert of every clip's K rows (with the
  path, content hash and frame attention a real gallery stores) + flush + index build + load;
- query latency p50 / p95 over --queries queries (one thread: the project's query setting);
- recall@10 against exact brute force (`brute_force_top_k`), and whether the top-10 equals it exactly;
- memory per clip: faiss index bytes held in RAM (flat: the vectors; IVF-PQ: the codes, plus the float32
  embeddings memory-mapped for re-scoring), Milvus Lite: growth of this process's resident memory (Milvus Lite
  runs in-process) from before the insert to after the queries;
- disk per clip: the faiss file (+ embeddings.npy for IVF-PQ re-scoring), the Milvus Lite database folder.

Results go to benchmarks/results/milvus.json and .md (a markdown table, also pasted into docs/milvus.md).
"""
from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from benchmarks.search_benchmark import (
    available_bytes,
    file_size,
    set_threads,
    synthetic_flat,
    synthetic_queries,
)
from pvse.index import milvus_index, milvus_write
from pvse.index.faiss_search import build_vector_index, search_top_k
from pvse.index.kinds import default_params
from pvse.index.milvus_store import ClipData, MilvusStore
from pvse.index.ranking import brute_force_top_k
from pvse.index.records import ClipRecord

RESULTS = Path(__file__).resolve().parent / "results"
FRAMES = 8  # frame attention stored per clip (K x T floats) and frame indices, as a real gallery has


def rss_bytes() -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def folder_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in Path(path).rglob("*") if f.is_file())


def run_queries(search, queries, exact_rows) -> dict:
    """Latency (one warm-up, then each query once), recall@10 and exact-equality against brute force."""
    search(queries[0])
    times, recall, identical = [], [], True
    for q, ref in zip(queries, exact_rows):
        start = time.perf_counter()
        got = search(q)
        times.append((time.perf_counter() - start) * 1000)
        rows = got.rows.tolist()
        recall.append(len(set(rows) & set(ref)) / len(ref))
        identical &= rows == ref
    return {"p50_ms": float(np.percentile(times, 50)), "p95_ms": float(np.percentile(times, 95)),
            "recall_at_10": float(np.mean(recall)), "equals_exact": bool(identical)}


def faiss_engines(embeddings: np.ndarray, queries, exact_rows, n: int, k: int, dim: int, workdir: Path) -> dict:
    out = {}
    start = time.perf_counter()
    flat, _ = build_vector_index(embeddings.reshape(-1, dim), "flat")
    build_s = time.perf_counter() - start
    out["faiss flat"] = {"build_s": build_s, **run_queries(lambda q: search_top_k(q, embeddings, flat, 10, exact=True),
                                                             queries, exact_rows),
                         "ram_bytes_per_clip": flat.ntotal * dim * 4 / n, "disk_bytes_per_clip": file_size(flat) / n}
    del flat
    params = {"nlist": min(4096, int(4 * np.sqrt(n * k)))}
    start = time.perf_counter()
    ivfpq, resolved = build_vector_index(embeddings.reshape(-1, dim), "ivf-pq", params)
    build_s = time.perf_counter() - start
    emb_file = workdir / "embeddings.npy"
    np.save(emb_file, embeddings)
    mapped = np.load(emb_file, mmap_mode="r")
    size = file_size(ivfpq)
    out["faiss ivf-pq"] = {"build_s": build_s, "params": resolved,
                           **run_queries(lambda q: search_top_k(q, mapped, ivfpq, 10, exact=False,
                                                                candidates_per_head=resolved["candidates_per_head"]),
                                         queries, exact_rows),
                           "ram_bytes_per_clip": size / n, "disk_bytes_per_clip": (size + emb_file.stat().st_size) / n,
                           "note": "RAM: PQ codes + lists; the float32 embeddings for re-scoring are memory-mapped"}
    del ivfpq, mapped
    emb_file.unlink()
    return out


def milvus_engine(kind: str, embeddings: np.ndarray, queries, exact_rows, n: int, k: int, dim: int, workdir: Path,
                  progress_every: int, candidates_per_head: int | None = None) -> dict:
    db = workdir / f"bench-{kind}.db"
    shutil.rmtree(db, ignore_errors=True)
    store = MilvusStore(f"milvus://{db}", create=True)
    given = {"candidates_per_head": candidates_per_head} if candidates_per_head and kind != "flat" else {}
    params = default_params(kind, n * k, dim, given)
    rss_before = rss_bytes()
    start = time.perf_counter()
    store.create_vectors("bench", dim, kind, params)
    attention = np.full((k, FRAMES), 1.0 / FRAMES, dtype=np.float32)
    frames = np.arange(FRAMES, dtype=np.int32) * 3
    for first in range(0, n, milvus_write.WRITE_CLIPS):
        clips = [ClipData(c, ClipRecord(f"clips/{c:07d}.gif", f"{c:032x}", 24), embeddings[c], attention, frames)
                 for c in range(first, min(n, first + milvus_write.WRITE_CLIPS))]
        store.write("bench", clips, upsert=False)
        if progress_every and (first // milvus_write.WRITE_CLIPS) % progress_every == 0:
            print(f"  milvus {kind}: {first + len(clips)}/{n} clips written, {time.perf_counter() - start:.0f} s",
                  file=sys.stderr, flush=True)
    insert_s = time.perf_counter() - start
    store.call("flush", "flush", "bench")
    store.call("index", "load_collection", "bench")
    assert store.count("bench") == n * k
    build_s = time.perf_counter() - start
    result = run_queries(lambda q: milvus_index.search_top_k(store, "bench", q, 10, num_clips=n, num_embeds=k,
                                                               kind=kind, params=params), queries, exact_rows)
    ram = rss_bytes() - rss_before
    store.close()
    disk = folder_bytes(db)
    shutil.rmtree(db, ignore_errors=True)
    return {"build_s": build_s, "insert_s": insert_s, "params": params, **result,
            "ram_bytes_per_clip": ram / n, "disk_bytes_per_clip": disk / n}


def one_size(n: int, args) -> dict:
    k, dim = args.k, args.dim
    need = n * k * dim * 4
    if need * 3.5 + 2 * 2**30 > available_bytes():
        return {"clips": n, "skipped": f"needs ~{need * 3.5 / 2**30:.1f} GiB, {available_bytes() / 2**30:.1f} GiB "
                                       "available (vectors, one index copy, Milvus Lite's copy)"}
    out: dict = {"clips": n, "K": k, "H": dim, "queries": args.queries}
    start = time.perf_counter()
    source, embeddings = synthetic_flat(n, k, dim, seed=n)
    embeddings = np.array(embeddings)  # own copy: the generator's faiss index can go
    del source
    out["generate_s"] = time.perf_counter() - start
    queries = synthetic_queries(embeddings, args.queries, k, seed=n)
    exact_ms, exact_rows = [], []
    for q in queries:
        t = time.perf_counter()
        exact_rows.append(brute_force_top_k(q, embeddings, 10).rows.tolist())
        exact_ms.append((time.perf_counter() - t) * 1000)
    out["brute force"] = {"p50_ms": statistics.median(exact_ms), "p95_ms": float(np.percentile(exact_ms, 95))}
    workdir = Path(tempfile.mkdtemp(prefix="pvse-milvus-bench-", dir=args.workdir))
    try:
        engines = {}
        if not args.skip_faiss:
            print(f"{n} clips: faiss", file=sys.stderr, flush=True)
            engines.update(faiss_engines(embeddings, queries, exact_rows, n, k, dim, workdir))
        for kind in args.milvus_kinds:
            print(f"{n} clips: milvus lite {kind}", file=sys.stderr, flush=True)
            name = f"milvus lite {kind}" + (f" ({args.milvus_candidates} per head)"
                                            if args.milvus_candidates and kind != "flat" else "")
            engines[name] = milvus_engine(kind, embeddings, queries, exact_rows, n, k, dim, workdir,
                                          args.progress_every, args.milvus_candidates)
        out["engines"] = engines
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return out


def markdown(results: list[dict]) -> str:
    lines = []
    for res in results:
        if "skipped" in res:
            lines.append(f"{res['clips']:,} clips: skipped ({res['skipped']})\n")
            continue
        bf = res["brute force"]
        lines += [f"**{res['clips']:,} clips** (K={res['K']}, H={res['H']}, {res['queries']} queries, one query thread; "
                  f"brute force p50 {bf['p50_ms']:.0f} ms)", "",
                  "| engine | build | p50 | p95 | recall@10 | = exact | RAM / clip | disk / clip |",
                  "|---|---:|---:|---:|---:|:---:|---:|---:|"]
        for name, e in res["engines"].items():
            lines.append(f"| {name} | {e['build_s']:.0f} s | {e['p50_ms']:.1f} ms | {e['p95_ms']:.1f} ms | "
                         f"{e['recall_at_10']:.3f} | {'yes' if e['equals_exact'] else 'no'} | "
                         f"{e['ram_bytes_per_clip'] / 1024:.1f} KB | {e['disk_bytes_per_clip'] / 1024:.1f} KB |")
        lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000])
    parser.add_argument("--k", type=int, default=4)
    parser.add_argument("--dim", type=int, default=512)
    parser.add_argument("--queries", type=int, default=50)
    parser.add_argument("--milvus-kinds", nargs="+", default=["flat"], choices=["flat", "hnsw", "ivf", "ivf-sq8"])
    parser.add_argument("--milvus-candidates", type=int, default=None, metavar="N",
                        help="candidates_per_head of the approximate Milvus kinds (default: the index default, 256)")
    parser.add_argument("--skip-faiss", action="store_true")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--workdir", default=None, help="where the temporary databases go (default: $TMPDIR)")
    parser.add_argument("--progress-every", type=int, default=100, metavar="BATCHES")
    parser.add_argument("--out", default=str(RESULTS / "milvus"), help="results path without extension")
    args = parser.parse_args(argv)
    set_threads(args.threads)
    torch.manual_seed(0)
    results = []
    for n in args.sizes:
        results.append(one_size(n, args))
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out + ".json").write_text(json.dumps(results, indent=2) + "\n")
        Path(args.out + ".md").write_text(markdown(results) + "\n")
        print(markdown(results[-1:]), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
