"""Search a gallery index by sentence: the Python API behind `pvse search` and the demo.

    searcher = Searcher.load()                      # bundled gallery and weights, loaded once
    result = searcher.search("my reaction when ...", top_k=10)
    for hit in result.hits: print(hit.rank, hit.score, hit.path, hit.reading, hit.matched_by)
    result.word_attention, result.tokens            # the query's per-head attention over its words (K x L)

Scores are s(q, c) = max_{i,j} <q_i, c_j> over the query's and the clip's K embeddings (paper eq. 6), and
(query_head, clip_head) is the pair (i, j) that gave the max: 0-based indices into `hit.head_similarities`. What a
person reads is numbered from 1 (`pvse.search.readings`): `hit.reading` = query_head + 1 is the reading that found
the hit (readings 1..K: the query heads; K + 1: the sentence head, "your words as a whole", in an index with text
heads), and `hit.matched_by` what of the clip it met: "GIF head 2" (clip_head 1) or "its name" / "its caption" /
"the words it shows: “…”" (`hit.matched_source`, `hit.matched_text`: which text, and its words).
"""
from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import regex
import torch

from .._hub import is_repo_id
from ..devices import DEFAULT_DEVICE
from ..errors import GalleryIndexError
from ..features.pieces import Word, word_attention
from ..index.backend import Gallery
from ..index.backends import open_index
from ..index.hubness import check_weight, corrected_top_k
from ..index.meta import IndexMeta
from ..index.ranking import TopClips, score_rows
from ..index.text_layout import kind_mask
from ..index.trust import check_gallery_root, resolve_inside
from ..pipeline import PVSEPipeline
from ..similarity import head_similarities
from .clip_words import ClipWords, display_name
from .query_text import prepare_query, without_opener
from .readings import describe_match
from .results import HeadHits, SearchHit, SearchResult

_PARTS = regex.compile(r"[^\W_]")  # a word with a letter or digit (not punctuation alone)
QUERY_THREADS = 1  # one query is small, memory-bound work: on a shared 2-core CPU extra OpenMP threads only wait


