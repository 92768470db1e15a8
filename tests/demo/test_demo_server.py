"""The launched app, queried over HTTP with gradio_client like any other client would."""
from __future__ import annotations

import concurrent.futures
from pathlib import Path

import av
import numpy as np
import pytest
from gradio_client import Client

from pvse.integrity import content_hash
from pvse.media.previews import preview_name

QUERY = "my reaction when i cannot stop laughing"


@pytest.fixture(scope="module")
def client(demo_server):
    return Client(demo_server.url, verbose=False, download_files=True)


def _names(gallery):
    """The clip each result shows a preview of, by the preview's name (its clip's content hash)."""
    return [Path(item["video"]).name for item in gallery]


def test_api_lists_search_and_explain(client):
    api = client.view_api(print_info=False, return_format="dict")["named_endpoints"]
    assert set(api) >= {"/search", "/explain"}
    assert [p["parameter_name"] for p in api["/explain"]["parameters"]] == ["query", "top_k", "index"]


def test_search_returns_each_gifs_preview_with_its_caption(client, demo_server):
    searcher = demo_server.gallery.searcher
    gallery, status = client.predict(QUERY, 5, api_name="/search")
    expected = searcher.search(QUERY, top_k=5).hits
    assert _names(gallery) == [preview_name(content_hash(h.abs_path)) for h in expected]
    assert [item["caption"] for item in gallery] == [h.display_name for h in expected]
    assert all(c == (h.name or Path(h.path).stem) for c, h in zip((i["caption"] for i in gallery), expected))  # names
    for item in gallery:
        with av.open(item["video"]) as video:  # a moving preview, not a flattened still
            assert video.streams.video[0].codec_context.name == "h264"
            assert len(list(video.decode(video=0))) > 1
    assert "**5** GIFs" in status


def test_explain_payload_carries_the_attention_behind_a_hit(client, demo_server):
    hit = demo_server.gallery.searcher.search(QUERY, top_k=5).hits[2]
    payload = client.predict(QUERY, 5, 2, api_name="/explain")
    assert payload["ok"] and payload["rank"] == 3 and payload["file"] == hit.path
    assert payload["name"] == (hit.name or Path(hit.path).stem)
    sims = np.asarray(payload["head_similarities"], dtype=float)  # null (JSON) for pairs of different kinds: NaN
    np.testing.assert_allclose(sims, hit.head_similarities, atol=1e-4)
    assert (payload["reading"], payload["clip_head"]) == (hit.query_head + 1, hit.clip_head + 1) == (
        hit.reading, hit.clip_head + 1)
    assert (hit.query_head, hit.clip_head) == np.unravel_index(np.nanargmax(sims), sims.shape)
    assert payload["score"] == pytest.approx(np.nanmax(sims), abs=1e-4)
    np.testing.assert_allclose(payload["frame_attention"], hit.frame_attention, atol=1e-4)
    words = np.asarray(payload["word_attention"])
    assert words.shape == (3, len(payload["tokens"])) and "laughing" in payload["tokens"]
    np.testing.assert_allclose(words.sum(axis=1), 1.0, atol=1e-3)


ODD_SEARCHES = {  # id: (query, top_k, text in the status, number of GIFs)
    "empty": ("", 5, "Type a few words", 0),
    "blank": ("   \n\t \u200b", 5, "Type a few words", 0),
    "unknown-words": ("qwzx vbnmk", 5, "No GIFs found", 0),
    "huge": ("laughing " * 20_000, 5, "query shortened", 5),
    "markup": ("<script>alert(1)</script> [x](javascript:1) laughing", 5, "GIFs for", 5),
    "top-k-0": ("laughing", 0, "**1** GIFs", 1),
    "top-k-negative": ("laughing", -7, "**1** GIFs", 1),
    "top-k-10^9": ("laughing", 10**9, "**6** GIFs", 6),
    "top-k-text": ("laughing", "many", "**6** GIFs", 6),
    "top-k-none": ("laughing", None, "**6** GIFs", 6),
    "query-not-text": (["laughing"], 3, "GIFs for", 3),
}


@pytest.mark.parametrize("case", list(ODD_SEARCHES))
def test_odd_search_inputs_get_messages_not_errors(client, case):
    query, top_k, expect, count = ODD_SEARCHES[case]
    gallery, status = client.predict(query, top_k, api_name="/search")
    assert expect in status and len(gallery) == count
    assert "<script>" not in status and "](javascript" not in status


@pytest.mark.parametrize("index", [-1, 5, 10**12, "two", None, [1]])
def test_out_of_range_selection_is_refused(client, index):
    payload = client.predict(QUERY, 5, index, api_name="/explain")
    assert payload == {"ok": False, "message": "Pick one of the 5 results to see why it matched."}


def test_twenty_clients_at_once_get_their_own_correct_results(demo_server):
    searcher = demo_server.gallery.searcher
    words = ["laughing", "crying", "alien", "shark", "blood", "water", "happy", "sad", "angry", "tears",
             "monster", "ocean", "funny", "scared", "love", "cold", "hot", "tired", "excited", "bored"]
    queries = [f"my reaction when {w}" for w in words]
    expected = {q: [preview_name(content_hash(h.abs_path)) for h in searcher.search(q, top_k=3).hits]
                for q in queries}

    def one(query):
        gallery, _ = Client(demo_server.url, verbose=False).predict(query, 3, api_name="/search")
        return query, _names(gallery)

    with concurrent.futures.ThreadPoolExecutor(max_workers=20) as pool:
        answers = dict(pool.map(one, queries))
    assert answers == expected
    assert len({tuple(v) for v in expected.values()}) > 1  # the queries really differ
