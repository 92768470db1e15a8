"""The on-disk gallery index: arrays and metadata side by side, keyed by row, written atomically.

An index directory holds (row r = one clip, K = embeddings per clip):

- `index.json`        format version, the weights (reference + fingerprint) and model config that built it,
                      the gallery root (relative to the index directory when possible), the faiss index kind
                      and parameters, counts, and the last build's summary;
- `clips.jsonl`       one JSON object per row: path relative to the gallery root, content hash, number of
                      source frames, name / caption / metadata;
- `embeddings.npy`    (M, K, H) float32, L2-normalised clip embeddings (used for exact re-scoring); an index
                      with text heads (`index.json` "text_heads" = K_t > 0) stores K - K_t GIF heads then the
                      K_t heads of the clip's caption or name;
- `attention.npy`     (M, K, T) float32, each head's attention over the T sampled frames (drawn by the demo);
- `frame_indices.npy` (M, T) int32, which source frames were sampled;
- `hub_scores.npy`    (M,) float32, each clip's hub score for the opt-in hub correction (`hubness`; indexes
                      written before it have none);
- `vectors.faiss`     the K*M vectors in a faiss inner-product index, vector id = row * K + head.

`write_index` writes everything into a temporary directory beside the target and swaps it in with
`os.replace` only once complete, so an interrupted build leaves the previous index as it was. The swap is two
renames (the old folder aside, the new one in); a kill between them leaves no folder at the target but both
copies beside it, and `recover_index` (run by `read_index` and by the next build) renames one back. A reader
that comes in between the two renames of a build that is still running waits for the new folder (SWAP_WAIT_S).
"""
from __future__ import annotations

import glob
import json
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from tokenize import TokenError
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import GalleryIndexError
from ..limits import MAX_CLIP_LINE_BYTES, MAX_META_BYTES, MAX_SOURCE_FRAMES, parse_json, read_json, whole
from .build_marker import BuildId, held, parse, this_build
from .meta import FORMAT_NAME, META_FILE, IndexMeta, MetaView, newer_format
from .records import ClipRecord, StoredClip, read_text_of, safe_relative_path

if TYPE_CHECKING:
    import faiss  # imported where vectors are read or written: an exhaustive search never needs it

CLIPS_FILE = "clips.jsonl"
EMBEDDINGS_FILE = "embeddings.npy"
ATTENTION_FILE = "attention.npy"
FRAME_INDICES_FILE = "frame_indices.npy"
HUB_SCORES_FILE = "hub_scores.npy"
VECTORS_FILE = "vectors.faiss"
SWAP_WAIT_S = 2.0  # how long a reader waits for a running build to finish swapping its new index in
MMAP_ABOVE_BYTES = 256 * 2**20  # larger embedding files are memory-mapped instead of read into RAM