class Searcher:
    """A gallery index plus the model that built it, loaded once; `search` answers a sentence."""

    def __init__(self, index: Gallery, pipeline: PVSEPipeline, exhaustive_below: int | None = None,
                 threads: int | None = QUERY_THREADS) -> None:
        """index: any backend's `Gallery`. exhaustive_below: an exact index with fewer vectors is answered by scoring
        every clip (None: the backend's default). threads: torch / faiss threads while answering a query (None:
        leave the process settings)."""
        check_gallery_root(index.gallery_root, index.directory)
        if pipeline.fingerprint != index.fingerprint:
            raise GalleryIndexError(_mismatch_message(index, pipeline))
        self.index = index
        self.pipeline = pipeline
        self.threads = threads
        index.prepare_search(exhaustive_below)
        self._root = index.gallery_root
        self._real_root = Path(os.path.realpath(self._root))
        self._clip_words: ClipWords | None = None
        self.layout = index.meta.layout  # text heads scored by a sentence model (`text_heads`), or None
        self._sentence_encoder = None

    @property
    def meta(self) -> IndexMeta:
        """What the index holds: heads, embeddings per clip, frames T, weights, vector kind, counts."""
        return self.index.meta

    @classmethod
    def load(cls, index_dir: str | Path | None = None, weights: str | None = None,
             device: str = DEFAULT_DEVICE) -> Searcher:
        """Load an index (default: the bundled gallery, `pvse.defaults.default_index()`) and its model.

        index_dir: a faiss index directory, or a vector database location such as `milvus://gifs.db` or
        `https://host:19530?collection=gifs` (see `pvse.index.backends`).

        weights: None -> $PVSE_WEIGHTS, else the weights recorded in the index when they are here, else the
        bundled default. Weights other than the ones that built the index are a GalleryIndexError.
        """
        from ..defaults import default_index, default_weights, weights_override
        index = open_index(index_dir if index_dir is not None else default_index())
        check_gallery_root(index.gallery_root, index.directory)  # before the model is loaded
        if weights is None:
            recorded = index.weights_ref()
            usable = recorded and (Path(recorded).is_dir() or is_repo_id(recorded))
            weights = weights_override() or (recorded if usable else default_weights())
        pipeline = PVSEPipeline.from_pretrained(str(weights), device=device)
        searcher = cls(index, pipeline)
        _ = pipeline.word_features  # load the word vectors now, not inside the first query
        if searcher.layout is not None:
            searcher.sentence_encoder()
        return searcher

    @property
    def gallery_root(self) -> Path:
        return self._root

    @property
    def num_clips(self) -> int:
        return self.index.num_clips

    @property
    def device(self) -> torch.device:
        return self.pipeline.device

    @property
    def fingerprint(self) -> str:
        return self.index.fingerprint

    def search(self, text: str, top_k: int = 10, per_head_k: int = 0, hub_correction: float = 0.0) -> SearchResult:
        """Rank the gallery for `text`; raises QueryError for an empty query, otherwise always answers.

        per_head_k > 0 also ranks the gallery by each query head alone (`SearchResult.per_head`).
        hub_correction = w > 0 ranks the fused top-k by s - w * (the clip's hub score), see `hubness`; each hit's
        score stays the plain max over K². A query none of whose words the model knows nor any clip's text has gets
        no hits and a note saying so (see `_known_words`); clips whose text has a word only the gallery knows come
        first (`SearchHit.found_by`).
        """
        with _threads(self.threads):
            return self._search(text, top_k, per_head_k, hub_correction)

    def _search(self, text: str, top_k: int, per_head_k: int = 0, hub_correction: float = 0.0) -> SearchResult:
        started = time.perf_counter()
        hubs = self._hub_scores(hub_correction)
        prepared = prepare_query(text)
        notes = list(prepared.notes)
        k_att = self.meta.attention_heads
        if not prepared.text:
            notes.append("The query has no words the model can read; try describing the reaction in words.")
            return self._result(text, [], [], [], np.zeros((k_att, 0), np.float32), notes, started)
        encoding = self.pipeline.encode_text([prepared.text])
        tokens, known = list(encoding.tokens[0]), [bool(k) for k in encoding.known[0]]
        attention = np.asarray(encoding.attention[0], dtype=np.float32)
        words = self.pipeline.words(tokens, prepared.text)
        words_known = self._known_words(words, known)
        content = [(w.text, k) for w, k in zip(words, words_known) if _PARTS.search(w.text)]
        unknown = list(dict.fromkeys(t for t, k in content if not k))
        in_gallery = self.clip_words.matches(unknown) if unknown else {}
        found = {word for pairs in in_gallery.values() for word, _ in pairs}
        extra = dict(words=[w.text for w in words], words_known=words_known,
                     words_attention=word_attention(attention, words) if attention.shape[0] else
                     np.zeros((0, len(words)), np.float32), words_in_gallery=[w.text in found for w in words])
        if self.layout is not None:
            extra.update(sentence_reading=self.index.gif_heads + 1, sentence_query=without_opener(prepared.text))
        if not any(k for _, k in content) and not in_gallery:
            notes.append("None of the words of the query is one the model knows or one in a GIF's name or text, so "
                         "there are no results; try describing the reaction in other words.")
            return self._result(text, [], tokens, known, attention, notes, started, **extra)
        notes += _unknown_note(unknown, in_gallery)
        query = self._joint(encoding.embeddings, [prepared.text])[0]
        top = (self.search_embeddings(query, top_k) if hubs is None else
               corrected_top_k(lambda n: self.search_embeddings(query, n), hubs, hub_correction, top_k))
        top, found_by = self._text_matches_first(query, top, in_gallery, top_k)
        hits, hidden = self._hits(query, top, found_by=found_by)
        per_head = self._per_head(query, extra["words"], extra["words_attention"], per_head_k) if per_head_k > 0 else []
        if hidden:
            notes.append(f"{hidden} result(s) were left out because their file now leads outside the gallery folder.")
        return self._result(text, hits, tokens, known, attention, notes, started, per_head=per_head, **extra)

    def query_embeddings(self, texts: list[str]) -> torch.Tensor:
        """(N, Kq, H) what the index is searched with for each text (prepared as a query): the PVSE query heads, and
        with text heads the sentence head too, in the index's joint space (`text_heads`)."""
        prepared = [prepare_query(t).text for t in texts]
        return self._joint(self.pipeline.encode_text(prepared).embeddings, prepared)

    def _joint(self, pvse: torch.Tensor, texts: list[str]) -> torch.Tensor:
        if self.layout is None:
            return pvse
        sentences = self.sentence_encoder().encode([without_opener(t) for t in texts])
        return torch.stack([self.layout.query(p, s) for p, s in zip(pvse, sentences)])

    def sentence_encoder(self):
        """The sentence model that scores the index's text heads (loaded on first use)."""
        if self._sentence_encoder is None:
            from ..features.sentence_minilm import MiniLMSentenceEncoder
            self._sentence_encoder = MiniLMSentenceEncoder(device=self.pipeline.device)
        return self._sentence_encoder

    def _hub_scores(self, weight: float) -> np.ndarray | None:
        """The index's hub scores when `weight` asks for the correction (None for 0); a GalleryIndexError without."""
        if check_weight(weight) == 0:
            return None
        hubs = self.index.hub_scores
        if hubs is None:
            raise GalleryIndexError(f"the index at {self.index.directory} has no hub scores (built before them), so "
                                    f"--hub-correction cannot be used; rebuild it with "
                                    f"`pvse index {self.gallery_root} --out {self.index.directory}`.")
        return hubs

    @property
    def clip_words(self) -> ClipWords:
        """The words of every clip's name, caption, file name and read text (read once, on first use)."""
        if self._clip_words is None:
            self._clip_words = ClipWords.from_records(self.clip_records())
        return self._clip_words

    def clip_records(self) -> Iterator[tuple[int, object]]:
        """(row, ClipRecord) of every clip."""
        return self.index.records()

    def _text_matches_first(self, query: torch.Tensor, top: TopClips, matches: dict[int, list[tuple[str, str]]],
                            top_k: int) -> tuple[TopClips, dict[int, list[tuple[str, str]]]]:
        """`top` with the clips whose own text has a word the model does not know moved first (most such words,
        then score), each scored exactly like any hit; the rest keep their order."""
        if not matches:
            return top, {}
        first = list(matches)[: max(1, top_k)]
        embeddings = np.stack([np.asarray(self.index.embeddings[row], dtype=np.float32) for row in first])
        _, scores, qh, ch = score_rows(query, embeddings, np.arange(len(first)))
        order = sorted(range(len(first)), key=lambda i: (-len(matches[first[i]]), -float(scores[i]), first[i]))
        rest = [i for i, row in enumerate(top.rows) if int(row) not in matches]
        pick = lambda ours, theirs: np.concatenate([np.asarray(ours)[order], np.asarray(theirs)[rest]])[:top_k]  # noqa: E731
        merged = TopClips(pick(first, top.rows).astype(np.int64), pick(scores, top.scores).astype(np.float32),
                          pick(qh, top.query_heads).astype(np.int64), pick(ch, top.clip_heads).astype(np.int64),
                          top.candidates + len(first), top.exact)
        return merged, matches

    def _known_words(self, words: list[Word], token_known: list[bool]) -> list[bool]:
        """A word is known when one of its tokens has a real vector and, for word-piece features (which read
        any string as pieces), the features' `knows` accepts the word itself (a whole vocabulary word)."""
        return [any(token_known[i] for i in w.tokens) and self.pipeline.knows(w.text) for w in words]

    def _per_head(self, query: torch.Tensor, words: list[str], words_attention: np.ndarray,
                  top_k: int) -> list[HeadHits]:
        """Each reading alone against every clip: max over the clip's heads, exact like the fused search. With text
        heads the sentence head (the last) is one more reading: it weighs no words of its own and meets only the
        clips' words, so its row holds only clips with words."""
        out = []
        pvse_heads = query.size(0) - (self.layout is not None)
        for head in range(query.size(0)):
            top = self.search_embeddings(query[head:head + 1], top_k)
            hits, _ = self._hits(query, top, query_head=head)
            if head >= pvse_heads:
                hits = [hit for hit in hits if hit.matched_source is not None]
                out.append(HeadHits(head, [], hits, sentence=True))
                continue
            order = np.argsort(-words_attention[head], kind="stable")[:3] if words_attention.shape[0] > head else []
            out.append(HeadHits(head, [words[i] for i in order if words_attention[head, i] > 0], hits))
        return out

    def search_embeddings(self, query: torch.Tensor, top_k: int = 10) -> TopClips:
        """Top-k rows for one query's (Kq, H) L2-normalised embeddings (exact for a flat index)."""
        query = torch.as_tensor(query, dtype=torch.float32).cpu()
        top_k = max(1, min(int(top_k), self.num_clips))
        with _threads(self.threads):
            return self.index.top_k(query, top_k)

    def clip_paths(self) -> Iterator[tuple[int, str]]:
        """(row, path relative to the gallery root) of every clip (rows of a vector database need not be 0..M-1)."""
        return self.index.clip_paths()

    def clip_path(self, row: int) -> Path:
        """Absolute path of a clip, refused (GalleryIndexError) if it resolves outside the gallery root."""
        path = resolve_inside(self._real_root, self.index.clips[row].path)
        if path is None:
            raise GalleryIndexError(f"clip {self.index.clips[row].path!r} resolves to "
                                    f"{os.path.realpath(self._root / self.index.clips[row].path)}, outside the gallery "
                                    f"{self._real_root}; it is not served. Rebuild the index with `pvse index`.")
        return path

    def _hits(self, query: torch.Tensor, top: TopClips, query_head: int | None = None,
              found_by: dict[int, list[tuple[str, str]]] | None = None) -> tuple[list[SearchHit], int]:
        """SearchHits for `top`; query_head: the head `top` was searched with alone (its query_heads are then 0);
        found_by: row -> the (word, where) of its text that put it first."""
        hits, hidden = [], 0
        for row, score, qh, ch in zip(top.rows, top.scores, top.query_heads, top.clip_heads):
            qh = qh if query_head is None else query_head
            row = int(row)
            try:
                abs_path = self.clip_path(row)
            except GalleryIndexError:
                hidden += 1
                continue
            clip = self.index.clips[row]
            gallery = torch.from_numpy(np.asarray(self.index.embeddings[row][:self._real_heads(clip)], np.float32))
            sims = head_similarities(query, gallery).numpy()
            if self.layout is not None:
                mask = kind_mask(self.layout, query.size(0) - 1, self.index.gif_heads)[:, :sims.shape[1]]
                sims = np.where(mask, sims, np.nan)
            source, matched_text = self.matched_text(row, int(ch))
            hits.append(SearchHit(
                rank=len(hits) + 1, row=row, path=clip.path, abs_path=abs_path, score=float(score),
                query_head=int(qh), clip_head=int(ch), matched_by=describe_match(source, matched_text, int(ch)),
                name=clip.name, caption=clip.caption,
                metadata=dict(clip.metadata), frame_indices=[int(i) for i in self.index.frame_indices[row]],
                frame_attention=np.asarray(self.index.attention[row], dtype=np.float32),
                head_similarities=sims, found_by=list((found_by or {}).get(row, [])),
                display_name=display_name(clip), read_text=clip.read_text, matched_source=source,
                matched_text=matched_text))
        return hits, hidden

    def _real_heads(self, clip) -> int:
        """How many of a clip's stored heads are its own (the rest repeat a GIF head for a text it lacks)."""
        if self.layout is None:
            return self.index.gif_heads
        texts = clip.texts()
        present = [s in texts for s in self.layout.sources]
        return self.index.gif_heads + (max(i for i, p in enumerate(present) if p) + 1 if any(present) else 0)

    def matched_by(self, row: int, clip_head: int) -> str:
        """What a clip head is, in words (`readings.describe_match`): "GIF head j" (1-based), "its name", "its
        caption" or "the words it shows: “…”"."""
        return describe_match(*self.matched_text(row, clip_head), clip_head)

    def matched_text(self, row: int, clip_head: int) -> tuple[str | None, str | None]:
        """(which text of the clip a clip head is: "read text" / "name" / "caption", its words), or (None, None)
        for a GIF head (0-based `clip_head`)."""
        if clip_head < self.index.gif_heads or self.layout is None:
            return None, None
        clip = self.index.clips[row]
        source = self.layout.sources[clip_head - self.index.gif_heads]
        return source, clip.texts().get(source)

    @staticmethod
    def _result(text: str, hits, tokens, known, attention, notes: list[str], started: float,
                **extra) -> SearchResult:
        return SearchResult(query=text, hits=hits, tokens=tokens, token_known=known, word_attention=attention,
                            message=" ".join(notes) or None, elapsed_ms=(time.perf_counter() - started) * 1000,
                            notes=notes, **extra)


