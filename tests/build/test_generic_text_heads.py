"""A clip whose words fit any reaction ("so true", "me right now", "reaction gif": what junk captions and watermarks
read from frames look like) does not outrank clips whose words are about something: the text heads' hub correction
takes off what makes words look like a match to every sentence. Behaviour only, on a tiny built index: bundled
emoji GIFs under made-up names, a random-init model, the real CNN and sentence model."""

import pytest

from pvse.build import build_index
from pvse.index import read_index
from pvse.search import Searcher
from tests.helpers.files import bundled_gallery
from tests.helpers.models import tiny_pipeline

GENERIC = {"me-right-now.gif": "001-smile.gif", "so-true.gif": "003-grin.gif", "reaction-gif.gif": "004-grinning.gif"}
SPECIFIC = {"cat-knocks-cup-off-table.gif": "a cat knocking a cup off the table",
            "dog-sneezes-on-the-camera.gif": "dog sneezing", "baby-eats-a-lemon.gif": "a baby eating a lemon",
            "man-slips-on-ice.gif": "slipping on ice"}
PIXELS = ["009-loudly-crying.gif", "118-alien-monster.gif", "140-party-popper.gif", "005-laughing.gif"]


@pytest.fixture(scope="module")
def searcher(tmp_path_factory):
    root = tmp_path_factory.mktemp("generic-text")
    gallery = bundled_gallery(root / "gifs", {**GENERIC, **dict(zip(SPECIFIC, PIXELS))})
    pipeline = tiny_pipeline(root / "weights")
    build_index(gallery, root / "gifs.index", pipeline=pipeline, read_text=False,
                progress=False)
    return Searcher(read_index(root / "gifs.index"), pipeline)


@pytest.mark.parametrize("clip, query", SPECIFIC.items())
def test_a_generic_name_is_not_what_a_query_about_something_finds_next(searcher, clip, query):
    hits = searcher.search(query, top_k=len(GENERIC) + len(SPECIFIC)).hits
    assert hits[0].path == clip and hits[0].matched_by == "its name"
    runner_up = hits[1]  # without the correction, a generic name comes next for every query
    assert runner_up.path not in GENERIC or runner_up.matched_by != "its name", [(h.path, h.score) for h in hits]
