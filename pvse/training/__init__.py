"""Training and evaluation of PVSE on cached frozen features (`pvse train`, `pvse evaluate`).

    from pvse.training import TrainConfig, train, evaluate
    from pvse.data import load_dataset
    result = train(TrainConfig(data="emoji", out="runs/k4", num_embeds=4, epochs=40))
    metrics = evaluate(result.best_dir, load_dataset("emoji"), "test")
"""
from .evaluate import evaluate, evaluate_random
from .metrics import DirectionMetrics, RetrievalMetrics
from .trainer import TrainConfig, TrainResult, read_log, train

__all__ = ["TrainConfig", "TrainResult", "train", "read_log", "evaluate", "evaluate_random", "RetrievalMetrics",
           "DirectionMetrics"]
