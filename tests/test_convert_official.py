"""Importing the official PVSE release: a random state dict with exactly the reference names and shapes is
converted, saved, loaded, and must embed like a from-scratch re-implementation of the reference forward pass."""
import argparse
import json
import os
import pickle
import sys
import types
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
import torchvision
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from pvse.checkpoints import load_checkpoint
from pvse.cli import main as cli_main
from pvse.convert_official import (
    convert_frame_cnn,
    convert_official_checkpoint,
    convert_official_state_dict,
    load_official_vocab,
)
from pvse.errors import WeightsError
from pvse.model import PVSE
from tests.helpers.files import save_gif

EMBED, WORD_DIM, CNN_DIM = 64, 300, 2048
WORDS = ["<pad>", "<start>", "<end>", "<unk>", "mrw", "my", "boss", "says", "no", "cat", "falls", "off", "table",
         "when", "i", "finally", "win", "lol", "café", "dance"]


@pytest.fixture(scope="module")
def resnet152():
    torch.manual_seed(1)
    net = torchvision.models.resnet152(weights=None)
    net.fc = nn.Sequential()  # what the reference EncoderVideo does: no classifier parameters
    return net.eval()


def official_encoder(prefix: str, d_in: int, k: int, gen: torch.Generator) -> dict[str, torch.Tensor]:
    """The reference encoder's parameters, named and shaped as in yalesong/pvse model.py."""
    h = EMBED // 2
    shapes = {}
    for suffix in ("", "_reverse"):
        shapes.update({f"rnn.weight_ih_l0{suffix}": (3 * h, d_in), f"rnn.weight_hh_l0{suffix}": (3 * h, h),
                       f"rnn.bias_ih_l0{suffix}": (3 * h,), f"rnn.bias_hh_l0{suffix}": (3 * h,)})
    shapes.update({"pie_net.attention.w_1.weight": (d_in // 2, d_in), "pie_net.attention.w_2.weight": (k, d_in // 2),
                   "pie_net.fc.weight": (EMBED, d_in), "pie_net.fc.bias": (EMBED,),
                   "pie_net.layer_norm.weight": (EMBED,), "pie_net.layer_norm.bias": (EMBED,)})
    out = {f"{prefix}.{name}": torch.randn(shape, generator=gen) * 0.1 for name, shape in shapes.items()}
    out[f"{prefix}.pie_net.layer_norm.weight"] += 1.0
    return out


def official_state(resnet, k=2, seed=0, cnn_layout="named"):
    gen = torch.Generator().manual_seed(seed)
    state = {**official_encoder("img_enc", CNN_DIM, k, gen), **official_encoder("txt_enc", WORD_DIM, k, gen)}
    state["txt_enc.embed.weight"] = torch.randn(len(WORDS), WORD_DIM, generator=gen)
    cnn = resnet if cnn_layout == "named" else nn.Sequential(*list(resnet.children())[:-1])
    state.update({f"img_enc.cnn.{name}": v for name, v in cnn.state_dict().items()})
    return state


def reference_pie(state, side, out, x, pad_mask, k):
    """PIENet + l2norm of the reference (attention softmax over the sequence, pads filled with -inf)."""
    p = lambda name: state[f"{side}.pie_net.{name}"]  # noqa: E731
    attn = F.linear(torch.tanh(F.linear(x, p("attention.w_1.weight"))), p("attention.w_2.weight"))
    if pad_mask is not None:
        attn = attn.masked_fill(pad_mask.repeat(k, 1, 1).permute(1, 2, 0), float("-inf"))
    attn = torch.softmax(attn, dim=1)
    residual = torch.bmm(attn.transpose(1, 2), x)
    if residual.shape[1] == 1:
        residual = residual.squeeze(1)
    residual = torch.sigmoid(F.linear(residual, p("fc.weight"), p("fc.bias")))
    if k > 1:
        out = out.unsqueeze(1).repeat(1, k, 1)
    out = F.layer_norm(out + residual, (EMBED,), p("layer_norm.weight"), p("layer_norm.bias"))
    out = out / out.pow(2).sum(dim=-1, keepdim=True).sqrt()
    return out if k > 1 else out.unsqueeze(1)


def reference_gru(state, side, d_in):
    gru = nn.GRU(d_in, EMBED // 2, bidirectional=True, batch_first=True)
    gru.load_state_dict({name[len(f"{side}.rnn."):]: v for name, v in state.items() if name.startswith(f"{side}.rnn.")})
    return gru


def reference_video(state, features, legacy, k):
    """EncoderVideo.forward after the CNN: all clips have the full number of frames (the loader pads by repeating)."""
    gru = reference_gru(state, "img_enc", CNN_DIM)
    if legacy:
        states, _ = gru(features)
        out = states[:, -1, :]
    else:
        _, states = gru(features)
        out = states.permute(1, 0, 2).contiguous().view(-1, EMBED)
    return reference_pie(state, "img_enc", out, features, None, k)


def reference_text(state, ids, lengths, legacy, k):
    """EncoderText.forward; batches are sorted by decreasing length, as the reference collate_fn does."""
    wemb = F.embedding(ids, state["txt_enc.embed.weight"])
    gru = reference_gru(state, "txt_enc", WORD_DIM)
    packed = pack_padded_sequence(wemb, lengths, batch_first=True)
    if legacy:
        rnn_out, _ = gru(packed)
        padded = pad_packed_sequence(rnn_out, batch_first=True)
        index = lengths.expand(EMBED, 1, -1).permute(2, 1, 0) - 1
        out = torch.gather(padded[0], 1, index).squeeze(1)
    else:
        _, rnn_out = gru(packed)
        out = rnn_out.permute(1, 0, 2).contiguous().view(-1, EMBED)
    pad_mask = torch.arange(wemb.shape[1]).unsqueeze(0) >= lengths.unsqueeze(1)
    return reference_pie(state, "txt_enc", out, wemb, pad_mask, k)


def random_inputs(seed=3):
    gen = torch.Generator().manual_seed(seed)
    frames = torch.randn(3, 5, CNN_DIM, generator=gen).abs()  # ResNet features are post-ReLU averages
    lengths = torch.tensor([7, 5, 2])
    ids = torch.zeros(3, 7, dtype=torch.long)
    for row, n in enumerate(lengths):
        ids[row, :n] = torch.randint(1, len(WORDS), (int(n),), generator=gen)
    return frames, ids, lengths


def assert_matches_reference(model: PVSE, state, legacy, k):
    frames, ids, lengths = random_inputs()
    with torch.no_grad():
        ours_v = model.encode_video(frames).embeddings
        ours_t = model.encode_text_ids(ids, lengths).embeddings
        ref_v = reference_video(state, frames, legacy, k)
        ref_t = reference_text(state, ids, lengths, legacy, k)
    assert ours_v.shape == ref_v.shape == (3, k, EMBED)
    assert ours_t.shape == ref_t.shape == (3, k, EMBED)
    torch.testing.assert_close(ours_v, ref_v, atol=2e-5, rtol=1e-4)
    torch.testing.assert_close(ours_t, ref_t, atol=2e-5, rtol=1e-4)


def model_from(config, our_state):
    model = PVSE(config).eval()
    model.load_state_dict(our_state)
    return model


def write_vocab_pickle(path, words, monkeypatch, module="vocab", protocol=pickle.HIGHEST_PROTOCOL):
    """Pickle the reference `Vocabulary` class (vocab.py) as the official prepare scripts did."""

    class Vocabulary:
        def __init__(self):
            self.idx, self.word2idx, self.idx2word = 0, {}, {}

        def add_word(self, word):
            if word not in self.word2idx:
                self.word2idx[word] = self.idx
                self.idx2word[self.idx] = word
                self.idx += 1

    Vocabulary.__module__, Vocabulary.__qualname__ = module, "Vocabulary"
    if module not in sys.modules:
        monkeypatch.setitem(sys.modules, module, types.ModuleType(module))
    monkeypatch.setattr(sys.modules[module], "Vocabulary", Vocabulary, raising=False)
    vocab = Vocabulary()
    for word in words:
        vocab.add_word(word)
    path.write_bytes(pickle.dumps(vocab, protocol=protocol))
    return path


def test_cli_convert_published_checkpoint_embeds_like_the_reference(resnet152, tmp_path, monkeypatch, capsys):
    """A bare state dict (like mrw_pvse.pth) + vocab pickle -> `pvse convert` -> load_checkpoint -> same embeddings."""
    state = official_state(resnet152, k=2)
    torch.save(state, tmp_path / "mrw_pvse.pth", _use_new_zipfile_serialization=False)  # 2019-era file format
    write_vocab_pickle(tmp_path / "mrw_vocab.pkl", WORDS, monkeypatch)
    out = tmp_path / "converted"
    assert cli_main(["convert", str(tmp_path / "mrw_pvse.pth"), "--vocab", str(tmp_path / "mrw_vocab.pkl"),
                     "--out", str(out), "--num-frames", "4"]) == 0
    assert "K=2" in capsys.readouterr().out
    ck = load_checkpoint(out, device="cpu")
    cfg = ck.config
    assert (cfg.num_embeds, cfg.embed_dim, cfg.frame_dim, cfg.word_dim, cfg.vocab_size, cfg.num_frames) == \
        (2, EMBED, CNN_DIM, WORD_DIM, len(WORDS), 4)
    assert cfg.legacy_global and cfg.frame_features == "resnet152" and cfg.word_features == "vocab-embedding"
    assert ck.vocab == WORDS
    assert_matches_reference(ck.model, state, legacy=True, k=2)
    # the carried CNN is torchvision ResNet-152 (no classifier) with the official weights, loadable strictly
    with torch.device("meta"):
        net = torchvision.models.resnet152(weights=None)
    net.fc = nn.Identity()
    net.load_state_dict(ck.frame_cnn_state, strict=True, assign=True)
    for name, value in resnet152.state_dict().items():
        assert torch.equal(ck.frame_cnn_state[name], value), name


def test_legacy_flag_selects_the_reference_global_feature(resnet152):
    state = official_state(resnet152, k=3, seed=5)
    config, ours, _, _ = convert_official_state_dict(state, WORDS, legacy=False)
    assert config.num_embeds == 3 and not config.legacy_global
    assert_matches_reference(model_from(config, ours), state, legacy=False, k=3)
    # the two readings of the GRU really differ, so the flag matters for the published weights
    with pytest.raises(AssertionError):
        assert_matches_reference(model_from(config, ours), state, legacy=True, k=3)


def test_single_embedding_model_k1(resnet152):
    state = official_state(resnet152, k=1, seed=7)
    config, ours, _, vocab = convert_official_state_dict(state, None)
    assert config.num_embeds == 1 and vocab is None
    assert_matches_reference(model_from(config, ours), state, legacy=True, k=1)


def test_sequential_cnn_layout_and_old_key_spellings(resnet152):
    """img_enc.cnn as nn.Sequential(*children) ('cnn.4.0.conv1.weight'), DataParallel 'module.' prefixes,
    the first release's 'our_model' for PIE-Net, and missing BatchNorm step counters all convert the same."""
    named = official_state(resnet152, seed=2)
    sequential = official_state(resnet152, seed=2, cnn_layout="sequential")
    assert "img_enc.cnn.4.0.conv1.weight" in sequential and "img_enc.cnn.layer1.0.conv1.weight" in named
    sequential = {("module." + k).replace("pie_net", "our_model"): v for k, v in sequential.items()
                  if not k.endswith("num_batches_tracked")}
    _, ours_a, cnn_a, _ = convert_official_state_dict(named, WORDS)
    _, ours_b, cnn_b, _ = convert_official_state_dict(sequential, WORDS)
    assert cnn_a.keys() == cnn_b.keys() and ours_a.keys() == ours_b.keys()
    assert all(torch.equal(cnn_a[k], cnn_b[k]) for k in cnn_a if not k.endswith("num_batches_tracked"))
    assert all(torch.equal(ours_a[k], ours_b[k]) for k in ours_a)
    assert cnn_b["bn1.num_batches_tracked"].dtype == torch.long


def test_training_snapshot_with_args_and_module_prefix(resnet152, tmp_path):
    """train.py's {'args', 'epoch', 'best_score', 'model'} snapshot: options are read as data (weights_only)."""
    state = official_state(resnet152, k=2, seed=4)
    args = argparse.Namespace(data_name="tgif", num_embeds=2, max_video_length=6, legacy=False, order=False)
    torch.save({"args": args, "epoch": 3, "best_score": 12.5,
                "model": {"module." + k: v for k, v in state.items()}}, tmp_path / "ckpt.pth.tar")
    (tmp_path / "vocab.json").write_text(json.dumps({w: i for i, w in enumerate(WORDS)}))
    out = convert_official_checkpoint(tmp_path / "ckpt.pth.tar", tmp_path / "vocab.json", tmp_path / "ck")
    ck = load_checkpoint(out, device="cpu")
    assert ck.config.num_frames == 6 and not ck.config.legacy_global and ck.vocab == WORDS
    assert_matches_reference(ck.model, state, legacy=False, k=2)
    args.order = True
    torch.save({"args": args, "model": state}, tmp_path / "order.pth")
    with pytest.raises(WeightsError, match="order"):
        convert_official_checkpoint(tmp_path / "order.pth", tmp_path / "vocab.json", tmp_path / "ck2")
    assert not (tmp_path / "ck2").exists()


def test_vocab_pickle_round_trip(tmp_path, monkeypatch):
    for module, protocol in (("vocab", pickle.HIGHEST_PROTOCOL), ("vocab", 0), ("__main__", 2)):
        path = write_vocab_pickle(tmp_path / f"{module}{protocol}.pkl", WORDS, monkeypatch, module, protocol)
        assert load_official_vocab(path) == WORDS
    (tmp_path / "list.json").write_text(json.dumps(WORDS, ensure_ascii=False))
    (tmp_path / "idx2word.json").write_text(json.dumps({"idx2word": {str(i): w for i, w in enumerate(WORDS)}}))
    assert load_official_vocab(tmp_path / "list.json") == WORDS == load_official_vocab(tmp_path / "idx2word.json")


class _Exploit:
    def __init__(self, target):
        self.target = target

    def __reduce__(self):
        return (os.mkdir, (self.target,))


def test_vocab_pickle_with_code_is_refused_without_running_it(tmp_path):
    target = tmp_path / "pwned"
    (tmp_path / "evil.pkl").write_bytes(pickle.dumps(_Exploit(str(target))))
    with pytest.raises(WeightsError, match="os.mkdir|posix.mkdir"):
        load_official_vocab(tmp_path / "evil.pkl")
    assert not target.exists()
    (tmp_path / "truncated.pkl").write_bytes(pickle.dumps(WORDS)[:20])
    with pytest.raises(WeightsError):
        load_official_vocab(tmp_path / "truncated.pkl")
    (tmp_path / "gaps.json").write_text(json.dumps({"<pad>": 0, "<unk>": 3}))
    with pytest.raises(WeightsError, match="without gaps"):
        load_official_vocab(tmp_path / "gaps.json")
    with pytest.raises(WeightsError, match="cannot read"):
        load_official_vocab(tmp_path / "absent.pkl")


def test_pth_with_code_or_garbage_is_a_weights_error(tmp_path):
    target = tmp_path / "pwned"
    torch.save({"model": {}, "evil": _Exploit(str(target))}, tmp_path / "evil.pth")
    (tmp_path / "vocab.json").write_text(json.dumps(WORDS))
    with pytest.raises(WeightsError, match="more than tensors"):
        convert_official_checkpoint(tmp_path / "evil.pth", tmp_path / "vocab.json", tmp_path / "ck")
    assert not target.exists()
    (tmp_path / "garbage.pth").write_bytes(b"\x00not a checkpoint" * 10)
    with pytest.raises(WeightsError, match="damaged"):
        convert_official_checkpoint(tmp_path / "garbage.pth", tmp_path / "vocab.json", tmp_path / "ck")
    with pytest.raises(WeightsError, match="not found"):
        convert_official_checkpoint(tmp_path / "nope.pth", tmp_path / "vocab.json", tmp_path / "ck")
    assert not (tmp_path / "ck").exists()
    (tmp_path / "photos").mkdir()
    (tmp_path / "photos" / "cat.jpg").write_bytes(b"precious")
    with pytest.raises(WeightsError, match="refusing to replace"):
        convert_official_checkpoint(tmp_path / "garbage.pth", tmp_path / "vocab.json", tmp_path / "photos")
    assert (tmp_path / "photos" / "cat.jpg").read_bytes() == b"precious"


def test_missing_wrong_or_foreign_keys_are_weights_errors(resnet152):
    good = official_state(resnet152, k=2)
    missing = {k: v for k, v in good.items() if k != "txt_enc.pie_net.fc.bias"}
    with pytest.raises(WeightsError, match=r"missing txt_enc\.pie_net\.fc\.bias"):
        convert_official_state_dict(missing, WORDS)
    no_pie = {k: v for k, v in good.items() if ".pie_net." not in k}
    with pytest.raises(WeightsError, match="without --img_attention"):
        convert_official_state_dict(no_pie, WORDS)
    with pytest.raises(WeightsError, match="unexpected: img_enc.extra.weight"):
        convert_official_state_dict({**good, "img_enc.extra.weight": torch.zeros(2)}, WORDS)
    heads = dict(good, **{"txt_enc.pie_net.attention.w_2.weight": torch.zeros(3, WORD_DIM // 2)})
    with pytest.raises(WeightsError, match="different numbers of heads"):
        convert_official_state_dict(heads, WORDS)
    shape = dict(good, **{"img_enc.pie_net.fc.bias": torch.zeros(EMBED + 2)})
    with pytest.raises(WeightsError, match=r"wrong shape: img_enc\.pie_net\.fc\.bias"):
        convert_official_state_dict(shape, WORDS)
    with pytest.raises(WeightsError, match="K=2"):
        convert_official_state_dict(good, WORDS, num_embeds=5)
    with pytest.raises(WeightsError, match="20 rows"):
        convert_official_state_dict(good, WORDS[:-1])
    with pytest.raises(WeightsError, match="special tokens"):
        convert_official_state_dict(good, [f"w{i}" for i in range(len(WORDS))])
    coco = {k: v for k, v in good.items() if not k.startswith("img_enc.rnn.")}
    coco["img_enc.fc.weight"] = torch.zeros(EMBED, CNN_DIM)
    with pytest.raises(WeightsError, match="image"):
        convert_official_state_dict(coco, WORDS)
    no_cnn = {k: v for k, v in good.items() if not k.startswith("img_enc.cnn.")}
    with pytest.raises(WeightsError, match=r"missing img_enc\.cnn\.\*"):
        convert_official_state_dict(no_cnn, WORDS)
    with pytest.raises(WeightsError, match="ResNet-152.*missing: layer3.35"):  # a ResNet-101 has 23 blocks in layer3
        convert_frame_cnn({k[len("img_enc.cnn."):]: v for k, v in good.items()
                           if k.startswith("img_enc.cnn.") and not k.startswith("img_enc.cnn.layer3.35.")})
    with pytest.raises(WeightsError, match="named tensors"):
        convert_official_state_dict({**good, "img_enc.note": "hello"}, WORDS)


def test_cli_convert_error_is_one_line_exit_2(tmp_path, capsys):
    (tmp_path / "vocab.json").write_text(json.dumps(WORDS))
    code = cli_main(["convert", str(tmp_path / "nope.pth"), "--vocab", str(tmp_path / "vocab.json"),
                     "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and err.startswith("pvse convert: error:") and "nope.pth not found" in err
    assert len(err.splitlines()) == 1


def test_resnet152_frame_extractor_accepts_the_converted_cnn(resnet152):
    """The carried CNN plugs into pvse.features' resnet152 extractor and computes the official CNN's features."""
    from pvse.features import frames as frames_mod
    _, _, cnn_state, _ = convert_official_state_dict(official_state(resnet152, cnn_layout="sequential"), WORDS)
    extractor = frames_mod.build_frame_extractor("resnet152", state_dict=cnn_state, device="cpu", backend="torch")
    assert extractor.dim == CNN_DIM
    frames = torch.randint(0, 256, (1, 48, 64, 3), generator=torch.Generator().manual_seed(0), dtype=torch.uint8)
    feats = extractor.extract(frames.numpy())
    with torch.no_grad():
        expected = resnet152(extractor.preprocess(frames.numpy())).numpy()
    assert feats.shape == (1, CNN_DIM)
    torch.testing.assert_close(torch.from_numpy(feats), torch.from_numpy(expected), atol=1e-4, rtol=1e-4)


def test_pipeline_encodes_sentences_with_the_official_vocabulary(resnet152):
    """Sentences go <start> + tokens + <end> through the official word ids, unknown words to <unk>."""
    from pvse.checkpoints import Checkpoint
    from pvse.pipeline import PVSEPipeline

    state = official_state(resnet152, k=2, seed=9)
    config, ours, cnn_state, vocab = convert_official_state_dict(state, WORDS)
    pipe = PVSEPipeline(Checkpoint(model_from(config, ours), config, "test", "fp", cnn_state, vocab), device="cpu")
    enc = pipe.encode_text(["MRW my boss says no", "cat falls off zebra"], skip_filler=False)  # as the release
    index = {w: i for i, w in enumerate(WORDS)}
    rows = [["<start>", "mrw", "my", "boss", "says", "no", "<end>"], ["<start>", "cat", "falls", "off", "<unk>", "<end>"]]
    ids = torch.zeros(2, 7, dtype=torch.long)
    for r, row in enumerate(rows):
        ids[r, : len(row)] = torch.tensor([index[w] for w in row])
    with torch.no_grad():
        expected = reference_text(state, ids, torch.tensor([7, 6]), legacy=True, k=2)
    torch.testing.assert_close(enc.embeddings, expected, atol=2e-5, rtol=1e-4)
    assert enc.known[1] == [True, True, True, True, False, True]


def write_gif(path, delays_cs, size=(120, 72)):
    """A GIF whose frames differ (a gradient and a square that moves, colours that shift), with these delays."""
    from PIL import Image
    yy, xx = np.mgrid[0:size[1], 0:size[0]]
    frames = []
    for i in range(len(delays_cs)):
        rgb = np.stack([(xx * 2 + 9 * i) % 256, (yy * 3 + 5 * i) % 256, (xx + yy + 17 * i) % 256], -1)
        left = (4 * i) % (size[0] - 20)
        rgb[20:40, left:left + 20] = (255 - 8 * i % 256, 40, 200)
        frames.append(Image.fromarray(rgb.astype(np.uint8)))
    return save_gif(path, frames, delays_cs)


def official_evaluation_pixels(gif_path, num_frames, margin, discard_normalize=True):
    """What the official evaluation fed the CNN for a GIF, re-implemented here from the description of the
    official data preparation and loader (independently of pvse's decoding, sampling and preprocessing):

    1. `ffmpeg -r 8`: the clip on an 8 fps timeline: the GIF frames that FFmpeg 5.1.9 wrote for these delays, as
       recorded in tests/media/data/ffmpeg_timelines.json (Pillow reads the frames and their delays).
    2. GulpIO: each frame's shorter side to 256 with cv2.resize (longer side truncated), cv2.imencode at OpenCV's
       default settings, decoded again with cv2.imdecode, BGR -> RGB.
    3. The loader: n = timeline length, frames [margin : n - margin : max(1, (n - 2 margin + 1) // T)], the first
       T, padded by repeating the last.
    4. torchvision Resize(256) + CenterCrop(224) on PIL images, ToTensor, then the official Normalize, which
       calls F.normalize per frame and drops the normalised copy it returns (torchvision >= 0.2.2).
    """
    import cv2
    from PIL import Image, ImageSequence
    from torchvision import transforms
    from torchvision.transforms import functional as TF

    with Image.open(gif_path) as im:
        frames, delays_cs = [], []
        for frame in ImageSequence.Iterator(im):
            frames.append(np.asarray(frame.convert("RGB")))
            delays_cs.append(frame.info.get("duration", 0) // 10)
    recorded = json.loads((Path(__file__).parent / "media" / "data" / "ffmpeg_timelines.json").read_text())
    timeline = [frames[i] for i in next(c["frames"] for c in recorded["clips"] if c["delays_cs"] == delays_cs)]
    stored = []
    for rgb in timeline:
        bgr = np.ascontiguousarray(rgb[..., ::-1])
        h, w = bgr.shape[:2]
        size = (int(256 * (w / float(h))), 256) if h < w else (256, int(256 * (h / float(w))))
        ok, jpeg = cv2.imencode(".jpg", cv2.resize(bgr, size))
        stored.append(cv2.cvtColor(cv2.imdecode(jpeg, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB))
    n = len(stored)
    start, end = margin, n - margin
    picked = stored[start:end:max(1, (end - start + 1) // num_frames)][:num_frames]
    to_tensor = transforms.Compose([transforms.Resize(256), transforms.CenterCrop(224), transforms.ToTensor()])
    video = torch.stack([to_tensor(Image.fromarray(f)) for f in picked])
    mean, std = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]
    for i in range(video.shape[0]):
        normalised = TF.normalize(video[i], mean, std)
        if not discard_normalize:
            video[i] = normalised
    return torch.cat([video, video[-1:].expand(num_frames - len(video), -1, -1, -1)])


@pytest.mark.parametrize(("name", "dataset", "num_frames", "margin"), [("tgif_pvse.pth", "tgif", 8, 6),
                                                                      ("mrw_pvse_k1.pth", "mrw", 4, 0)])
def test_converted_checkpoint_embeds_a_gif_as_the_official_evaluation(resnet152, tmp_path, monkeypatch, name, dataset,
                                                                      num_frames, margin):
    """End to end: `pvse convert` (dataset from the file name) -> `pvse index` on a GIF of uneven delays -> the
    CNN input equals, exactly, that of the re-implemented official pipeline, and the embeddings equal its
    embeddings (official frames, pixels and encoder on the converted weights) within 1e-5 (the same float32 CNN
    in PyTorch on both sides; ONNX Runtime is left out: it does not reproduce a random-weight ResNet-152). With
    ImageNet normalisation, as the old preprocessing did, they would differ by far more."""
    from PIL import Image, ImageSequence

    from pvse.build import build_index
    from pvse.features.frames import build_frame_extractor
    from pvse.index import read_index
    from pvse.media import decode_all_frames, decode_clip
    from pvse.pipeline import PVSEPipeline

    k = 2 if dataset == "tgif" else 1
    state = official_state(resnet152, k=k, seed=11)
    torch.save(state, tmp_path / name)
    write_vocab_pickle(tmp_path / "vocab.pkl", WORDS, monkeypatch)
    assert cli_main(["convert", str(tmp_path / name), "--vocab", str(tmp_path / "vocab.pkl"), "--out",
                     str(tmp_path / "ck")]) == 0
    config = json.loads((tmp_path / "ck" / "config.json").read_text())
    assert config["extra"]["official_dataset"] == dataset and config["num_frames"] == num_frames
    assert config["preprocessing"] == {"size": 224, "resize": 256, "mean": [0.485, 0.456, 0.406],
                                       "std": [0.229, 0.224, 0.225], "interpolation": "bilinear", "sampling": dataset,
                                       "timeline_fps": 8.0, "normalize": False, "prescale": 256, "jpeg_quality": 95}
    gallery = tmp_path / "gifs"
    gallery.mkdir()
    delays = [6, 4, 4, 10, 1, 7, 5, 5, 12, 3, 8, 4, 4, 6, 9, 5, 5, 5, 15, 4, 4, 6, 7, 5, 5, 10, 4, 8, 6, 5]  # 2.13 s
    gif = write_gif(gallery / "clip.gif", delays)
    with Image.open(gif) as im:  # the reference reads the GIF with Pillow: it must see the frames pvse decodes
        assert all(np.array_equal(np.asarray(f.convert("RGB")), ours)
                   for f, ours in zip(ImageSequence.Iterator(im), decode_all_frames(gif)))
    pipe = PVSEPipeline.from_pretrained(str(tmp_path / "ck"), device="cpu")
    frames = pipe.config.frame_preprocessing()
    pipe.frame_extractor = build_frame_extractor("resnet152", state_dict=pipe.checkpoint.frame_cnn_state,
                                                 backend="torch", preprocessing=frames)
    expected_pixels = official_evaluation_pixels(gif, num_frames, margin)
    clip = decode_clip(gif, num_frames=num_frames, sampling=frames.frame_sampling)
    torch.testing.assert_close(pipe.frame_extractor.preprocess(clip.frames), expected_pixels, atol=0, rtol=0)

    build_index(gallery, tmp_path / "idx", pipeline=pipe, progress=False, device="cpu")
    ours = torch.from_numpy(np.asarray(read_index(tmp_path / "idx").embeddings[0]))

    def reference(pixels):
        with torch.no_grad():
            return F.normalize(reference_video(state, resnet152(pixels)[None], legacy=True, k=k)[0], dim=-1)

    torch.testing.assert_close(ours, reference(expected_pixels), atol=1e-5, rtol=0)
    if dataset == "mrw":  # (once: a ResNet-152 pass is slow on CPU)
        normalised = official_evaluation_pixels(gif, num_frames, margin, discard_normalize=False)
        assert (ours - reference(normalised)).abs().max() > 1e-2


def test_convert_options_dataset_and_normalize_are_recorded(resnet152, tmp_path, monkeypatch, capsys):
    """--dataset other --normalize imagenet: the official transform on the file's own frames, normalised."""
    from pvse.build import build_index
    from pvse.convert_official import guess_dataset, official_preprocessing
    from pvse.features.cache import frame_features_key
    from pvse.features.frames import build_frame_extractor
    from pvse.index import read_index
    from pvse.pipeline import PVSEPipeline

    torch.save(official_state(resnet152, k=2, seed=3), tmp_path / "model.pth")
    write_vocab_pickle(tmp_path / "vocab.pkl", WORDS, monkeypatch)
    assert cli_main(["convert", str(tmp_path / "model.pth"), "--vocab", str(tmp_path / "vocab.pkl"), "--out",
                     str(tmp_path / "ck"), "--dataset", "other", "--normalize", "imagenet", "--num-frames", "4"]) == 0
    assert "dataset other" in capsys.readouterr().out
    config = json.loads((tmp_path / "ck" / "config.json").read_text())
    assert config["extra"]["official_dataset"] == "other"
    assert config["preprocessing"] == {"size": 224, "resize": 256, "mean": [0.485, 0.456, 0.406],
                                       "std": [0.229, 0.224, 0.225], "interpolation": "bilinear", "sampling": "mrw",
                                       "timeline_fps": None, "normalize": True, "prescale": None, "jpeg_quality": None}
    pipe = PVSEPipeline.from_pretrained(str(tmp_path / "ck"), device="cpu")
    assert pipe.config.frame_preprocessing() == official_preprocessing("other", normalize=True)
    pipe.frame_extractor = build_frame_extractor("resnet152", state_dict=pipe.checkpoint.frame_cnn_state,
                                                 backend="torch", preprocessing=pipe.config.frame_preprocessing())
    assert frame_features_key("resnet152", official_preprocessing("tgif")) != frame_features_key(
        "resnet152", official_preprocessing("mrw")) != "resnet152"  # features of differently prepared frames never mix
    assert guess_dataset("x/TGIF_pvse_k1.pth", {}) == ("tgif", "from the file name")
    assert guess_dataset("ckpt.pth.tar", {"data_name": "mrw"})[0] == "mrw"
    assert guess_dataset("model.pth", {"data_name": "coco"})[0] == "other"
    with pytest.raises(SystemExit):
        cli_main(["convert", str(tmp_path / "model.pth"), "--vocab", str(tmp_path / "vocab.pkl"), "--out",
                  str(tmp_path / "ck2"), "--dataset", "coco"])

    # frames: the MRW rule on the GIF's own 20 frames, i ((20 + 1) // 4), recorded in the index
    gallery = tmp_path / "gifs"
    gallery.mkdir()
    write_gif(gallery / "twenty.gif", [5] * 20, size=(40, 30))
    build_index(gallery, tmp_path / "other.index", pipeline=pipe, progress=False, device="cpu")
    assert read_index(tmp_path / "other.index").frame_indices[0].tolist() == [0, 5, 10, 15]


def test_our_own_configs_keep_their_preprocessing_byte_for_byte():
    """A config without the field (the bundled model's) writes none and keeps the extractor's own settings."""
    from pathlib import Path

    from pvse.config import PVSEConfig
    from pvse.features.cache import frame_features_key
    from pvse.media import sample_frame_indices

    text = (Path(__file__).resolve().parents[1] / "weights" / "default" / "config.json").read_text()
    config = PVSEConfig.from_dict(json.loads(text))
    assert "preprocessing" not in text and "preprocessing" not in config.to_json()  # what is written stays as it was
    frames = config.frame_preprocessing()
    assert (frames.size, frames.resize, frames.mean, frames.std) == (224, None, (0.5,) * 3, (0.5,) * 3)
    assert frames.sampling == "centres" and frames.decode_size == (224, 224)
    assert (frames.timeline_fps, frames.normalize, frames.prescale, frames.jpeg_quality) == (None, True, None, None)
    assert frame_features_key(config.frame_features, frames) == config.frame_features
    assert sample_frame_indices(20, 4) == [2, 7, 12, 17] and sample_frame_indices(20, 4, "starts") == [0, 5, 10, 15]
    with pytest.raises(WeightsError, match="sampling"):
        PVSEConfig.from_dict({**json.loads(text), "preprocessing": {"size": 224, "mean": [0.5] * 3, "std": [0.5] * 3,
                                                                    "sampling": "random"}})
    with pytest.raises(WeightsError, match="unknown fields \\['gamma'\\]"):
        PVSEConfig.from_dict({**json.loads(text), "preprocessing": {"size": 224, "mean": [0.5] * 3, "std": [0.5] * 3,
                                                                    "gamma": 2.2}})
