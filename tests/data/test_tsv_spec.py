import pytest

from pvse.data import load_dataset, load_tsv
from pvse.errors import PVSEError

FILES = [f"clip{i:02d}.gif" for i in range(20)]


@pytest.fixture
def clips(tmp_path, shared_dir):
    gifs = sorted(shared_dir.glob("*.gif"))[:len(FILES)]
    folder = tmp_path / "clips"
    folder.mkdir()
    for name, gif in zip(FILES, gifs):
        (folder / name).write_bytes(gif.read_bytes())
    return folder


def test_several_rows_per_file_and_split_column(clips, tmp_path):
    tsv = tmp_path / "pairs.tsv"
    tsv.write_text("file\ttext\tsplit\n"
                   "clip00.gif\tso happy\ttrain\n"
                   "clip00.gif\tgrinning at you\ttrain\n"
                   "clip01.gif\tcrying my eyes out\tvalid\n"
                   "clip02.gif\ta wink\ttest\n"
                   "clip02.gif\twinking face\ttest\n"
                   "clip02.gif\ta wink\ttest\n")
    data = load_dataset(f"tsv:{clips}:{tsv}")
    assert data.notes["split_rule"] == "column"
    train = data.split("train")
    assert [c.path.name for c in train.clips] == ["clip00.gif"]
    assert train.texts_by_clip() == [["so happy", "grinning at you"]]
    assert data.split("val").unique_texts() == ["crying my eyes out"]
    assert data.split("test").texts_by_clip() == [["a wink", "winking face"]]


def test_hash_and_shuffle_rules_are_deterministic_and_partition(clips, tmp_path):
    tsv = clips / "pairs.tsv"
    tsv.write_text("".join(f"{f}\ttext {i}\n{f}\tother text {i}\n" for i, f in enumerate(FILES)))
    for rule in ("hash", "shuffle"):
        a = load_dataset(str(tsv), split_rule=rule, split_seed=3)  # clips dir defaults to the TSV's folder
        b = load_tsv(tsv, split_rule=rule, seed=3)
        names = {s: sorted(c.path.name for c in a.splits[s].clips) for s in a.splits}
        assert names == {s: sorted(c.path.name for c in b.splits[s].clips) for s in b.splits}
        assert sorted(sum(names.values(), [])) == FILES
        assert all(len(a.splits[s].pairs) == 2 * len(names[s]) for s in names)
    shuffled = load_tsv(tsv, split_rule="shuffle")
    assert [shuffled.splits[s].num_clips for s in ("train", "val", "test")] == [16, 2, 2]
    assert load_tsv(tsv).notes["split_rule"] == "hash"
    other_seed = load_tsv(tsv, split_rule="shuffle", seed=4)
    assert ({c.path for c in other_seed.splits["test"].clips} != {c.path for c in shuffled.splits["test"].clips})


def test_tsv_errors(clips, tmp_path):
    tsv = tmp_path / "bad.tsv"
    tsv.write_text("clip00.gif\tone\ttrain\nclip00.gif\ttwo\ttest\n")
    with pytest.raises(PVSEError, match="must agree"):
        load_tsv(tsv, clips)
    tsv.write_text("clip00.gif\n")
    with pytest.raises(PVSEError, match="2 tab-separated columns"):
        load_tsv(tsv, clips)
    tsv.write_text("nothere.gif\thello\n")
    with pytest.raises(PVSEError, match="none of the files"):
        load_tsv(tsv, clips)
    tsv.write_text("clip00.gif\thello\n")
    with pytest.raises(PVSEError, match="third column"):
        load_tsv(tsv, clips, split_rule="column")
    with pytest.raises(PVSEError, match="tsv:CLIPS_DIR:FILE.tsv"):
        load_dataset("tsv:only-one-part")
    tsv.write_text("clip00.gif\thello\tholdout\n")
    with pytest.raises(PVSEError, match="unknown split"):
        load_tsv(tsv, clips)


def test_missing_files_are_skipped_and_noted(clips, tmp_path):
    tsv = tmp_path / "p.tsv"
    tsv.write_text("clip00.gif\thello\ntypo.gif\tbye\n")
    data = load_tsv(tsv, clips)
    assert data.notes["missing_files"] == ["typo.gif"]
    assert sum(s.num_clips for s in data.splits.values()) == 1
