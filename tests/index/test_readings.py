"""What the app says about the heads' readings (a pure function of the per-head rows)."""
from types import SimpleNamespace as NS

from pvse.index.readings import heads_summary


def head(k, words, row, name):
    return NS(head=k, words=words, hits=[NS(row=row, name=name, path=f"{name.lower()}.gif")])


def test_disagreeing_readings_say_what_each_reads_and_finds():
    rows = [head(0, ["can't", "stop"], 1, "Joy"), head(1, ["laughing"], 2, "Rofl"), head(2, ["can't"], 1, "Joy"),
            head(3, ["my", "i", "when"], 3, "Scream cat")]
    assert heads_summary(rows) == (
        "Your words can be read 4 ways, which find 3 different best GIFs: readings 1 and 3 (“can't”, “stop”) find "
        "Joy; reading 2 (“laughing”) finds Rofl; reading 4 (only filler words: “my”, “i”, “when”) finds Scream cat. "
        "The results above take the best match of all.")


def test_agreeing_readings_name_the_one_gif():
    rows = [head(k, ["laughing"], 7, "Joy") for k in range(4)]
    assert heads_summary(rows) == "All 4 readings of your words agree on the best GIF: Joy."


def test_nothing_to_say_with_one_head_or_none():
    assert heads_summary([]) == "" and heads_summary([head(0, ["x"], 1, "Joy")]) == ""
