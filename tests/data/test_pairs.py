from pathlib import Path

import pytest

from pvse.data import load_dataset
from pvse.data.pairs import ClipRef, Split, canonical_split, split_groups_hashed, split_groups_shuffled
from pvse.errors import PVSEError


def test_split_restrict_and_without_texts_reindex_pairs():
    split = Split("test", [ClipRef(Path("a"), "a"), ClipRef(Path("b"), "b"), ClipRef(Path("c"), "c")],
                  [(0, "x"), (1, "y"), (2, "z"), (2, ":)")])
    kept = split.restrict({Path("b"), Path("c")})
    assert [c.path for c in kept.clips] == [Path("b"), Path("c")]
    assert kept.pairs == [(0, "y"), (1, "z"), (1, ":)")]
    dropped = split.without_texts({"y", ":)"})
    assert [c.path for c in dropped.clips] == [Path("a"), Path("c")] and dropped.pairs == [(0, "x"), (1, "z")]


def test_group_splitters_cover_every_group_once():
    groups = [f"g{i}" for i in range(100)]
    for fn in (split_groups_shuffled, split_groups_hashed):
        a = fn(groups, seed=1)
        assert set(a) == set(groups) and set(a.values()) == {"train", "val", "test"}
        assert a == fn(list(reversed(groups)), seed=1)
    assert sorted(split_groups_shuffled(groups).values()).count("test") == 10
    assert set(split_groups_shuffled(["a", "b", "c"]).values()) == {"train", "val", "test"}
    assert canonical_split("valid") == "val"
    with pytest.raises(PVSEError):
        canonical_split("holdout")


def test_extra_pairs_go_to_train_only(tmp_path, shared_dir):
    data = load_dataset(f"emoji:{shared_dir}")
    train_clip = data.splits["train"].clips[0].path.name
    test_clip = data.splits["test"].clips[0].path.name
    extra = tmp_path / "extra.tsv"
    extra.write_text(f"{train_clip}\twhen the code finally compiles\n{test_clip}\twhen the test leaks\n")
    more = load_dataset(f"emoji:{shared_dir}", extra_pairs=[extra])
    assert "when the code finally compiles" in more.split("train").texts_by_clip()[0]
    assert "when the test leaks" not in more.split("test").unique_texts()
    assert more.split("test").pairs == data.split("test").pairs
    assert more.notes["extra_pairs"][0]["ignored_not_train"] == 1
    extra.write_text("no-such-clip.gif\thello\n")
    with pytest.raises(PVSEError, match="not in the data set"):
        load_dataset(f"emoji:{shared_dir}", extra_pairs=[extra])
    joined = more.split("train+val")
    assert joined.num_clips == more.splits["train"].num_clips + more.splits["val"].num_clips
