"""What the app does per request, as plain methods over one loaded `Searcher` (no Gradio objects here).

The handlers wire the parts: the browser's values are cleaned first (`demo.untrusted_input`), the search runs on a
borrowed GPU on a ZeroGPU Space (`demo.zerogpu`), only files on the allow-list (`demo.serving.served_files`: the
index's media files inside the gallery) are ever returned, and a selected GIF is explained
(`demo.explanations`) only when it is one of the results the same session received. Errors become a message for
the page, never a traceback.
"""
from __future__ import annotations

import dataclasses
import functools
import logging
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from pvse.errors import PVSEError, QueryError

from .clip_frames import read_text_frame, sampled_frames
from .explain_words import head_label, heads_note
from .explanations import explain_hit
from .frame_cache import FrameCache
from .markdown_text import escape_markdown, shorten
from .previews import Previews
from .serving import gif_link, served_files
from .untrusted_input import DemoLimits, clamp_top_k, clean_query, shown_index, was_shortened
from .views import Explanation, SearchView
from .zerogpu import on_zerogpu

if TYPE_CHECKING:
    from pvse.search.results import SearchHit, SearchResult
    from pvse.search.searcher import Searcher

log = logging.getLogger("demo")
GalleryItems = list[tuple[str, str]]  # (served file, caption) per GIF shown


