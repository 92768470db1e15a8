"""The Gradio app: a query box, an animated GIF gallery, and per-GIF explanations of the PVSE match.

`build_app(searcher)` lays out the page from its parts (`demo.layout`), wires events to
`demo.handlers.DemoHandlers` and returns both as a `DemoApp`; `launch(app, ...)` turns on the queue and serves it
(theme and css go to `launch()` in gradio 6). What is served is decided in `demo.serving`: no folder is readable,
result GIFs go out as Gradio's cached copies of allow-listed files (each shown as its small preview,
`demo.previews`), each GIF's original (open, download, copy link) through the app's own `/gif/` route over the same
allow-list, and uploads are refused. The model and index are loaded once, before this, by `Searcher.load`; a
request only runs the sentence encoder and the search.

API endpoints (for `gradio_client`): `/search` (query, top_k) -> (gallery, status) and
`/explain` (query, top_k, index) -> the explanation's numbers as JSON.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import gradio as gr
from starlette.middleware import Middleware

from .examples import examples_for
from .handlers import DemoHandlers
from .layout import (
    CSS,
    PLAY_PREVIEWS,
    SCROLL_TO_EXPLANATION,
    SET_TITLES,
    ExplainPanel,
    HeadsPanel,
    SearchBar,
    credits_box,
)
from .serving import ClosedRoutes, cached_copy
from .untrusted_input import DemoLimits

CONCURRENCY_LIMIT = 4  # searches run at once; the rest wait in the queue (CPU-bound encoder)
QUEUE_SIZE = 128  # waiting requests beyond this are turned away with a "queue full" message
THEME = gr.themes.Soft(primary_hue="indigo", secondary_hue="pink")


@dataclass(frozen=True)
class DemoApp:
    """The page and the handlers behind it (their allow-list of served files is what `launch` serves)."""

    blocks: gr.Blocks
    handlers: DemoHandlers


def build_app(searcher, *, limits: DemoLimits = DemoLimits(), examples: tuple[str, ...] | None = None) -> DemoApp:
    """The app for one loaded `pvse.search.Searcher` (shared by every session; nothing is loaded per request).

    examples: the example queries; default: chosen for the gallery being served (`demo.examples`)."""
    handlers = DemoHandlers(searcher, limits)
    with gr.Blocks(title="pvse-gif: reaction GIF search", analytics_enabled=False) as blocks:
        bar = SearchBar(handlers, limits, examples if examples is not None else examples_for(searcher))
        results = gr.Gallery(label="Results", columns=4, height="auto", object_fit="contain", allow_preview=False,
                             elem_id="results", show_label=False, buttons=[])
        state = gr.State(None)
        titles = gr.JSON(visible="hidden", elem_id="gif-paths")  # gallery id -> each thumbnail's path (hover)
        explain = ExplainPanel(handlers.num_readings)
        heads = HeadsPanel(handlers.num_readings)
        _wire(handlers, bar, results, state, titles, explain, heads)
        credits_box(handlers.gallery_root)
    return DemoApp(blocks, handlers)


def _wire(handlers: DemoHandlers, bar: SearchBar, results: gr.Gallery, state: gr.State, titles: gr.JSON,
          explain: ExplainPanel, heads: HeadsPanel) -> None:
    """Search (button, Enter, example) -> results, then the heads' rows and hover titles; a click -> explanation."""
    cache = results.GRADIO_CACHE

    def on_search(text: object, k: object) -> tuple:
        view = handlers.search(text, k)
        shown = handlers.previews.shown([path for path, _ in view.gallery])
        items = [(cached_copy(handlers.served, path, cache, handlers.previews.folder), caption)
                 for path, (_, caption) in zip(shown, view.gallery)]
        return items, view.status, view.result, gr.Column(visible=False)

    def on_heads(result) -> list[Any]:
        """result: the session's `SearchResult`, None when no search ran (or it failed before searching)."""
        note, rows = handlers.heads_view(result)
        rows = [(label, list(zip(handlers.previews.shown([p for p, _ in items]), [c for _, c in items])))
                for label, items in rows]
        searched = result is not None
        paths = {"results": [str(h.path) for h in result.hits] if searched else []}
        for k, head in enumerate(result.per_head if searched else []):
            paths[f"head-{k + 1}"] = [str(h.path) for h in head.hits]
        return [*heads.update(note, rows, cache, handlers.served, handlers.previews.folder), paths]

    search_outputs = [results, bar.status, state, explain.box]
    heads_outputs = [*heads.outputs, titles]
    # preprocess=False: the raw browser values reach DemoHandlers, which cleans the text and clamps top-k
    # (the slider's own check would answer 0 or 10**9 with a logged traceback instead).
    def searches(start, **api) -> None:
        start(on_search, inputs=[bar.query, bar.top_k], outputs=search_outputs, show_progress="minimal",
              show_progress_on=[results], preprocess=False, **api
              ).then(on_heads, inputs=[state], outputs=heads_outputs, api_visibility="undocumented",
                     show_progress="hidden"
                     ).then(None, inputs=[titles], js=SET_TITLES, api_visibility="undocumented"
                            ).then(None, js=PLAY_PREVIEWS, api_visibility="undocumented")

    searches(lambda fn, **kw: gr.on([bar.button.click, bar.query.submit], fn, **kw), api_name="search")
    searches(bar.examples.load_input_event.then, api_visibility="undocumented")

    def selected(head: int | None):
        def on_select(result, evt: gr.SelectData) -> list[Any]:
            return explain.render(handlers.explain(result, evt.index if evt is not None else None, head=head))
        return on_select

    for gallery, head in ((results, None), *((row, k) for k, row in enumerate(heads.rows))):
        gallery.select(selected(head), inputs=[state], outputs=explain.outputs, api_visibility="undocumented",
                       show_progress="minimal").then(None, js=SCROLL_TO_EXPLANATION, api_visibility="undocumented")

    def explain_api(query: str, top_k: int, index: int) -> dict:
        """The explanation of the index-th result (0-based) for a query: tokens, attention and head similarities."""
        explanation = handlers.explain_query(query, top_k, index)
        return {"ok": explanation.ok, "message": explanation.summary, **explanation.payload}

    gr.api(explain_api, api_name="explain")


def launch(app: DemoApp, *, host: str | None = None, port: int | None = None, share: bool = False,
           prevent_thread_lock: bool = False, quiet: bool = False) -> tuple[Any, str, str | None]:
    """Serve the app: queue with a concurrency limit, theme and css; no folder readable, no uploads, and only the
    handlers' allow-listed files through the app's own routes."""
    app.blocks.queue(default_concurrency_limit=CONCURRENCY_LIMIT, max_size=QUEUE_SIZE)
    files = app.handlers.served
    server, local_url, share_url = app.blocks.launch(
        server_name=host, server_port=port, share=share, prevent_thread_lock=prevent_thread_lock, quiet=quiet,
        allowed_paths=[], theme=THEME, css=CSS, show_error=False, footer_links=["api"], max_file_size=0,
        app_kwargs={"middleware": [Middleware(ClosedRoutes, files=files)]})
    return server, local_url, share_url