@dataclass
class GalleryIndex(MetaView):
    """A loaded (or about to be written) index; `vectors` is the faiss index over embeddings.reshape(-1, H).

    `meta` may be given in its on-disk dictionary form; it is parsed into an `IndexMeta`.
    """

    meta: IndexMeta
    clips: list[ClipRecord]
    embeddings: np.ndarray  # (M, K, H) float32, possibly a read-only memmap
    attention: np.ndarray  # (M, K, T) float32
    frame_indices: np.ndarray  # (M, T) int32
    vectors: faiss.Index | None  # None until load_vectors() when read with load_vectors=False
    directory: Path | None = None
    hub_scores: np.ndarray | None = None  # (M,) float32, see `hubness`; None in indexes written before them
    uses_faiss: bool = False  # queries go through `vectors` (else every clip is scored); see `prepare_search`

    def __post_init__(self) -> None:
        if isinstance(self.meta, dict):
            self.meta = IndexMeta.from_dict(self.meta)

    @property
    def num_clips(self) -> int:
        return len(self.clips)

    @property
    def gallery_root(self) -> Path:
        """The gallery folder, resolved against the index directory when it was stored relative to it."""
        root = Path(self.meta.gallery_root)
        if not root.is_absolute() and self.directory is not None:
            root = self.directory / root
        return Path(os.path.abspath(root))

    def load_vectors(self) -> faiss.Index:
        """Read `vectors.faiss` (if not read yet) and check it matches the embeddings."""
        if self.vectors is None:
            try:
                self.vectors = _read_vectors(self.directory)
            except (OSError, RuntimeError) as exc:
                raise _damaged(self.directory, f"{VECTORS_FILE}: {exc}") from exc
            _validate(self)
        return self.vectors

    def weights_ref(self) -> str | None:
        """The weights recorded at build time, as a usable reference (local paths made absolute)."""
        ref = self.meta.weights.ref
        if ref and self.meta.weights.ref_is_relative_path and self.directory is not None:
            return os.path.abspath(self.directory / ref)
        return ref

    # -- the `backend.Gallery` contract ----------------------------------------------------------------------
    def prepare_search(self, scan_below: int | None = None) -> None:
        """Exact indexes under `scan_below` K*M vectors (default `faiss_search.SCAN_BELOW_VECTORS`) are answered
        by scoring every clip; the others load `vectors.faiss` now, with their search knobs set."""
        from .faiss_search import SCAN_BELOW_VECTORS, configure_search
        from .kinds import index_kind
        below = SCAN_BELOW_VECTORS if scan_below is None else scan_below
        self.uses_faiss = not index_kind(self.meta.kind).exact or self.num_clips * self.meta.embeddings_per_clip >= below
        if self.uses_faiss:
            configure_search(self.load_vectors(), self.meta.params)

    def top_k(self, query, top_k: int):
        """Top-k rows by max-over-K² (exact for a flat index): a scan of every clip, or faiss then re-scoring."""
        from .faiss_search import search_top_k
        from .kinds import index_kind
        from .ranking import brute_force_top_k
        if not self.uses_faiss:
            return brute_force_top_k(query, self.embeddings, top_k)
        return search_top_k(query, self.embeddings, self.load_vectors(), top_k, exact=index_kind(self.meta.kind).exact,
                            candidates_per_head=self.meta.params.get("candidates_per_head"))

    def clip_paths(self):
        return ((row, clip.path) for row, clip in enumerate(self.clips))

    def records(self):
        return enumerate(self.clips)

    def stored(self, rows):
        return {int(r): StoredClip(self.clips[r], np.asarray(self.embeddings[r], dtype=np.float32),
                                   np.asarray(self.attention[r], dtype=np.float32),
                                   np.asarray(self.frame_indices[r], dtype=np.int32)) for r in rows}

    def close(self) -> None:
        """Nothing is held open (the arrays are read, or memory-mapped read-only)."""


