"""Helpers shared by the tests of every folder: import them as `from tests.helpers.MODULE import NAME`.

The repository root is on sys.path for every test run (`pythonpath = ["."]` in pyproject.toml's pytest options),
so `tests` is found as a namespace package from any test folder, with `python -m pytest` or plain `pytest`, and
whether the package is installed or not.

models: tiny random-init models and checkpoints.
    TINY_CONFIG      the tiny model most index, search, CLI and demo tests build with: 3 heads of 32 dimensions
                     over the real EfficientNet-Lite0 frame features (4 frames) and GloVe-50 words
    tiny_checkpoint  save a seeded random-init model of TINY_CONFIG (fields changed by keyword) as a checkpoint
    tiny_pipeline    the same, loaded back as a CPU PVSEPipeline
    toy_model        a seeded model with made-up feature sizes (no CNN, no word vectors), for checkpoint files
    count_cnn_frames count the frames that reach the frame CNN: re-encoded clips against reused ones

ranking: what a search must answer.
    unit             seeded random L2-normalised vectors, for galleries and queries made up in the test
    reference        an independent brute-force max-over-K² top-k (rows or clip ids, scores, head pairs)
    assert_same      a backend's top-k equals `reference`
    QUERIES          a few queries about the Noto emoji
    assert_same_answers  two searchers over one gallery answer every query alike

files: GIFs and index folders made for a test.
    save_gif         Pillow frames as a looping GIF with delays in centiseconds, every frame stored whole
    tampered_copy    a copy of an index folder whose index.json has some fields changed (or other text)
"""
