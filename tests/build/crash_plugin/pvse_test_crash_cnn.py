"""A frame CNN that kills its own process (SIGKILL) when a frame is all magenta: a file that really crashes the
worker that encodes it, as a decoder or CNN segfault would. Test-only: registered through the `pvse_gif.features`
entry point of the dist-info beside it, so a process finds it when this folder is on its PYTHONPATH (a `pvse index`
subprocess, Ray workers); nothing in pvse knows about it.
"""
from __future__ import annotations

import os
import signal

import numpy as np
import torch

from pvse.features.specs import FrameExtractorSpec, register_frame_extractor

NAME = "test-crash-on-magenta"
DIM = 48
MEAN, STD = (0.5, 0.5, 0.5), (0.25, 0.25, 0.25)


class CrashOnMagenta(torch.nn.Module):
    """Mean colours of a 4 x 4 grid (48 numbers per frame); SIGKILLs its process on an all-magenta frame."""

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        if torch.jit.is_tracing() or torch.onnx.is_in_onnx_export():
            raise RuntimeError("not exportable: it looks at each frame in Python")  # so it runs on PyTorch
        mean = pixels.mean(dim=(2, 3))  # (N, 3) normalised: magenta is (2, -2, 2)
        if bool(((mean[:, 0] > 1.5) & (mean[:, 1] < -1.5) & (mean[:, 2] > 1.5)).any()):
            os.kill(os.getpid(), signal.SIGKILL)
        return torch.nn.functional.adaptive_avg_pool2d(pixels, 4).flatten(1)


def build_trunk(state_dict: dict | None = None) -> torch.nn.Module:
    return CrashOnMagenta().eval()


register_frame_extractor(FrameExtractorSpec(name=NAME, dim=DIM, build_trunk=build_trunk, image_size=32, mean=MEAN,
                                            std=STD, about="test-only: kills its process on a magenta frame"))


def magenta_gif(path: str | os.PathLike, frames: int = 3) -> None:
    """Write an animated GIF whose frames are all magenta (the one this CNN crashes on)."""
    from PIL import Image
    images = [Image.fromarray(np.full((40, 40, 3), (255, 0, 255), np.uint8)) for _ in range(frames)]
    images[0].save(path, save_all=True, append_images=images[1:], duration=100, loop=0)