class DemoHandlers:
    """The app's logic on one loaded searcher, shared by all sessions (thread-safe)."""

    def __init__(self, searcher: Searcher, limits: DemoLimits = DemoLimits()) -> None:
        self.searcher = searcher
        self.limits = limits
        self.gallery_root = Path(searcher.gallery_root)
        self.served = served_files(searcher)  # row -> real path: the only files a result may show
        # what a results page shows for each of them: a small preview, made on first view (`demo.previews`)
        self.previews = Previews(self.served, searcher.index.directory,
                                 keep=(record.content_hash for _, record in searcher.index.records()))
        self._run_search = on_zerogpu(searcher.search)
        self._frames = FrameCache(functools.partial(sampled_frames, searcher), limits.frame_cache_size)

    @property
    def num_heads(self) -> int:
        return self.searcher.meta.heads

    @property
    def num_readings(self) -> int:
        """How many readings a query has: its K heads, and the sentence head in an index with text heads."""
        return self.num_heads + (self.searcher.layout is not None)

    def ready_message(self) -> str:
        """The status line before the first search: how many GIFs, how many heads, and on what it runs."""
        device = str(self.searcher.device)
        kind = "GPU (CUDA)" if device.startswith("cuda") else "CPU"
        return (f"**Ready.** {self.searcher.num_clips} GIFs indexed · PVSE with {self.num_heads} heads · "
                f"running on **{kind}**. Type what you would say, or click an example.")

    def search(self, query: object, top_k: object) -> SearchView:
        """One search for the browser's raw `query` and `top_k`: the GIFs it may show, and a status line."""
        text = clean_query(query, self.limits.max_query_chars)
        if not text:
            return SearchView([], "Type a few words first, for example *my reaction when the build passes*.")
        k = clamp_top_k(top_k, self.searcher.num_clips, self.limits)
        try:
            result = self._run_search(text, top_k=k, per_head_k=self.limits.per_head_k)
        except QueryError as exc:
            return SearchView([], escape_markdown(str(exc)))
        except PVSEError as exc:
            log.warning("search failed for %r: %s", text, exc)
            return SearchView([], f"The search failed: {escape_markdown(str(exc))}")
        except Exception:  # noqa: BLE001 - the page gets a message, the log gets the traceback
            log.exception("unexpected error while searching %r", text)
            return SearchView([], "Something went wrong while searching. Please try again; "
                                  "the details are in the server log.")
        per_head = [dataclasses.replace(h, hits=self._servable(h.hits, quiet=True)) for h in result.per_head]
        # a selection counts the GIFs shown
        result = dataclasses.replace(result, hits=self._servable(result.hits), per_head=per_head)
        gallery = self._gallery(result.hits)
        note = f" {escape_markdown(result.message)}" if result.message else ""
        quoted = f"*{escape_markdown(shorten(text))}*"
        if not gallery:
            return SearchView([], f"No GIFs found for {quoted}.{note or ' Try other words.'}", result)
        truncated = " (query shortened)" if was_shortened(query, self.limits.max_query_chars) else ""
        status = (f"**{len(gallery)}** GIFs for {quoted}{truncated} in {result.elapsed_ms:.0f} ms. "
                  f"Click one to see why it matched.{note}")
        note, rows = self.heads_view(result)
        return SearchView(gallery, status, result, ok=True, per_head=rows, heads_note=note)

    def _servable(self, hits: list[SearchHit], quiet: bool = False) -> list[SearchHit]:
        """The hits whose file is on the allow-list and still there (the only ones a page may show)."""
        out = []
        for hit in hits:
            if self.served.servable(hit.row):
                out.append(hit)
            elif not quiet:
                log.warning("index row %s (%s) is not a media file in the gallery: not served", hit.row, hit.path)
        return out

    def _gallery(self, hits: list[SearchHit]) -> GalleryItems:
        """(served file, the clip's name) for each of `hits`, all on the allow-list."""
        return [(str(self.served[hit.row]), hit.display_name) for hit in hits]

    def heads_view(self, result: SearchResult | None) -> tuple[str, list[tuple[str, GalleryItems]]]:
        """Each query head's own best GIFs as (label, gallery items), and whether the heads agree ("" and no rows
        when no search ran)."""
        if result is None:
            return "", []
        rows = [(head_label(head), self._gallery(self._servable(head.hits, quiet=True))) for head in result.per_head]
        return heads_note(result), rows

    def sampled_frames(self, row: int) -> list[np.ndarray]:
        """The T frames the index sampled for `row`, decoded once and kept in a small LRU cache."""
        return self._frames.get(row)

    def explain(self, result: SearchResult | None, index: object, head: int | None = None) -> Explanation:
        """The explanation of the `index`-th hit of `result` (the results this session was shown; None before any
        search), or of the `index`-th GIF in the row of query head `head` alone."""
        hits = result.hits if result is not None else []
        if result is not None and head is not None:
            rows = result.per_head
            hits = rows[head].hits if isinstance(head, int) and 0 <= head < len(rows) else []
        if not hits:
            return Explanation("Search first, then click a GIF to see why it matched.")
        chosen = shown_index(index, len(hits))
        if chosen is None:
            return Explanation(f"Pick one of the {len(hits)} results to see why it matched.")
        try:
            return explain_hit(result, hits[chosen], frames=self.sampled_frames,
                               read_frame=functools.partial(read_text_frame, self.searcher),
                               link=self.link(hits[chosen]),
                               vocabulary=str(self.searcher.pipeline.config.word_features))
        except Exception:  # noqa: BLE001
            log.exception("could not explain hit %s of %r", chosen, result.query)
            return Explanation("Could not draw the explanation for this GIF; the details are in the server log.")

    def explain_query(self, query: object, top_k: object, index: object) -> Explanation:
        """Search then explain the `index`-th hit: the stateless form the API exposes."""
        view = self.search(query, top_k)
        if not view.ok:
            return Explanation(view.status)
        try:
            index = int(index)  # type: ignore[arg-type]
        except (TypeError, ValueError, OverflowError):
            return Explanation(f"Pick one of the {len(view.result.hits)} results to see why it matched.")
        return self.explain(view.result, index)

    def link(self, hit: SearchHit) -> str:
        """The app's own link to the clip's original file (`demo.serving.GIF_ROUTE`), only for allow-listed clips."""
        path = self.served.get(hit.row)
        return gif_link(hit.row, path) if path is not None else ""
