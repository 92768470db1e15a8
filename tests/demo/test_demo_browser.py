"""The app in a real browser: Debian's Chromium driven by Playwright (never a downloaded browser).

Runs on the bundled default model and gallery when they are present (the app as shipped), else on the
tiny test gallery. Screenshots go to $PVSE_SCREENSHOTS_DIR when set (the README's are made with
`PVSE_SCREENSHOTS_DIR=docs/screenshots python -m pytest tests/demo/test_browser.py`), else to a temp folder.
"""
from __future__ import annotations

import io
import os
import re
from pathlib import Path

import pytest
from PIL import Image

from demo.drawing import LABEL_FONT_PX

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason=f"Debian's Chromium is not installed at {CHROMIUM} (`apt-get install chromium`; .ci/run does it); "
           "Playwright browser downloads are not used here")
QUERY = "my reaction when I can't stop laughing"


@pytest.fixture(scope="module")
def app_url(request, free_port):
    """The bundled app when it is here, else the tiny test app (both launched on 127.0.0.1), with how many readings
    a query has there."""
    from pvse.defaults import default_index
    if default_index().is_dir():
        from demo.app import build_app, launch
        from pvse.search import Searcher
        app = build_app(Searcher.load(device="cpu"))
        _, url, _ = launch(app, host="127.0.0.1", port=free_port(), prevent_thread_lock=True, quiet=True)
        yield url.rstrip("/"), app.handlers.num_readings
        app.blocks.close()
    else:
        server = request.getfixturevalue("demo_server")
        yield server.url, server.app.handlers.num_readings


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                             args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        yield browser
        browser.close()


