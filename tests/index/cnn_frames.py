"""Count the frames that reach the frame CNN, to tell re-encoded clips from reused ones."""
from __future__ import annotations


def count_cnn_frames(pipeline, monkeypatch) -> list[int]:
    """Wrap the pipeline's frame extractor; the returned list gets the frame count of every CNN call."""
    calls: list[int] = []
    extractor = pipeline.frame_extractor
    real = extractor.extract
    monkeypatch.setattr(extractor, "extract", lambda frames, **kw: calls.append(len(frames)) or real(frames, **kw))
    return calls
