"""Which clip-text pairs form the batches of one epoch: a pure function of (seed, epoch).

Each epoch every training clip appears once per pass, with one of its texts drawn at random (text augmentation),
so a batch has exactly one positive per clip. More passes per epoch let clips with many texts (e.g. distant
supervision pairs) show more of them between two validations. Two clips of the same group (e.g. skin-tone
variants) or two pairs with the same text are kept out of one batch when possible: in the hardest-negative triplet
loss each would be the other's false negative.
"""
from __future__ import annotations

from collections import deque
from collections.abc import Sequence

import numpy as np


def pack_batches(order: Sequence[int], groups: Sequence[str], text_options: Sequence[Sequence[int]],
                 batch_size: int) -> list[list[tuple[int, int]]]:
    """Greedy batches of (clip, text) in `order`.

    A clip takes the first of its `text_options` not yet in the batch; a clip whose group is already in the
    batch, or whose every text is, waits for the next batch. Every batch takes at least the first waiting clip,
    so all clips are placed; only the last batches can be short.
    """
    pending = deque(order)
    batches: list[list[tuple[int, int]]] = []
    while pending:
        batch: list[tuple[int, int]] = []
        seen_groups: set[str] = set()
        seen_texts: set[int] = set()
        deferred: list[int] = []
        while pending and len(batch) < batch_size:
            clip = pending.popleft()
            text = next((t for t in text_options[clip] if t not in seen_texts), None)
            if groups[clip] in seen_groups or text is None:
                deferred.append(clip)
                continue
            batch.append((clip, text))
            seen_groups.add(groups[clip])
            seen_texts.add(text)
        pending.extendleft(reversed(deferred))
        batches.append(batch)
    return batches


def epoch_batches(texts_per_clip: Sequence[Sequence[int]], groups: Sequence[str], batch_size: int, seed: int,
                  epoch: int, passes: int = 1) -> list[tuple[list[int], list[int]]]:
    """[(clip indices, text ids)] for one epoch of `passes` passes over the clips; deterministic in (seed, epoch)
    so a resumed run repeats it. Pass p > 0 gives each clip the text at position p of its shuffled texts (cycling),
    so a clip with several texts shows different ones in one epoch."""
    rng = np.random.default_rng([seed, epoch])
    shuffled = [[int(ids[j]) for j in rng.permutation(len(ids))] for ids in texts_per_clip]
    batches = []
    for p in range(passes):
        options = [s[p % len(s):] + s[:p % len(s)] if s else s for s in shuffled]
        order = rng.permutation(len(texts_per_clip)).tolist()
        batches += [([c for c, _ in b], [t for _, t in b]) for b in pack_batches(order, groups, options, batch_size)]
    return batches