def _unknown_note(unknown: list[str], in_gallery: dict[int, list[tuple[str, str]]]) -> list[str]:
    """The note on the query's words the model does not know: which, and which of them a GIF's text has."""
    if not unknown:
        return []

    def listed(words: list[str]) -> str:
        return ", ".join(f"'{w}'" for w in words[:8]) + (" ..." if len(words) > 8 else "")

    found = list(dict.fromkeys(word for pairs in in_gallery.values() for word, _ in pairs))
    notes = [f"The model does not know {listed(unknown)}."]
    if found:
        notes.append(f"GIFs whose name or text has {listed(found)} come first.")
    return [" ".join(notes)]


@contextmanager
def _threads(count: int | None) -> Iterator[None]:
    """Run the block with `count` torch and faiss (OpenMP) threads, then restore the previous settings.

    faiss is set only when it is loaded (an index that uses it loaded it when the searcher was made).
    """
    if not count:
        yield
        return
    faiss = sys.modules.get("faiss")
    old_torch, old_faiss = torch.get_num_threads(), faiss.omp_get_max_threads() if faiss else None
    torch.set_num_threads(count)
    if faiss:
        faiss.omp_set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(old_torch)
        if faiss:
            faiss.omp_set_num_threads(old_faiss)


def _mismatch_message(index: Gallery, pipeline: PVSEPipeline) -> str:
    """Why these weights cannot search this index, and the fix: the recorded weights if they are here, else a rebuild."""
    recorded, source = index.weights_ref(), str(pipeline.checkpoint.source)
    rebuild = f"`pvse index {index.gallery_root} --out {index.directory} --weights {source}`"
    same = recorded is not None and (recorded == source or (Path(recorded).is_dir() and Path(source).is_dir()
                                                             and Path(recorded).resolve() == Path(source).resolve()))
    if same:
        return (f"the index at {index.directory} was built with the weights {source} as they were then (fingerprint "
                f"{index.fingerprint}); they have changed since (fingerprint {pipeline.fingerprint}), so its vectors "
                f"would be meaningless. Rebuild it: {rebuild}.")
    head = (f"the index at {index.directory} was built with the weights {recorded or '(not recorded)'} (fingerprint "
            f"{index.fingerprint}), not with ")
    available = recorded is not None and (Path(recorded).is_dir() or is_repo_id(recorded))
    if available:
        fix = f"Search it with the weights that built it (--weights {recorded}), or rebuild it for these: {rebuild}."
    else:
        fix = (f"The weights that built it ({recorded or 'not recorded'}) are not here: pass a copy of them with "
               f"--weights, or rebuild the index for these: {rebuild}.")
    return head + f"{source} (fingerprint {pipeline.fingerprint}); its vectors would be meaningless for them. " + fix
