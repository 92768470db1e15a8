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


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    if not SHARED_EMOJI.is_dir():
        pytest.skip(f"{SHARED_EMOJI} is not here (it sits beside the clone in CI)")
    return SHARED_EMOJI
