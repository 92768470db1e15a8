"""Hugging Face Space entry point (`app_file` in Spaces.yaml): the same app as `python -m demo`.

Options come from the Space's environment variables (PVSE_WEIGHTS, PVSE_INDEX, PVSE_DEVICE; Spaces set
GRADIO_SERVER_NAME / GRADIO_SERVER_PORT themselves); see `python -m demo --help`.
"""
import sys

import spaces  # noqa: F401  (first, so that on ZeroGPU hardware it can prepare CUDA before torch loads)

from demo.__main__ import main

if __name__ == "__main__":
    sys.exit(main([]))
