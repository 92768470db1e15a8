"""pvse-gif: Polysemous Visual-Semantic Embedding (Song & Soleymani, CVPR 2019) for reaction-GIF search.

The model API is imported on first use (PEP 562), so `import pvse.errors` or `pvse --help` does not pay
for torch.
"""
from .errors import DeviceError, GalleryIndexError, MediaError, PVSEError, QueryError, WeightsError
from .lazy_names import lazy_names

_LAZY = {"load_checkpoint": "checkpoints", "save_checkpoint": "checkpoints", "PVSEConfig": "config",
         "PVSE": "model", "PVSEPipeline": "pipeline", "load": "pipeline", "max_over_k2_scores": "similarity",
         "Searcher": "search.searcher", "build_index": "build.run"}

__all__ = ["PVSE", "PVSEConfig", "PVSEPipeline", "load", "Searcher", "build_index",
           "load_checkpoint", "save_checkpoint", "max_over_k2_scores",
           "PVSEError", "MediaError", "WeightsError", "DeviceError", "GalleryIndexError", "QueryError"]
__version__ = "0.1.0"


__getattr__, __dir__ = lazy_names(__name__, _LAZY, globals())
