"""The Gradio app: a query box, an animated GIF gallery, and per-GIF explanations of the PVSE match.

`build_app(searcher)` lays out the page and wires events to `demo.handlers.DemoHandlers`;
`launch(blocks, ...)` turns on the queue and serves it (theme and css go to `launch()` in gradio 6).
What is served is decided in `demo.serving`: no folder is readable, result GIFs go out as Gradio's cached
copies of allow-listed files, and uploads are refused. The model and index are loaded once,
before this, by `Searcher.load`; a request only runs the sentence encoder and the search.

API endpoints (for `gradio_client`): `/search` (query, top_k) -> (gallery, status) and
`/explain` (query, top_k, index) -> the explanation's numbers as JSON.
"""
from __future__ import annotations

from typing import Any

import gradio as gr
from starlette.middleware import Middleware

from .handlers import DemoHandlers, DemoLimits, Explanation, SearchView, gallery_credits
from .serving import ClosedRoutes, cached_copy

EXAMPLE_QUERIES = (
    "my reaction when my code compiles on the first try",
    "me pretending everything is fine",
    "when the meeting could have been an email",
    "I can't stop laughing",
    "so proud of you",
    "nervous sweating before the exam",
    "sending you a big hug",
    "good night, sleep well",
)
CONCURRENCY_LIMIT = 4  # searches run at once; the rest wait in the queue (CPU-bound encoder)
QUEUE_SIZE = 128  # waiting requests beyond this are turned away with a "queue full" message
THEME = gr.themes.Soft(primary_hue="indigo", secondary_hue="pink")
CSS = """
.gradio-container { max-width: 1100px !important; margin: auto; }
#status { min-height: 1.6em; }
#frames img, #frames-compact img, #heatmap img { object-fit: contain; max-height: none !important; }
#frames { overflow-x: auto; }
#frames-compact { display: none !important; }
#results .grid-wrap { min-height: 140px !important; max-height: none !important; }
.head-row .grid-wrap { min-height: 90px !important; max-height: none !important; }
#results .caption-label, .head-row .caption-label { white-space: normal !important; overflow: visible !important;
  text-overflow: clip !important; max-width: 100% !important; }
@media (max-width: 640px) {
  .gradio-container { padding: 6px !important; }
  #frames { display: none !important; }
  #frames-compact { display: block !important; }
  #results .grid-container, .head-row .grid-container { grid-template-columns: repeat(2, minmax(0, 1fr)) !important; }
  #results .caption-label, .head-row .caption-label { font-size: 0.75em; padding: 1px 4px; }
  .gallery-item, button.gallery-item { font-size: 0.85em; }
  #title h1 { font-size: 1.5em; }
}
"""
INTRO = """# pvse-gif
Search reaction GIFs by what you would say. Each sentence and each GIF is embedded **K times** by
Polysemous Visual-Semantic Embedding ([PVSE](https://arxiv.org/abs/1906.04402), CVPR 2019): every head
attends to different words or frames, and a GIF's score is its best query-head × GIF-head pair."""


