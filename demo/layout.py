"""The page's parts, each a small class that makes its Gradio components and turns handler results into updates.

`SearchBar` (intro, query, how many, examples, status), `ExplainPanel` (one GIF: name, path and its actions,
a plain sentence, the frames; the numbers in a closed "Details"), `HeadsPanel` (each reading of the query
alone, one line when they agree) and `credits_box`; the CSS and the two bits of browser JavaScript the page
needs (hover titles with each GIF's path; bringing the explanation into view).
"""
from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import gradio as gr

from .credits import gallery_credits
from .handlers import DemoHandlers
from .serving import ServedFiles, cached_copy
from .untrusted_input import DemoLimits
from .views import Explanation

INTRO = """# pvse-gif
Find the reaction GIF for what you would say: type a sentence, then click a GIF to see why it matched.
<small>How it works: [PVSE](https://arxiv.org/abs/1906.04402) (CVPR 2019) reads your words and each GIF's frames
in several ways at once and keeps the best match.</small>"""
CSS = """
.gradio-container { max-width: 1100px !important; margin: auto; }
#results .thumbnail-item > svg, .head-row .thumbnail-item > svg { display: none; }
#status { min-height: 1.6em; }
#frames img, #frames-compact img, #heatmap img { object-fit: contain; max-height: none !important; }
#frames { overflow-x: auto; }
#frames-compact { display: none !important; }
#results .grid-wrap { min-height: 140px !important; max-height: none !important; }
.head-row .grid-wrap { min-height: 90px !important; max-height: none !important; }
#results .caption-label, .head-row .caption-label { white-space: normal !important; overflow: visible !important;
  text-overflow: clip !important; max-width: 100% !important; opacity: 1 !important;
  color: var(--body-text-color) !important; background: var(--background-fill-primary) !important; }
.head-label p { margin: 6px 0 0 0 !important; font-weight: 600; }
#explain-head h3 { margin: 0 0 2px 0; }
#explain-head .gif-path { color: var(--body-text-color-subdued); font-size: 0.9em; overflow-wrap: anywhere; }
#explain-head .gif-actions { display: flex; flex-wrap: wrap; gap: 8px; margin-top: 6px; }
#explain-head .gif-actions a, #explain-head .gif-actions button { padding: 4px 12px; border-radius: 6px;
  border: 1px solid var(--border-color-primary); background: var(--button-secondary-background-fill);
  color: var(--button-secondary-text-color); text-decoration: none; font-size: 0.95em; font-weight: normal; cursor: pointer; }
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
# Sets each thumbnail's hover title to its path in the gallery ({gallery elem_id: [path, ...]}), once drawn.
SET_TITLES = """(paths) => {
  const apply = () => {
    let done = true;
    for (const [id, list] of Object.entries(paths || {})) {
      const items = document.querySelectorAll(`#${id} .thumbnail-item`);
      if (items.length < list.length) { done = false; continue; }
      list.forEach((path, i) => { items[i].title = path; items[i].querySelector('img')?.setAttribute('title', path); });
    }
    return done;
  };
  let tries = 0;
  const timer = setInterval(() => { if (apply() || ++tries > 50) clearInterval(timer); }, 100);
  return [];
}"""
# Result previews are short videos: Gradio's gallery shows a video as a still with a play button; play them muted and
# looping, as GIFs play (the play button is hidden by CSS). New videos come in with each search, so look for a while.
PLAY_PREVIEWS = """() => {
  let tries = 0;
  const play = () => {
    document.querySelectorAll('#results video, .head-row video').forEach((v) => {
      if (v.dataset.pvsePlays) return;
      v.dataset.pvsePlays = '1';
      v.muted = true; v.loop = true; v.autoplay = true; v.playsInline = true;
      v.setAttribute('muted', ''); v.setAttribute('playsinline', '');
      v.play().catch(() => {});
    });
    if (++tries > 60) clearInterval(timer);
  };
  const timer = setInterval(play, 100);
  return [];
}"""
# Brings the explanation into view once it is shown (desktop and phone), and keeps it there for a few seconds while
# pictures load around it, until the person scrolls (wheel, touch or keys) themselves.
SCROLL_TO_EXPLANATION = """() => {
  const start = Date.now();
  const place = () => {
    const el = document.getElementById('explain');
    if (!el || el.offsetParent === null) {
      if (Date.now() - start < 3000) setTimeout(place, 50);
      return;
    }
    el.scrollIntoView({block: 'start'});
    const events = ['wheel', 'touchstart', 'keydown', 'mousedown'];
    const observer = new ResizeObserver(() => el.scrollIntoView({block: 'start'}));
    const stop = () => { observer.disconnect(); events.forEach((e) => window.removeEventListener(e, stop, true)); };
    events.forEach((e) => window.addEventListener(e, stop, true));
    observer.observe(document.body);
    setTimeout(stop, 3000);
  };
  place();
  return [];
}"""
# The "Copy link" button of the explanation (the link is the app's own /gif/ route, made absolute).
COPY_LINK_JS = """element.addEventListener('click', (event) => {
  const button = event.target.closest('button[data-link]');
  if (!button) return;
  const url = new URL(button.dataset.link, window.location.href).href;
  const done = () => { button.textContent = 'Link copied'; setTimeout(() => { button.textContent = 'Copy link'; }, 2000); };
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(url).then(done, () => window.prompt('Copy this link:', url));
  } else {
    window.prompt('Copy this link:', url);
  }
});"""


def actions_html(name: str, path: str, link: str) -> str:
    """The explanation's head: the GIF's name, its path in the gallery, and open / download / copy-link actions."""
    name, path = html.escape(name), html.escape(path)
    head = f'<h3>{name}</h3><div class="gif-path" title="{path}">{path}</div>'
    if not link:
        return head
    link = html.escape(link, quote=True)
    file = html.escape(Path(path).name, quote=True)
    return (head + '<div class="gif-actions">'
            f'<a href="{link}" target="_blank" rel="noopener" id="gif-open">Open original</a>'
            f'<a href="{link}" download="{file}" id="gif-download">Download</a>'
            f'<button type="button" data-link="{link}" id="gif-copy">Copy link</button></div>')


class SearchBar:
    """Intro, query box and button, how many GIFs, example queries, and the status line."""

    def __init__(self, handlers: DemoHandlers, limits: DemoLimits, examples: tuple[str, ...]) -> None:
        max_k = max(1, min(limits.max_top_k, handlers.searcher.num_clips))
        gr.Markdown(INTRO, elem_id="title")
        with gr.Row(equal_height=True):
            self.query = gr.Textbox(placeholder="my reaction when…", show_label=False, scale=5, min_width=180,
                                    max_lines=1, max_length=limits.max_query_chars, autofocus=True, elem_id="query")
            self.button = gr.Button("Search", variant="primary", scale=1, min_width=90, elem_id="search")
        self.top_k = gr.Slider(1, max_k, value=min(limits.default_top_k, max_k), step=1, label="How many GIFs",
                               elem_id="top-k")
        self.examples = gr.Examples([[q] for q in examples], inputs=[self.query], label="Examples",
                                    examples_per_page=len(examples))
        self.status = gr.Markdown(handlers.ready_message(), label="search status", elem_id="status")


class ExplainPanel:
    """Why one GIF matched: plain words and the frames first, the numbers in a closed "Details"."""

    def __init__(self, num_readings: int) -> None:
        self.num_readings = num_readings
        with gr.Column(visible=False, elem_id="explain") as self.box:
            self.head = gr.HTML(elem_id="explain-head", js_on_load=COPY_LINK_JS)
            self.summary = gr.Markdown(elem_id="explain-summary")
            self.frames = gr.Image(show_label=False, type="pil", format="png", interactive=False, elem_id="frames",
                                   buttons=[], container=False)
            self.frames_compact = gr.Image(show_label=False, type="pil", format="png", interactive=False,
                                           elem_id="frames-compact", buttons=[], container=False)
            self.frames_caption = gr.Markdown(elem_classes=["caption"], elem_id="frames-caption")
            self.text_frame = gr.Image(show_label=False, type="pil", format="png", interactive=False,
                                       elem_id="text-frame", buttons=[], container=False, visible=False)
            with gr.Accordion("Details: the scores, the words each reading weighs, and all the pairs", open=False,
                              elem_id="explain-details"):
                self.numbers = gr.Markdown(elem_id="explain-numbers")
                with gr.Row():
                    with gr.Column(scale=3, min_width=260):
                        gr.Markdown("**Words**: each reading's attention over your words (stronger = more).",
                                    elem_classes=["caption"])
                        self.words = [gr.HighlightedText(label=f"Reading {k + 1}", interactive=False,
                                                         show_legend=False, elem_id=f"words-{k + 1}",
                                                         elem_classes=["words"]) for k in range(num_readings)]
                    with gr.Column(scale=2, min_width=200):
                        gr.Markdown("**Pairs**: the similarity of each reading (q1 = reading 1, …) with each GIF "
                                    "head (g) and each of the GIF's texts (t); the score is the highest, outlined.",
                                    elem_classes=["caption"])
                        self.heatmap = gr.Image(show_label=False, type="pil", format="png", interactive=False,
                                                elem_id="heatmap", buttons=[], container=False)
                with gr.Accordion("All the numbers (JSON)", open=False, elem_id="payload-box"):
                    self.payload = gr.JSON(show_label=False, elem_id="payload")
        self.outputs = [self.box, self.head, self.summary, self.frames, self.frames_compact, self.frames_caption,
                        self.text_frame, self.numbers, *self.words, self.heatmap, self.payload]

    def render(self, explanation: Explanation) -> list[Any]:
        words = [gr.HighlightedText(value=explanation.words[k], label=explanation.word_labels[k], visible=True)
                 if k < len(explanation.words) else gr.HighlightedText(value=None, visible=False)
                 for k in range(self.num_readings)]
        head = actions_html(explanation.title, explanation.path, explanation.link) if explanation.ok else ""
        text_frame = gr.Image(value=explanation.text_frame, visible=explanation.text_frame is not None)
        return [gr.Column(visible=True), head, explanation.summary, explanation.frames, explanation.frames_compact,
                explanation.frames_caption, text_frame, explanation.numbers, *words, explanation.heatmap,
                explanation.payload or None]


class HeadsPanel:
    """Each reading of the query alone, with its own best GIFs: one line when all agree."""

    def __init__(self, num_readings: int) -> None:
        self.num_readings = num_readings
        with gr.Column(visible=False, elem_id="per-head") as self.box:
            with gr.Accordion("Readings", open=False, elem_id="heads-note") as self.accordion:
                self.labels, self.rows = [], []
                for k in range(num_readings):
                    self.labels.append(gr.Markdown(elem_classes=["head-label"], elem_id=f"head-label-{k + 1}"))
                    self.rows.append(gr.Gallery(show_label=False, columns=4, height="auto", object_fit="contain",
                                                allow_preview=False, elem_id=f"head-{k + 1}", elem_classes=["head-row"],
                                                buttons=[]))
        self.outputs = [self.box, self.accordion, *self.labels, *self.rows]

    def update(self, note: str, rows: list[tuple[str, list[tuple[str, str]]]], cache: str,
               served: ServedFiles, previews: Path | None = None) -> list[Any]:
        """Updates for `outputs`: the note as the one line, open with the rows when the readings disagree; each GIF
        as a cached copy of its checked file in `served`."""
        agree = "different best GIFs" not in note
        labels = [gr.Markdown(rows[k][0], visible=True) if k < len(rows) else gr.Markdown("", visible=False)
                  for k in range(self.num_readings)]
        galleries = [gr.Gallery(value=[(cached_copy(served, path, cache, previews), caption) for path, caption in rows[k][1]],
                                visible=True) if k < len(rows) else gr.Gallery(value=None, visible=False)
                     for k in range(self.num_readings)]
        return [gr.Column(visible=bool(rows)), gr.Accordion(label=note or "Readings", open=not agree),
                *labels, *galleries]


def credits_box(gallery_root: Path) -> None:
    """The gallery's credits, closed, when it has a CREDITS file."""
    credits = gallery_credits(gallery_root)
    if credits:
        with gr.Accordion("Gallery credits", open=False, elem_id="credits"):
            gr.Markdown(credits)
