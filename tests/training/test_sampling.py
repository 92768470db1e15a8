from collections import Counter

from pvse.training.sampling import epoch_batches, pack_batches


def test_every_clip_once_with_one_of_its_texts_and_no_clashes():
    groups = [f"g{i // 3}" for i in range(30)]  # ten groups of three variants (like skin tones)
    texts = [[100 + i, 7] for i in range(30)]  # every clip may also say the shared text 7
    batches = epoch_batches(texts, groups, batch_size=8, seed=0, epoch=1)
    clips = [c for b, _ in batches for c in b]
    assert sorted(clips) == list(range(30))
    for b, t in batches:
        assert len(b) <= 8 and len({groups[c] for c in b}) == len(b) and len(set(t)) == len(t)
        assert all(tid in texts[c] for c, tid in zip(b, t))
    assert epoch_batches(texts, groups, 8, seed=0, epoch=1) == batches
    assert epoch_batches(texts, groups, 8, seed=0, epoch=2) != batches
    assert epoch_batches(texts, groups, 8, seed=1, epoch=1) != batches


def test_text_choice_is_uniform_over_epochs():
    counts = Counter(t for epoch in range(400) for _, ts in epoch_batches([[0, 1, 2, 3]], ["a"], 4, 0, epoch) for t in ts)
    assert set(counts) == {0, 1, 2, 3} and min(counts.values()) > 70


def test_pack_defers_clashing_items_and_always_progresses():
    batches = pack_batches([0, 1, 2, 3], ["a", "a", "a", "b"], [[0], [1], [2], [3]], batch_size=4)
    assert batches == [[(0, 0), (3, 3)], [(1, 1)], [(2, 2)]]
    assert pack_batches([0, 1], ["a", "b"], [[5], [5]], 2) == [[(0, 5)], [(1, 5)]]


def test_passes_visit_every_clip_again_with_another_text():
    texts = [[10 * i + j for j in range(5)] for i in range(12)]  # five texts per clip
    batches = epoch_batches(texts, [f"g{i}" for i in range(12)], 4, seed=0, epoch=3, passes=3)
    clips = Counter(c for b, _ in batches for c in b)
    assert clips == {i: 3 for i in range(12)}
    shown = {i: [t for b, ts in batches for c, t in zip(b, ts) if c == i] for i in range(12)}
    assert all(len(set(ts)) == 3 and set(ts) <= set(texts[i]) for i, ts in shown.items())
    assert epoch_batches(texts, [f"g{i}" for i in range(12)], 4, 0, 3, passes=1) == batches[:3]  # pass 1 is unchanged
