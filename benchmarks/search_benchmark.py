"""Search speed, exactness, recall and memory of the gallery index. Not a test: run it by hand.

    python -m benchmarks.search_benchmark                       # everything, numbers as a markdown table
    python -m benchmarks.search_benchmark --scales 10000 100000 --skip-latency

1. Query latency on the bundled gallery (encode + search + result assembly), p50 / p95 over --latency-queries
   queries, with `Searcher.search` exactly as the CLI and the demo call it. Without a bundled index
   (--index, default gallery/noto-emoji.index) a stand-in index of the same size and model shape is used and
   the report says so.
2. Search alone on synthetic galleries of 10k, 100k and 1M clips (K embeddings of the bundled model's size H,
   clustered like real embeddings: clips share topics, a clip's heads share a centre; queries are noisy
   copies of a random clip's centre). Compared on the same queries:
   - brute force: the project's `max_over_k2_scores` over every clip (pvse.similarity), and a plain PyTorch
     matmul + max over K² (one GEMM, no head bookkeeping);
   - faiss flat + exact re-scoring (`search_top_k(exact=True)`): checked to return exactly brute force's top-10;
   - approximate faiss indexes (IVF-PQ; HNSW up to --hnsw-max clips) with exact re-scoring of candidates:
     recall@10 against exact and speed-up over brute force; build time; memory per clip.
Memory is checked before each scale; a scale that does not fit in the memory available is reported as skipped.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import faiss
import numpy as np
import torch

from pvse.index.faiss_search import build_vector_index, search_top_k
from pvse.index.meta import META_FILE
from pvse.index.ranking import brute_force_top_k

QUERIES = [
    "my reaction when the code compiles on the first try", "when you realise it is monday again",
    "me pretending to listen in a meeting", "so happy I could cry", "that awkward moment", "laughing so hard",
    "I am furious", "mind blown", "sending love to you", "good night everyone", "yes we won", "oh no",
    "thank you so much", "party time", "I am so tired", "this is fine", "cool story", "congratulations",
    "feeling sick", "scared of the dark", "hugs", "a big kiss", "facepalm", "thinking hard about it",
    "money money money", "it is so cold outside", "hot summer day", "happy birthday", "see you later",
    "nervous before the exam", "surprised face", "eye roll", "shrug", "clapping for you", "fire",
    "the coffee kicked in", "crying in the corner", "sleepy cat", "dancing all night", "rainbow",
]


def set_threads(count: int) -> None:
    torch.set_num_threads(count)
    faiss.omp_set_num_threads(count)


def available_bytes() -> int:
    with open("/proc/meminfo") as fh:
        info = {line.split(":")[0]: int(line.split()[1]) * 1024 for line in fh}
    return info.get("MemAvailable", info["MemFree"])


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q))


def timed(fn, repeat: int) -> tuple[float, object]:
    """Fastest of `repeat` calls in milliseconds (after one warm-up call; the least noisy estimate on a shared
    machine), and the last result."""
    result = fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append((time.perf_counter() - start) * 1000)
    return min(times), result


# --------------------------------------------------------------------------------------------------- latency
def bundled_or_standin(index_dir: str | None, clips: int):
    from pvse.defaults import default_index
    from pvse.search import Searcher
    path = Path(index_dir) if index_dir else default_index()
    if (path / META_FILE).is_file():
        return Searcher.load(path, device="cpu"), f"{path} ({'bundled' if not index_dir else 'given'})"
    return standin_searcher(clips), (f"STAND-IN: no index at {path}; random-init model with the default "
                                     f"PVSEConfig and a {clips}-clip index of the same shapes")


def standin_searcher(clips: int):
    """A Searcher over `clips` random unit embeddings with a random-init model (same cost as the real one)."""
    from pvse.checkpoints import load_checkpoint, save_checkpoint
    from pvse.config import PVSEConfig
    from pvse.index.meta import FORMAT_NAME, FORMAT_VERSION
    from pvse.index.records import ClipRecord
    from pvse.index.store import GalleryIndex, write_index
    from pvse.model import PVSE
    from pvse.pipeline import PVSEPipeline
    from pvse.search import Searcher
    config_file = Path(__file__).resolve().parents[1] / "weights" / "default" / "config.json"
    config = PVSEConfig.from_dict(json.loads(config_file.read_text())) if config_file.is_file() else PVSEConfig()
    tmp = Path(tempfile.mkdtemp(prefix="pvse-bench-"))
    torch.manual_seed(0)
    weights = save_checkpoint(PVSE(config).eval(), tmp / "weights")
    pipeline = PVSEPipeline(load_checkpoint(weights, device="cpu"), "cpu")
    k, h, t = max(config.num_embeds, 1), config.embed_dim, config.num_frames
    rng = np.random.default_rng(0)
    emb = rng.standard_normal((clips, k, h), dtype=np.float32)
    emb /= np.linalg.norm(emb, axis=-1, keepdims=True)
    vectors, params = build_vector_index(emb.reshape(-1, h), "flat")
    meta = {"format": FORMAT_NAME, "format_version": FORMAT_VERSION,
            "weights": {"ref": str(weights), "fingerprint": pipeline.fingerprint, "ref_is_relative_path": False},
            "num_embeds": k, "num_attention_heads": config.num_embeds, "embed_dim": h, "num_frames": t,
            "gallery_root": str(tmp / "gallery"), "vectors": {"kind": "flat", "params": params},
            "counts": {"clips": clips, "vectors": clips * k}}
    records = [ClipRecord(f"{i:03d}.gif", f"{i:032x}", 24, name=f"clip {i}") for i in range(clips)]
    index = GalleryIndex(meta, records, emb, np.full((clips, config.num_embeds, t), 1 / t, np.float32),
                         np.zeros((clips, t), np.int32), vectors)
    write_index(index, tmp / "index")
    from pvse.index.store import read_index
    return Searcher(read_index(tmp / "index"), pipeline)


def latency(args) -> dict:
    searcher, source = bundled_or_standin(args.index, args.standin_clips)
    for text in QUERIES[:5]:
        searcher.search(text, top_k=10)  # warm-up (word vectors, allocator)
    total, encode, search = [], [], []
    for i in range(args.latency_queries):
        text = QUERIES[i % len(QUERIES)] + ("" if i < len(QUERIES) else f" {i}")
        start = time.perf_counter()
        result = searcher.search(text, top_k=10)
        total.append((time.perf_counter() - start) * 1000)
        t0 = time.perf_counter()
        query = searcher.query_embeddings([text])[0]  # PVSE heads (+ the sentence head on an index with text)
        t1 = time.perf_counter()
        searcher.search_embeddings(query, 10)
        t2 = time.perf_counter()
        encode.append((t1 - t0) * 1000)
        search.append((t2 - t1) * 1000)
        assert result.hits or result.message
    cfg = searcher.pipeline.config
    return {"source": source, "clips": searcher.num_clips, "K": max(cfg.num_embeds, 1), "H": cfg.embed_dim,
            "word_features": cfg.word_features, "queries": len(total),
            "p50_ms": percentile(total, 50), "p95_ms": percentile(total, 95),
            "encode_p50_ms": percentile(encode, 50), "search_p50_ms": percentile(search, 50)}


# ------------------------------------------------------------------------------------------------- synthetic
def synthetic_flat(n: int, k: int, dim: int, seed: int, topics: int = 2000, chunk: int = 20_000):
    """A faiss flat index holding n*k clustered unit vectors; embeddings are a zero-copy view of its storage."""
    rng = np.random.default_rng(seed)
    centres_of_topics = rng.standard_normal((topics, dim), dtype=np.float32)
    centres_of_topics /= np.linalg.norm(centres_of_topics, axis=1, keepdims=True)
    index = faiss.IndexFlatIP(dim)
    for start in range(0, n, chunk):
        m = min(chunk, n - start)
        noise = rng.standard_normal((m, dim), dtype=np.float32) / float(np.sqrt(dim))
        centre = centres_of_topics[rng.integers(0, topics, m)] + noise
        heads = centre[:, None, :] + 0.7 * rng.standard_normal((m, k, dim), dtype=np.float32) / float(np.sqrt(dim))
        heads /= np.linalg.norm(heads, axis=-1, keepdims=True)
        index.add(np.ascontiguousarray(heads.reshape(-1, dim), dtype=np.float32))
    embeddings = faiss.rev_swig_ptr(index.get_xb(), n * k * dim).reshape(n, k, dim)
    return index, embeddings


def synthetic_queries(embeddings: np.ndarray, count: int, k: int, seed: int) -> list[torch.Tensor]:
    rng = np.random.default_rng(seed + 1)
    dim = embeddings.shape[-1]
    queries = []
    for row in rng.integers(0, embeddings.shape[0], count):
        centre = np.asarray(embeddings[row]).mean(0)
        q = centre[None] + 0.9 * rng.standard_normal((k, dim), dtype=np.float32) / float(np.sqrt(dim))
        queries.append(torch.from_numpy((q / np.linalg.norm(q, axis=-1, keepdims=True)).astype(np.float32)))
    return queries


def plain_torch_top_k(query: torch.Tensor, vectors: torch.Tensor, k_clip: int, top_k: int) -> np.ndarray:
    """One matmul over all K*M vectors, max over query heads and clip heads, top-k rows (ties: lower row)."""
    scores = (query @ vectors.T).view(query.size(0), -1, k_clip).amax(dim=(0, 2))
    top = torch.topk(scores, top_k).indices.numpy()
    return top


def file_size(index: faiss.Index) -> int:
    with tempfile.NamedTemporaryFile(suffix=".faiss") as fh:
        faiss.write_index(index, fh.name)
        return os.path.getsize(fh.name)


def scale(n: int, args) -> dict:
    k, dim = args.k, args.dim
    need = n * k * dim * 4
    if need * 1.3 + 2 * 2**30 > available_bytes():
        return {"clips": n, "skipped": f"needs ~{need * 1.3 / 2**30:.1f} GiB, {available_bytes() / 2**30:.1f} GiB available"}
    out: dict = {"clips": n, "vectors": n * k}
    start = time.perf_counter()
    flat, embeddings = synthetic_flat(n, k, dim, seed=n)
    out["generate_s"] = time.perf_counter() - start
    count = args.queries if n < 1_000_000 else max(3, args.queries // 4)
    queries = synthetic_queries(embeddings, count, k, seed=n)
    repeat = 3 if n <= 100_000 else 1
    vectors = torch.from_numpy(embeddings.reshape(-1, dim))
    brute, plain, exact_ms, exact_results = [], [], [], []
    identical = True
    for q in queries:
        ms, ref = timed(lambda: brute_force_top_k(q, embeddings, 10), repeat)
        brute.append(ms)
        ms, rows = timed(lambda: plain_torch_top_k(q, vectors, k, 10), repeat)
        plain.append(ms)
        ms, got = timed(lambda: search_top_k(q, embeddings, flat, 10, exact=True), repeat)
        exact_ms.append(ms)
        identical &= got.rows.tolist() == ref.rows.tolist() and set(rows.tolist()) == set(ref.rows.tolist())
        exact_results.append(ref.rows.tolist())
    out.update(brute_k2_ms=statistics.median(brute), brute_plain_ms=statistics.median(plain),
               faiss_flat_ms=statistics.median(exact_ms), flat_equals_brute=identical, queries=len(queries),
               flat_bytes_per_clip=k * dim * 4)
    kinds = [("ivf-pq", {"nlist": min(1024, int(4 * np.sqrt(n * k)))})]
    if n <= args.hnsw_max:
        kinds.append(("hnsw", {}))
    for kind, params in kinds:
        if kind == "hnsw" and (n * k * dim * 4) * 1.2 + 2 * 2**30 > available_bytes():
            out[kind] = {"skipped": "not enough memory for a second copy of the vectors"}
            continue
        set_threads(args.build_threads)
        start = time.perf_counter()
        index, resolved = build_vector_index(embeddings.reshape(-1, dim), kind, params)
        build_s = time.perf_counter() - start
        set_threads(args.threads)
        times, recall = [], []
        for q, exact_rows in zip(queries, exact_results):
            ms, got = timed(lambda: search_top_k(q, embeddings, index, 10, exact=False,
                                                 candidates_per_head=resolved["candidates_per_head"]), repeat)
            times.append(ms)
            recall.append(len(set(got.rows.tolist()) & set(exact_rows)) / 10)
        size = file_size(index)
        out[kind] = {"params": resolved, "build_s": build_s, "search_ms": statistics.median(times),
                     "recall_at_10": float(np.mean(recall)), "bytes_per_clip": size / n,
                     "speedup_vs_brute": statistics.median(brute) / statistics.median(times)}
        del index
    del flat, embeddings, vectors
    return out


def markdown(results: dict) -> str:
    lines = []
    lat = results.get("latency")
    if lat:
        lines += [f"Query latency ({lat['queries']} queries, {lat['clips']} clips, K={lat['K']}, H={lat['H']}, "
                  f"{lat['word_features']}; {lat['source']}):", "",
                  "| p50 | p95 | encode p50 | search p50 |", "|---|---|---|---|",
                  f"| {lat['p50_ms']:.1f} ms | {lat['p95_ms']:.1f} ms | {lat['encode_p50_ms']:.1f} ms | "
                  f"{lat['search_p50_ms']:.2f} ms |", ""]
    rows = results.get("scales", [])
    if rows:
        lines += [f"Search alone, synthetic clustered embeddings, K={results['K']}, H={results['H']}, top-10, "
                  f"median over queries of the fastest of repeated runs, ms per query, {results['threads']} "
                  f"search thread(s), {results['build_threads']} build threads:", "",
                  "| clips | brute force max_over_k2_scores | plain torch matmul | faiss flat + exact rescoring "
                  "(= brute force?) | flat / brute | IVF-PQ (recall@10, speed-up, build) | HNSW (recall@10, "
                  "speed-up, build) | bytes/clip flat / IVF-PQ / HNSW |",
                  "|---|---|---|---|---|---|---|---|"]
        for r in rows:
            if "skipped" in r:
                lines.append(f"| {r['clips']:,} | skipped: {r['skipped']} | | | | | | |")
                continue

            def approx(kind):
                a = r.get(kind)
                if not a:
                    return "not run"
                if "skipped" in a:
                    return a["skipped"]
                return f"{a['search_ms']:.1f} ms ({a['recall_at_10']:.2f}, {a['speedup_vs_brute']:.0f}x, {a['build_s']:.0f} s)"

            sizes = " / ".join(f"{int(x):,}" if x else "-" for x in (
                r["flat_bytes_per_clip"], r.get("ivf-pq", {}).get("bytes_per_clip"),
                r.get("hnsw", {}).get("bytes_per_clip")))
            lines.append(f"| {r['clips']:,} | {r['brute_k2_ms']:.1f} ms | {r['brute_plain_ms']:.1f} ms | "
                         f"{r['faiss_flat_ms']:.1f} ms ({'yes' if r['flat_equals_brute'] else 'NO'}) | "
                         f"{r['faiss_flat_ms'] / r['brute_k2_ms']:.2f} | {approx('ivf-pq')} | {approx('hnsw')} | {sizes} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--index", help="index for the latency part (default: the bundled gallery)")
    parser.add_argument("--standin-clips", type=int, default=714, help="size of the stand-in index when there is no bundled one")
    parser.add_argument("--latency-queries", type=int, default=200)
    parser.add_argument("--skip-latency", action="store_true")
    parser.add_argument("--scales", type=int, nargs="*", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--k", type=int, default=5, help="embeddings per clip (K)")
    parser.add_argument("--dim", type=int, default=None, help="H (default: the bundled model's, else 512)")
    parser.add_argument("--queries", type=int, default=20, help="queries per scale (a quarter of them at 1M)")
    parser.add_argument("--hnsw-max", type=int, default=100_000, help="largest scale at which HNSW is built")
    parser.add_argument("--threads", type=int, default=1, help="torch / faiss threads while searching (the "
                        "Searcher's default, pvse.search.searcher.QUERY_THREADS)")
    parser.add_argument("--build-threads", type=int, default=2, help="threads while building faiss indexes")
    parser.add_argument("--json-out", help="also write the raw numbers here")
    args = parser.parse_args(argv)
    set_threads(args.threads)
    if args.dim is None:
        config = Path(__file__).resolve().parents[1] / "weights" / "default" / "config.json"
        args.dim = json.loads(config.read_text())["embed_dim"] if config.is_file() else 512
    results: dict = {"K": args.k, "H": args.dim, "threads": args.threads, "build_threads": args.build_threads,
                     "scales": []}
    if not args.skip_latency:
        results["latency"] = latency(args)
        print(json.dumps(results["latency"]), file=sys.stderr, flush=True)
    for n in args.scales:
        results["scales"].append(scale(n, args))
        print(json.dumps(results["scales"][-1], default=str), file=sys.stderr, flush=True)
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(results, indent=2, default=str))
    print(markdown(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