def build_app(searcher, *, limits: DemoLimits = DemoLimits(), examples: tuple[str, ...] = EXAMPLE_QUERIES) -> gr.Blocks:
    """The app for one loaded `pvse.index.Searcher` (shared by every session; nothing is loaded per request)."""
    handlers = DemoHandlers(searcher, limits)
    num_heads = handlers.num_heads
    max_k = max(1, min(limits.max_top_k, searcher.num_clips))

    with gr.Blocks(title="pvse-gif: reaction GIF search", analytics_enabled=False) as blocks:
        gr.Markdown(INTRO, elem_id="title")
        with gr.Row(equal_height=True):
            query = gr.Textbox(placeholder="my reaction when…", show_label=False, scale=5, min_width=180,
                               max_lines=1, max_length=limits.max_query_chars, autofocus=True, elem_id="query")
            search_button = gr.Button("Search", variant="primary", scale=1, min_width=90, elem_id="search")
        top_k = gr.Slider(1, max_k, value=min(limits.default_top_k, max_k), step=1, label="How many GIFs",
                          elem_id="top-k")
        example_list = gr.Examples([[q] for q in examples], inputs=[query], label="Examples",
                                   examples_per_page=len(examples))
        status = gr.Markdown(handlers.ready_message(), label="search status", elem_id="status")
        gallery = gr.Gallery(label="Results", columns=4, height="auto", object_fit="contain", allow_preview=False,
                             elem_id="results", show_label=False)
        state = gr.State(None)
        with gr.Column(visible=False, elem_id="explain") as explain_box:
            gr.Markdown("### Why this GIF?")
            summary = gr.Markdown(elem_id="explain-summary")
            gr.Markdown("**Frames**: the frames the index sampled (as the model saw them), with one bar row per "
                        "GIF head under them (stronger = more attention; `*` and the red box = the head that matched; "
                        "faded frames are the ones it ignores).", elem_classes=["caption"])
            frames = gr.Image(show_label=False, type="pil", format="png", interactive=False, elem_id="frames",
                              buttons=[], container=False)
            frames_compact = gr.Image(show_label=False, type="pil", format="png", interactive=False,
                                      elem_id="frames-compact", buttons=[], container=False)
            frames_note = gr.Markdown(elem_id="frames-note")
            with gr.Row():
                with gr.Column(scale=3, min_width=260):
                    gr.Markdown("**Words**: each query head's attention over the words (stronger = more).",
                                elem_classes=["caption"])
                    words = [gr.HighlightedText(label=f"Query head {k + 1}", interactive=False, show_legend=False,
                                                elem_id=f"words-{k + 1}", elem_classes=["words"])
                             for k in range(num_heads)]
                with gr.Column(scale=2, min_width=200):
                    gr.Markdown("**Head pairs**: cosine similarity of each query head (q) with each GIF head (g); "
                                "the score is the max, outlined.", elem_classes=["caption"])
                    heatmap = gr.Image(show_label=False, type="pil", format="png", interactive=False,
                                       elem_id="heatmap", buttons=[], container=False)
            with gr.Accordion("The numbers", open=False):
                payload = gr.JSON(show_label=False, elem_id="payload")

        with gr.Column(visible=False, elem_id="per-head") as heads_box:
            gr.Markdown("### Each head alone: the query's readings")
            heads_note = gr.Markdown(elem_id="heads-note")
            head_rows = [gr.Gallery(label=f"Head {k + 1} alone", columns=4, height="auto", object_fit="contain",
                                    allow_preview=False, elem_id=f"head-{k + 1}", elem_classes=["head-row"])
                         for k in range(num_heads)]

        explain_outputs = [explain_box, summary, frames, frames_compact, frames_note, *words, heatmap, payload]

        def render(explanation: Explanation) -> list[Any]:
            word_updates = []
            for k in range(num_heads):
                if k < len(explanation.words):
                    word_updates.append(gr.HighlightedText(value=explanation.words[k], label=explanation.word_labels[k],
                                                           visible=True))
                else:
                    word_updates.append(gr.HighlightedText(value=None, visible=False))
            return [gr.Column(visible=True), explanation.summary, explanation.frames, explanation.frames_compact,
                    explanation.frames_note, *word_updates, explanation.heatmap, explanation.payload or None]

        def on_search(text: object, k: object) -> tuple:
            view: SearchView = handlers.search(text, k)
            items = [(cached_copy(path, gallery.GRADIO_CACHE), caption) for path, caption in view.gallery]
            return items, view.status, view.result, gr.Column(visible=False)

        def on_heads(result) -> list[Any]:
            note, rows = handlers.heads_view(result)
            updates = [gr.Gallery(value=[(cached_copy(path, gallery.GRADIO_CACHE), caption) for path, caption in rows[k][1]],
                                  label=rows[k][0], visible=True) if k < len(rows)
                       else gr.Gallery(value=None, visible=False) for k in range(num_heads)]
            return [gr.Column(visible=bool(rows)), note, *updates]

        def on_select(result, evt: gr.SelectData) -> list[Any]:
            return render(handlers.explain(result, evt.index if evt is not None else None))

        def explain(query: str, top_k: int, index: int) -> dict:
            """The explanation of the index-th result (0-based) for a query: tokens, attention and head similarities."""
            explanation = handlers.explain_query(query, top_k, index)
            return {"ok": explanation.ok, "message": explanation.summary, **explanation.payload}

        search_outputs = [gallery, status, state, explain_box]
        # preprocess=False: the raw browser values reach DemoHandlers, which cleans the text and clamps top-k
        # (the slider's own check would answer 0 or 10**9 with a logged traceback instead).
        heads_outputs = [heads_box, heads_note, *head_rows]
        gr.on([search_button.click, query.submit], on_search, inputs=[query, top_k], outputs=search_outputs,
              api_name="search", show_progress="minimal", show_progress_on=[gallery], preprocess=False
              ).then(on_heads, inputs=[state], outputs=heads_outputs, api_visibility="undocumented",
                     show_progress="hidden")
        gallery.select(on_select, inputs=[state], outputs=explain_outputs, api_visibility="undocumented",
                       show_progress="minimal", scroll_to_output=True)
        example_list.load_input_event.then(on_search, inputs=[query, top_k], outputs=search_outputs,
                                           api_visibility="undocumented", show_progress="minimal",
                                           show_progress_on=[gallery], preprocess=False
                                           ).then(on_heads, inputs=[state], outputs=heads_outputs,
                                                  api_visibility="undocumented", show_progress="hidden")
        gr.api(explain, api_name="explain")
        credits = gallery_credits(handlers.gallery_root)
        if credits:
            with gr.Accordion("Gallery credits", open=False, elem_id="credits"):
                gr.Markdown(credits)
    blocks.pvse_handlers = handlers  # the logic behind the page, for callers that need it (tests)
    return blocks


def launch(blocks: gr.Blocks, *, host: str | None = None, port: int | None = None, share: bool = False,
           prevent_thread_lock: bool = False, quiet: bool = False) -> tuple[Any, str, str | None]:
    """Serve the app: queue with a concurrency limit, theme and css; no folder readable, no uploads."""
    blocks.queue(default_concurrency_limit=CONCURRENCY_LIMIT, max_size=QUEUE_SIZE)
    app, local_url, share_url = blocks.launch(
        server_name=host, server_port=port, share=share, prevent_thread_lock=prevent_thread_lock, quiet=quiet,
        allowed_paths=[], theme=THEME, css=CSS, show_error=False, footer_links=["api"], max_file_size=0,
        app_kwargs={"middleware": [Middleware(ClosedRoutes)]})
    return app, local_url, share_url
