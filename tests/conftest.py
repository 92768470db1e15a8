import atexit
import os
import shutil
import tempfile
from pathlib import Path

import pytest
import torch

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
if "PVSE_ONNX_CACHE" not in os.environ:  # verified CNN exports of this test run (subprocesses inherit it), not ~/.cache
    os.environ["PVSE_ONNX_CACHE"] = tempfile.mkdtemp(prefix="pvse-test-onnx-")
    atexit.register(shutil.rmtree, os.environ["PVSE_ONNX_CACHE"], True)
torch.set_num_threads(min(2, torch.get_num_threads()))

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_EMOJI = REPO_ROOT.parent / "shared" / "data" / "noto-animated-emoji"
BUNDLED_EMOJI = REPO_ROOT / "gallery" / "noto-emoji"  # 444 of the same emoji, re-encoded smaller, same manifest columns

# subprocesses (`python -m pvse`, `python -m demo`, `python -c`) import this checkout, whichever copy is installed
os.environ["PYTHONPATH"] = os.pathsep.join([str(REPO_ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """Noto animated emoji GIFs with their manifest.tsv: the shared data set beside the clone when it is there (CI),
    else the repository's own bundled gallery, so that a clone alone runs every test that needs a few real GIFs."""
    return SHARED_EMOJI if SHARED_EMOJI.is_dir() else BUNDLED_EMOJI


@pytest.fixture(scope="session")
def full_emoji_set() -> Path:
    """The whole shared Noto set (711 GIFs), for the tests about the data set itself: it sits beside the clone in
    CI, where its absence fails loudly; elsewhere such a test is skipped and says why."""
    if SHARED_EMOJI.is_dir():
        return SHARED_EMOJI
    message = f"{SHARED_EMOJI} is missing: the full Noto animated emoji set must sit beside the clone"
    if os.environ.get("CI"):
        pytest.fail(message + " in CI")
    pytest.skip(message + " (only this test needs it; every other one uses the bundled gallery)")