def write_index(index: GalleryIndex, out_dir: str | Path) -> Path:
    """Write `index` to `out_dir` atomically (temp directory beside it, then rename); returns the directory."""
    import faiss

    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_temporaries(out_dir)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.tmp-{this_build().token()}-", dir=out_dir.parent))
    try:
        os.chmod(tmp, 0o777 & ~current_umask())  # mkdtemp makes it private; an index folder is like any other
        with open(tmp / CLIPS_FILE, "w", encoding="utf-8") as fh:
            for record in index.clips:
                fh.write(record.to_json() + "\n")
        np.save(tmp / EMBEDDINGS_FILE, np.ascontiguousarray(index.embeddings, dtype=np.float32))
        np.save(tmp / ATTENTION_FILE, np.ascontiguousarray(index.attention, dtype=np.float32))
        np.save(tmp / FRAME_INDICES_FILE, np.ascontiguousarray(index.frame_indices, dtype=np.int32))
        if index.hub_scores is not None:
            np.save(tmp / HUB_SCORES_FILE, np.ascontiguousarray(index.hub_scores, dtype=np.float32))
        faiss.write_index(index.vectors, str(tmp / VECTORS_FILE))
        index.meta.vectors["bytes"] = (tmp / VECTORS_FILE).stat().st_size
        # index.json last: a directory without it is never mistaken for a complete index
        (tmp / META_FILE).write_text(json.dumps(index.meta.to_dict(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        for file in tmp.iterdir():
            _fsync(file)
        _swap_in(tmp, out_dir)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    index.directory = out_dir
    return out_dir


def current_umask() -> int:
    """The process's file-creation mask (read by setting it and putting it back)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _fsync(file: Path) -> None:
    with open(file, "rb") as fh:
        os.fsync(fh.fileno())


def _swap_in(tmp: Path, out_dir: Path) -> None:
    """Replace out_dir by the complete index in tmp: the old directory is moved aside first and deleted only after
    the swap. A kill between the two renames leaves both copies beside out_dir; `recover_index` puts one back."""
    if not out_dir.exists():
        os.replace(tmp, out_dir)
        return
    if not (out_dir / META_FILE).is_file() and any(out_dir.iterdir()):
        raise GalleryIndexError(f"{out_dir} exists and is not a pvse-gif index (no {META_FILE}); "
                                "choose another --out or remove that folder.")
    old = out_dir.with_name(f".{out_dir.name}.old-{this_build().token()}")
    _discard(old)
    os.replace(out_dir, old)
    try:
        os.replace(tmp, out_dir)
    except BaseException:
        os.replace(old, out_dir)
        raise
    _discard(old)


def _discard(folder: Path) -> None:
    """Delete an index folder so that no interrupted deletion leaves something that looks complete."""
    try:
        (folder / META_FILE).unlink()  # first: a half-deleted folder is never taken for an index
    except OSError:
        pass
    shutil.rmtree(folder, ignore_errors=True)


def _leftovers(out_dir: Path, kind: str, alive: bool = False) -> list[tuple[BuildId, Path]]:
    """(build, folder) of the `.NAME.tmp-TOKEN-*` / `.NAME.old-TOKEN` folders beside out_dir whose build is gone
    (alive=True: whose build may still be running); see `build_marker`."""
    prefix = f".{out_dir.name}.{kind}-"
    found = []
    for folder in out_dir.parent.glob(f"{glob.escape(prefix)}*"):
        build = parse(folder.name[len(prefix):])
        if build is not None and held(build, folder) == alive:
            found.append((build, folder))
    return found


def recover_index(out_dir: str | Path) -> Path | None:
    """Put back the index of a build killed between moving out_dir aside and renaming the new one in.

    Nothing happens while out_dir holds an index. Otherwise, for a build whose process is gone: its new index
    (complete: it is renamed only after every file is written and synced) if the old one was already moved
    aside, else the aside copy of the old index. Returns the folder put back, or None.
    """
    out_dir = Path(out_dir)
    if (out_dir / META_FILE).is_file() or not out_dir.parent.is_dir():
        return None
    if out_dir.exists() and (not out_dir.is_dir() or any(out_dir.iterdir())):
        return None  # something else is there: never overwritten
    aside = {build: folder for build, folder in _leftovers(out_dir, "old") if (folder / META_FILE).is_file()}
    new = [(build, folder) for build, folder in _leftovers(out_dir, "tmp")
           if build in aside and (folder / META_FILE).is_file()]
    candidates = sorted(new, key=lambda pf: pf[1].stat().st_mtime) or sorted(
        aside.items(), key=lambda pf: pf[1].stat().st_mtime)
    for _, folder in reversed(candidates):
        try:
            if out_dir.is_dir():
                out_dir.rmdir()
            os.replace(folder, out_dir)
        except OSError:  # another process recovered it first, or the folder is not writable
            continue
        return out_dir
    return None


def _wait_for_live_swap(out_dir: Path) -> bool:
    """A reader that finds no index while a live build holds the old one aside is between the swap's two renames
    (microseconds apart): wait for the new one to appear. True if it still has not after SWAP_WAIT_S."""
    def swapping() -> bool:
        return not (out_dir / META_FILE).is_file() and bool(_leftovers(out_dir, "old", alive=True))
    deadline = time.monotonic() + SWAP_WAIT_S
    while swapping():
        if time.monotonic() >= deadline:
            return True
        time.sleep(0.01)
    return False


def _remove_stale_temporaries(out_dir: Path) -> None:
    """Delete temp/old directories left by builds that were killed (their process is gone)."""
    recover_index(out_dir)
    for kind in ("tmp", "old"):
        for _, stale in _leftovers(out_dir, kind):
            _discard(stale)


def read_index(index_dir: str | Path, mmap: bool | None = None, load_vectors: bool = True) -> GalleryIndex:
    """Load and validate an index directory; anything missing or inconsistent is a GalleryIndexError.

    mmap: memory-map embeddings.npy (default: when it is over 256 MB); load_vectors=False leaves the faiss
    index on disk until `GalleryIndex.load_vectors()` (exhaustive search and incremental builds need none).
    """
    index_dir = Path(index_dir).expanduser()
    meta_file = index_dir / META_FILE
    if not meta_file.is_file():
        recover_index(index_dir)
    if not meta_file.is_file() and _wait_for_live_swap(index_dir):
        raise GalleryIndexError(f"{index_dir} is being replaced by a running `pvse index` that has not finished "
                                "swapping it in; try again in a moment.")
    if not meta_file.is_file():
        if index_dir.is_dir():
            raise GalleryIndexError(f"{index_dir} is not a pvse-gif index (no {META_FILE}). "
                                    f"Build one with `pvse index GIF_DIR --out {index_dir}`.")
        raise GalleryIndexError(f"no gallery index at {index_dir}. Build one with `pvse index GIF_DIR --out {index_dir}`.")
    try:
        meta = read_json(meta_file, MAX_META_BYTES)
    except (OSError, ValueError) as exc:
        raise _damaged(index_dir, f"{META_FILE} is unreadable: {exc}") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT_NAME:
        raise _damaged(index_dir, f"{META_FILE} is not a {FORMAT_NAME} file")
    if newer_format(meta):
        raise GalleryIndexError(f"{index_dir} {newer_format(meta)}")
    try:
        typed = IndexMeta.from_dict(meta)
        clips = _read_clips(index_dir / CLIPS_FILE, typed.num_clips)
        emb_file = index_dir / EMBEDDINGS_FILE
        use_mmap = emb_file.stat().st_size > MMAP_ABOVE_BYTES if mmap is None else mmap
        embeddings = _load_array(index_dir, EMBEDDINGS_FILE, mmap_mode="r" if use_mmap else None)
        attention = _load_array(index_dir, ATTENTION_FILE)
        frame_indices = _load_array(index_dir, FRAME_INDICES_FILE)
        hubs = _load_array(index_dir, HUB_SCORES_FILE) if (index_dir / HUB_SCORES_FILE).is_file() else None
        _check_vectors_file(index_dir, meta)
        vectors = _read_vectors(index_dir) if load_vectors else None
    except GalleryIndexError:
        raise
    except KeyError as exc:
        raise _damaged(index_dir, f"{META_FILE} has no {exc}") from None
    except (OSError, ValueError, RuntimeError, TypeError) as exc:
        raise _damaged(index_dir, str(exc)) from None
    index = GalleryIndex(typed, clips, embeddings, attention, frame_indices, vectors, index_dir, hubs)
    _validate(index)
    return index


def _read_vectors(index_dir: Path) -> faiss.Index:
    import faiss

    return faiss.read_index(str(index_dir / VECTORS_FILE))


def _load_array(index_dir: Path, name: str, mmap_mode: str | None = None) -> np.ndarray:
    """One .npy file of the index; an empty, truncated or foreign file is a GalleryIndexError naming it."""
    try:
        return np.load(index_dir / name, mmap_mode=mmap_mode, allow_pickle=False)
    except (OSError, EOFError, ValueError, SyntaxError, TokenError) as exc:  # numpy parses the header as Python
        raise _damaged(index_dir, f"{name} is unreadable: {exc or 'empty'}") from None


def _check_vectors_file(index_dir: Path, meta: dict[str, Any]) -> None:
    """vectors.faiss must be there and, when index.json recorded it, have the size it was written with."""
    file = index_dir / VECTORS_FILE
    if not file.is_file():
        raise _damaged(index_dir, f"{VECTORS_FILE} is missing")
    expected = (meta.get("vectors") or {}).get("bytes")
    if expected is not None and file.stat().st_size != int(expected):
        raise _damaged(index_dir, f"{VECTORS_FILE} has {file.stat().st_size} bytes, {expected} were written")


def _read_clips(file: Path, max_rows: int) -> list[ClipRecord]:
    """clips.jsonl, each row checked (types, a safe relative path), at most `max_rows` rows (index.json's count)."""
    clips = []
    with open(file, "rb") as fh:
        for line_no, line in enumerate(iter(lambda: fh.readline(MAX_CLIP_LINE_BYTES + 1), b""), 1):
            if not line.strip():
                continue
            where = f"{CLIPS_FILE} line {line_no}"
            if len(clips) == max_rows:
                raise ValueError(f"{CLIPS_FILE} has more rows than the {max_rows} clips {META_FILE} counts")
            row = parse_json(line, where, MAX_CLIP_LINE_BYTES)
            if not isinstance(row, dict):
                raise ValueError(f"{where} is not a JSON object")
            path = row.get("path")
            if not isinstance(path, str) or not safe_relative_path(path):
                raise GalleryIndexError(f"{file} line {line_no}: clip path {path!r:.200} is not a relative path "
                                        "inside the gallery; the index was tampered with or damaged. Rebuild it "
                                        "with `pvse index`.")
            texts = {key: row.get(key) for key in ("name", "caption")}
            for key, value in [*texts.items(), ("content_hash", row.get("content_hash"))]:
                if not (value is None and key != "content_hash") and not isinstance(value, str):
                    raise ValueError(f"{where}: {key} must be text, got {value!r:.60}")
            metadata = row.get("metadata") or {}
            if not isinstance(metadata, dict):
                raise ValueError(f"{where}: metadata must be a JSON object")
            if not isinstance(row.get("name_from_path", False), bool):
                raise ValueError(f"{where}: name_from_path must be true or false")
            frames = whole(row.get("num_source_frames"), f"{where}: num_source_frames", 0, MAX_SOURCE_FRAMES)
            clips.append(ClipRecord(path, row["content_hash"], frames, texts["name"], texts["caption"], metadata,
                                    row.get("name_from_path", False), read_text_of(row.get("read_text"), where)))
    return clips


def _all_finite(array: np.ndarray, rows_per_chunk: int = 4096) -> bool:
    """No NaN or infinity in `array`, checked a block of rows at a time (a memory-mapped file stays mapped)."""
    return all(np.isfinite(array[i:i + rows_per_chunk]).all() for i in range(0, len(array), rows_per_chunk))


def _validate(index: GalleryIndex) -> None:
    m = index.num_clips
    meta = index.meta
    k, h, t = meta.embeddings_per_clip, meta.embed_dim, meta.num_frames
    expected = {EMBEDDINGS_FILE: (index.embeddings.shape, (m, k, h)),
                ATTENTION_FILE: (index.attention.shape, (m, meta.attention_heads, t)),
                FRAME_INDICES_FILE: (index.frame_indices.shape, (m, t))}
    if index.hub_scores is not None:
        expected[HUB_SCORES_FILE] = (index.hub_scores.shape, (m,))
    for name, (got, want) in expected.items():
        if tuple(got) != want:
            raise _damaged(index.directory, f"{name} has shape {tuple(got)}, expected {want} from {CLIPS_FILE} and {META_FILE}")
    if index.vectors is not None and (index.vectors.ntotal != m * k or index.vectors.d != h):
        raise _damaged(index.directory, f"{VECTORS_FILE} holds {index.vectors.ntotal} vectors of size {index.vectors.d}, "
                                        f"expected {m * k} of size {h}")
    if meta.counts.get("clips") != m:
        raise _damaged(index.directory, f"{META_FILE} counts {meta.counts.get('clips')} clips, {CLIPS_FILE} has {m}")
    kinds = {EMBEDDINGS_FILE: (index.embeddings, "f"), ATTENTION_FILE: (index.attention, "f"),
             FRAME_INDICES_FILE: (index.frame_indices, "iu"), HUB_SCORES_FILE: (index.hub_scores, "f")}
    for name, (array, kind) in kinds.items():
        if array is None:
            continue
        if array.dtype.kind not in kind:
            raise _damaged(index.directory, f"{name} holds {array.dtype} values, not "
                                            f"{'numbers' if kind == 'f' else 'whole numbers'}")
        if kind == "f" and not _all_finite(array):
            raise _damaged(index.directory, f"{name} holds NaN or infinite values")
    problem = _out_of_bounds(index)
    if problem:
        raise _damaged(index.directory, problem)


NORM_TOLERANCE = 1e-3  # how far from unit length a stored embedding may be (float32 rounding is ~1e-7)


def _out_of_bounds(index: GalleryIndex, rows_per_chunk: int = 4096) -> str | None:
    """What in the index's arrays no build writes, or None: embeddings not of unit length (in their joint form:
    the PVSE part, or the sentence part over its scale, with offsets a build can make, `text_heads`), attention
    outside [0, 1], a frame index past the bound, a hub score no unit vectors give. One such value would move a clip
    to the top of every query, so it refuses the index instead."""
    layout = index.meta.layout
    ratio = layout.pixel_scale / layout.text_scale if layout is not None else 1.0
    for start in range(0, index.num_clips, rows_per_chunk):
        block = np.asarray(index.embeddings[start:start + rows_per_chunk], dtype=np.float64)
        bad = _bad_embeddings(block, layout, ratio)
        if bad is not None:
            return (f"{EMBEDDINGS_FILE} row {start + bad} ({index.clips[start + bad].path!r:.120}) holds vectors that "
                    "are not of unit length")
        att = index.attention[start:start + rows_per_chunk]
        if att.size and (att.min() < -NORM_TOLERANCE or att.max() > 1 + NORM_TOLERANCE):
            return f"{ATTENTION_FILE} holds values outside 0..1"
        frames = index.frame_indices[start:start + rows_per_chunk]
        if frames.size and (int(frames.min()) < 0 or int(frames.max()) > MAX_SOURCE_FRAMES):
            return f"{FRAME_INDICES_FILE} holds frame numbers outside 0..{MAX_SOURCE_FRAMES}"
    hubs = index.hub_scores
    if hubs is not None and hubs.size and float(np.abs(hubs).max()) > 4 * (1 + ratio):
        return f"{HUB_SCORES_FILE} holds scores no unit vectors give"
    return None


def _bad_embeddings(block: np.ndarray, layout, ratio: float) -> int | None:
    """The first row of (M, K, dim) `block` with a vector a build would not write, or None."""
    if layout is None:
        lengths = np.linalg.norm(block, axis=-1)
        bad = np.abs(lengths - 1) > NORM_TOLERANCE
    else:
        from .text_layout import CROSS
        h, e = layout.pvse_dim, layout.sentence_dim
        lengths = np.sqrt(np.sum(block[..., :h] ** 2, axis=-1) + np.sum(block[..., h:h + e] ** 2, axis=-1) / ratio ** 2)
        gates = block[..., h + e + 1:]
        # a text head is of unit length; a GIF head (and its copy standing for a missing text) of the frame weight
        off_length = (np.abs(lengths - 1) > NORM_TOLERANCE) & (np.abs(lengths - layout.frame_weight) > NORM_TOLERANCE)
        bad = off_length | (np.abs(block[..., h + e]) > 2 + ratio + NORM_TOLERANCE) | \
            ((gates != 0) & (gates != -CROSS)).any(axis=-1)
    rows = np.flatnonzero(bad.any(axis=-1))
    return int(rows[0]) if rows.size else None


def _damaged(index_dir: Path | None, detail: str) -> GalleryIndexError:
    return GalleryIndexError(f"the gallery index at {index_dir} is damaged or incomplete ({detail}). "
                             "Rebuild it with `pvse index GIF_DIR --out INDEX_DIR`.")

