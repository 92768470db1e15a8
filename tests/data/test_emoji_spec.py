import csv

from pvse.data import load_dataset
from pvse.data.emoji import emoji_group, emoji_texts


def test_group_ignores_skin_tones_and_fe0f():
    assert emoji_group("1f44d 1f3fd", "Thumbs up") == emoji_group("1f44d", "Thumbs up") == "1f44d"
    assert emoji_group("2764 fe0f 200d 1f525", "x") == "2764-200d-1f525"
    assert emoji_group("", "Paw_Prints") == "name:paw prints"


def test_texts_from_manifest_row():
    row = {"name": "Happy cry", "cldr_name": "smiling face with tear", "shortcode": ":happy-cry:",
           "keywords": "face; grateful; proud; relieved; smiling; tear; touched", "emoticons": ":,) :')"}
    texts = emoji_texts(row)
    assert texts[:4] == ["happy cry", "smiling face with tear", "face", "grateful"]
    assert {":,)", ":')", "tear", "touched"} <= set(texts)
    assert "face" in texts and "an animated smiling face with tear emoji" in texts
    assert "my reaction when happy cry" in texts and "happy cry: grateful, proud, relieved" in texts
    assert len(texts) == len({t.lower() for t in texts})  # "happy cry" (name == shortcode) only once


def test_split_by_code_point_group_on_the_full_set(full_emoji_set):
    data = load_dataset(f"emoji:{full_emoji_set}")
    with open(full_emoji_set / "manifest.tsv", newline="") as fh:
        rows = list(csv.DictReader(fh, delimiter="\t", quoting=csv.QUOTE_NONE))
    assert sum(s.num_clips for s in data.splits.values()) == len(rows) == 711
    groups = {name: {c.group for c in s.clips} for name, s in data.splits.items()}
    assert not groups["train"] & groups["val"] and not groups["train"] & groups["test"] and not groups["val"] & groups["test"]
    n = sum(len(g) for g in groups.values())
    assert abs(len(groups["test"]) - 0.1 * n) <= 1 and abs(len(groups["val"]) - 0.1 * n) <= 1
    palms = [c for s in data.splits.values() for c in s.clips if c.path.name.endswith("-palm.gif")]
    assert len(palms) == 6 and len({c.group for c in palms}) == 1
    again = load_dataset(f"emoji:{full_emoji_set}")
    assert [c.path for c in again.splits["test"].clips] == [c.path for c in data.splits["test"].clips]
    reseeded = load_dataset(f"emoji:{full_emoji_set}", split_seed=1)
    assert {c.group for c in reseeded.splits["test"].clips} != groups["test"]
    members = data.describe(list_members=True)["members"]["test"]
    assert {m["group"] for m in members} == groups["test"]
