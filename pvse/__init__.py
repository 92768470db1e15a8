"""pvse-gif: Polysemous Visual-Semantic Embedding (Song & Soleymani, CVPR 2019) for reaction-GIF search."""
from .checkpoints import load_checkpoint, save_checkpoint
from .config import PVSEConfig
from .errors import DeviceError, GalleryIndexError, MediaError, PVSEError, QueryError, WeightsError
from .model import PVSE
from .pipeline import PVSEPipeline, load
from .similarity import max_over_k2_scores

__all__ = ["PVSE", "PVSEConfig", "PVSEPipeline", "load", "load_checkpoint", "save_checkpoint", "max_over_k2_scores",
           "PVSEError", "MediaError", "WeightsError", "DeviceError", "GalleryIndexError", "QueryError"]
__version__ = "0.1.0"
