"""pvse-gif: Polysemous Visual-Semantic Embedding (Song & Soleymani, CVPR 2019) for reaction-GIF search.

The model API is imported on first use (PEP 562), so `import pvse.errors` or `pvse --help` does not pay
for torch.
"""
from importlib import import_module

from .errors import DeviceError, GalleryIndexError, MediaError, PVSEError, QueryError, WeightsError

_LAZY = {"load_checkpoint": "checkpoints", "save_checkpoint": "checkpoints", "PVSEConfig": "config",
         "PVSE": "model", "PVSEPipeline": "pipeline", "load": "pipeline", "max_over_k2_scores": "similarity",
         "Searcher": "search.searcher", "build_index": "build.run"}

__all__ = ["PVSE", "PVSEConfig", "PVSEPipeline", "load", "Searcher", "build_index",
           "load_checkpoint", "save_checkpoint", "max_over_k2_scores",
           "PVSEError", "MediaError", "WeightsError", "DeviceError", "GalleryIndexError", "QueryError"]
__version__ = "0.1.0"


def __getattr__(name: str):
    if name in _LAZY:
        value = getattr(import_module(f".{_LAZY[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