@pytest.fixture
def shots(tmp_path) -> Path:
    folder = Path(os.environ.get("PVSE_SCREENSHOTS_DIR") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _search(page, text: str) -> None:
    box = page.locator("#query textarea, #query input").first
    box.fill(text)
    box.press("Enter")


def _in_view(page, selector: str, timeout_s: float = 10.0) -> dict:
    """Waits until the element's top is in the upper half of the viewport (or the page is scrolled to its end):
    it was brought into view. Returns its box."""
    check = f"""() => {{
        const el = document.querySelector('{selector}'), r = el && el.getBoundingClientRect();
        const end = window.scrollY + window.innerHeight >= document.documentElement.scrollHeight - 2;
        return !!r && r.height > 0 && r.top >= -1 && (r.top < window.innerHeight / 2 || end); }}"""
    page.wait_for_function(check, timeout=timeout_s * 1000)
    return page.locator(selector).bounding_box()


def test_search_select_and_explain_in_chromium(browser, app_url, shots):
    url, num_readings = app_url
    page = browser.new_page(viewport={"width": 1200, "height": 1000}, accept_downloads=True)
    errors, outside = [], []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("request", lambda r: outside.append(r.url) if not r.url.startswith((url, "data:", "blob:")) else None)
    page.goto(url)
    status = page.locator("#status")
    status.get_by_text("Ready.").wait_for(timeout=60_000)  # the first-load state says what runs where
    assert re.search(r"running on \w+", status.inner_text())

    page.locator("#search").click()  # empty query
    status.get_by_text("Type a few words").wait_for(timeout=30_000)

    _search(page, QUERY)
    status.get_by_text("GIFs for").wait_for(timeout=60_000)
    thumbs = page.locator("#results video")
    thumbs.first.wait_for(timeout=30_000)
    count = thumbs.count()
    assert count >= 3
    for i in range(min(count, 3)):
        src = thumbs.nth(i).get_attribute("src")
        assert src.endswith(".mp4"), src
        body = page.request.get(src).body()
        assert body[4:8] == b"ftyp" and len(body) < 200_000  # what the browser shows is a small preview video
    page.wait_for_function("() => [...document.querySelectorAll('#results video')].every(v => !v.paused && v.loop"
                           " && v.muted)", timeout=30_000)  # playing, looping and silent, as GIFs do
    captions = page.locator("#results .caption-label").all_inner_texts()
    assert len(captions) == count and all(c and not c.startswith("#") for c in captions)  # names, not ranks
    first = page.locator("#results .thumbnail-item").first
    page.wait_for_function("() => document.querySelector('#results .thumbnail-item').title.endsWith('.gif')")
    path = first.get_attribute("title")  # hover: the path inside the gallery
    for caption in page.locator("#results .caption-label").all():  # wrapped, never cut, fully opaque
        assert caption.evaluate("el => el.scrollWidth <= el.clientWidth + 1"), caption.inner_text()
    page.screenshot(path=str(shots / "demo-results.png"))

    heads = page.locator("#per-head")
    heads.wait_for(state="visible", timeout=30_000)
    note = page.locator("#heads-note")
    line = note.locator("button, .label-wrap").first.inner_text()
    assert re.match(rf"(All {num_readings} readings of your words agree|Your words can be read {num_readings} ways)", line)
    if not page.locator("#head-1").is_visible():  # one line when the readings agree: open it to see them
        note.locator("button, .label-wrap").first.click()
    page.locator("#head-1 video").first.wait_for(timeout=30_000)  # each reading's own best GIFs, one row each
    assert page.locator(".head-row").count() == num_readings
    for k in range(1, num_readings + 1):  # the row's label sits above its thumbnails, never over them
        label = page.locator(f"#head-label-{k}").bounding_box()
        row = page.locator(f"#head-{k} .thumbnail-item").first.bounding_box()
        assert label["y"] + label["height"] <= row["y"] + 1
        assert page.locator(f"#head-label-{k}").inner_text().startswith(f"Reading {k}")
    heads.screenshot(path=str(shots / "demo-heads.png"))

    page.evaluate("window.scrollTo(0, 0)")
    first.click()
    explain = page.locator("#explain")
    explain.wait_for(state="visible", timeout=30_000)
    _in_view(page, "#explain")  # the click brings the explanation into view
    page.locator("#frames img").wait_for(state="visible", timeout=30_000)
    assert page.locator("#explain-head h3").inner_text() == captions[0]  # its name as the title
    assert page.locator("#explain-head .gif-path").inner_text() == path
    summary = page.locator("#explain-summary").inner_text()
    assert summary.startswith(("Matched", "Shown first")) and "cosine" not in summary and "head" not in summary
    assert not page.locator("#heatmap img").is_visible()  # the numbers wait in the closed details
    frames = page.locator("#frames img")
    assert frames.evaluate("img => img.naturalWidth") >= 4 * 96
    assert not page.locator("#frames-compact").is_visible()  # the 4-a-row strip is for phones
    caption = page.locator("#frames-caption").inner_text()  # the red row is named only when one is drawn
    assert ("outlined in red" in caption) != ("No GIF head matched" in caption), caption
    explain.screenshot(path=str(shots / "demo-explain.png"))

    with page.expect_download() as download:  # the original file, saved under its own name
        page.locator("#gif-download").click()
    saved = Path(download.value.path())
    assert download.value.suggested_filename == Path(path).name
    with Image.open(saved) as gif:
        assert gif.format == "GIF" and gif.n_frames > 1
    link = page.locator("#gif-open").get_attribute("href")
    assert page.request.get(f"{url}/{link}").body() == saved.read_bytes()
    for forged in ("gif/0/passwd", "gif/../../etc/passwd", "gif/99999/x.gif", "gif/0/%2e%2e%2fCREDITS.md"):
        assert page.request.get(f"{url}/{forged}").status == 404, forged

    page.locator("#explain-details").locator("button, .label-wrap").first.click()
    page.locator("#heatmap img").wait_for(state="visible", timeout=30_000)
    numbers = page.locator("#explain-numbers").inner_text()  # what was compared: heads' cosine, or the sentence model
    assert "cosine" in numbers or "sentence model" in numbers
    words = page.locator(".words")
    assert words.count() == num_readings
    labels = [words.nth(k).inner_text() for k in range(num_readings)]
    assert sum("★ matched" in label for label in labels) == 1
    assert all("laughing" in label for label in labels)  # every reading's highlighted words
    assert "can't" in labels[0] and "##" not in " ".join(labels)  # words as typed, not word pieces

    page.evaluate("window.scrollTo(0, document.body.scrollHeight)")  # a GIF in a reading's row explains too
    page.locator("#head-2 .thumbnail-item").first.click()
    page.wait_for_function("""() => document.querySelector('#explain-head h3').textContent ===
                              document.querySelector('#head-2 .caption-label').textContent""", timeout=30_000)
    _in_view(page, "#explain")

    _search(page, "xqzv blorp")  # no word the model or the gallery knows: no results, and why
    status.get_by_text("No GIFs found").wait_for(timeout=60_000)
    assert "None of the words" in status.inner_text()
    _search(page, "so very " * 40 + "tired")  # a long query is echoed cut short
    status.get_by_text("GIFs for").wait_for(timeout=60_000)
    assert "…" in status.inner_text() and "tired" not in status.inner_text()

    page.get_by_text("so proud of you", exact=True).click()  # an example query runs the search
    status.get_by_text("so proud of you").wait_for(timeout=60_000)
    assert not explain.is_visible()  # a new search closes the old explanation
    assert not errors, errors
    assert not outside, f"the page called out: {outside}"  # fonts, scripts and GIFs all come from the app
    page.close()


def test_a_word_only_the_gallery_knows_finds_its_gif(browser, demo_server):
    """On a person's own folder: "facepalm" is no word the model knows, but `multi-facepalm.gif` is in the folder."""
    page = browser.new_page(viewport={"width": 1200, "height": 1000})
    page.goto(demo_server.url)
    page.locator("#status").get_by_text("Ready.").wait_for(timeout=60_000)
    page.wait_for_function(  # the example buttons are filled in after the status says Ready
        "() => { const items = [...document.querySelectorAll('.gallery-item')];"
        " return items.length > 0 && items.every(el => el.innerText.trim().length > 0); }", timeout=30_000)
    examples = [e.strip() for e in page.locator(".gallery-item").all_inner_texts()]
    assert "alien monster" in examples and "so proud of you" not in examples  # from this gallery's names
    _search(page, "facepalm")
    page.locator("#status").get_by_text("GIFs for").wait_for(timeout=60_000)
    assert "does not know 'facepalm'" in page.locator("#status").inner_text()
    assert page.locator("#results .caption-label").first.inner_text() == "multi-facepalm"
    page.locator("#results .thumbnail-item").first.click()
    _in_view(page, "#explain")
    assert page.locator("#explain-summary").inner_text().startswith("Shown first because its file name has")
    page.close()


def test_phone_width_layout(browser, app_url, shots):
    url, _ = app_url
    page = browser.new_page(viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True,
                            has_touch=True)
    page.goto(url)
    _search(page, QUERY)
    page.locator("#results video").first.wait_for(timeout=60_000)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # nothing wider than the phone
    assert page.locator("#search").bounding_box()["width"] > 40
    page.locator("#results .thumbnail-item").first.tap()
    strip = page.locator("#frames-compact img")
    strip.wait_for(state="visible", timeout=30_000)
    _in_view(page, "#explain")  # on a phone too
    assert not page.locator("#frames").is_visible()  # the one-row strip would shrink its labels to ~7 px
    box = strip.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 390 + 1
    scale = box["width"] / strip.evaluate("img => img.naturalWidth")
    assert scale * LABEL_FONT_PX >= 12  # the h1..hK labels stay readable
    for caption in page.locator("#results .caption-label").all():  # captions wrap, never cut (also at 390 px)
        assert caption.evaluate("el => el.scrollWidth <= el.clientWidth + 1"), caption.inner_text()
    page.locator("#explain").screenshot(path=str(shots / "demo-phone-explain.png"))
    page.evaluate("window.scrollTo(0, 0)")
    results = page.locator("#results").bounding_box()  # viewport coordinates = page coordinates at the top
    page.screenshot(path=str(shots / "demo-phone.png"), full_page=True,
                    clip={"x": 0, "y": 0, "width": 390, "height": results["y"] + results["height"] + 8})
    page.close()


def test_dark_mode_explanation(browser, app_url, shots):
    url, _ = app_url
    page = browser.new_page(viewport={"width": 1200, "height": 1000}, color_scheme="dark")
    page.goto(url + "/?__theme=dark")
    _search(page, QUERY)
    page.locator("#results video").first.wait_for(timeout=60_000)
    assert page.evaluate("document.body.classList.contains('dark') || "
                         "document.querySelector('.dark') !== null")
    page.locator("#results .thumbnail-item").first.click()
    page.locator("#frames img").wait_for(state="visible", timeout=30_000)
    page.locator("#explain-details").locator("button, .label-wrap").first.click()
    page.locator("#heatmap img").wait_for(state="visible", timeout=30_000)
    caption = page.locator("#results .thumbnail-item.selected .caption-label")  # the selected GIF's name stays legible
    assert caption.evaluate("el => getComputedStyle(el).opacity") == "1"
    for figure in ("#frames img", "#heatmap img"):  # transparent corners: the dark page shows through, no white box
        body = page.request.get(page.locator(figure).get_attribute("src")).body()
        with Image.open(io.BytesIO(body)) as image:
            assert image.mode == "RGBA" and image.getpixel((0, 0))[3] == 0, figure
    page.locator("#explain").screenshot(path=str(shots / "demo-dark.png"))
    page.close()
