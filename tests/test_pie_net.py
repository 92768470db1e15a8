import pytest
import torch

from pvse.config import PVSEConfig
from pvse.encoders import length_mask
from pvse.model import PVSE
from pvse.pie_net import PIENet


@pytest.mark.parametrize("k", [0, 1, 5])
def test_pie_net_shapes_norms_and_attention_rows(k):
    torch.manual_seed(0)
    net = PIENet(k, d_in=12, d_out=10)
    lengths = torch.tensor([5, 2, 1])
    out = net(torch.randn(3, 10), torch.randn(3, 5, 12), length_mask(lengths, 5))
    assert out.embeddings.shape == (3, max(k, 1), 10)
    torch.testing.assert_close(out.embeddings.norm(dim=-1), torch.ones(3, max(k, 1)))
    assert out.attention.shape == (3, k, 5)
    assert out.residuals.shape == (3, k, 10)
    if k:
        torch.testing.assert_close(out.attention.sum(-1), torch.ones(3, k))
        # padded positions get exactly zero attention
        assert torch.all(out.attention[1, :, 2:] == 0) and torch.all(out.attention[2, :, 1:] == 0)
        assert torch.all((out.residuals > 0) & (out.residuals < 1))  # sigmoid


def test_padding_does_not_change_the_embedding():
    torch.manual_seed(0)
    model = PVSE(PVSEConfig(num_embeds=3, embed_dim=16, frame_dim=8, word_dim=6)).eval()
    words = torch.randn(1, 4, 6)
    padded = torch.cat([words, torch.randn(1, 3, 6)], dim=1)
    a = model.encode_text(words, torch.tensor([4]))
    b = model.encode_text(padded, torch.tensor([4]))
    torch.testing.assert_close(a.embeddings, b.embeddings)
    torch.testing.assert_close(a.attention, b.attention[:, :, :4])


def test_global_feature_is_final_hidden_of_both_directions():
    torch.manual_seed(0)
    model = PVSE(PVSEConfig(num_embeds=0, embed_dim=8, frame_dim=4, word_dim=4)).eval()
    x = torch.randn(1, 5, 4)
    phi = model.img_enc.global_feature(x, torch.tensor([5]))
    outputs, _ = model.img_enc.rnn(x)
    torch.testing.assert_close(phi[0, :4], outputs[0, -1, :4])  # forward: after the last frame
    torch.testing.assert_close(phi[0, 4:], outputs[0, 0, 4:])  # backward: after the first frame
    model.img_enc.legacy_global = True
    legacy = model.img_enc.global_feature(x, torch.tensor([5]))
    torch.testing.assert_close(legacy, outputs[0, -1].unsqueeze(0))  # reference code: last output


def test_config_rejects_absurd_values():
    from pvse.errors import WeightsError
    with pytest.raises(WeightsError):
        PVSEConfig(num_embeds=-1)
    with pytest.raises(WeightsError):
        PVSEConfig(embed_dim=7)
    with pytest.raises(WeightsError, match="residual"):
        PVSEConfig(residual="relu")


def test_centred_residual_is_the_sigmoid_shifted_to_zero_and_separates_heads():
    """Same weights: centred = 2 sigmoid - 1. When the K heads attend to different words, sigmoid residuals are
    still nearly parallel (every dimension near 0.5), centred ones are not - what the diversity loss (eq. 4) sees."""
    torch.manual_seed(0)
    sigmoid = PIENet(4, d_in=12, d_out=64, d_hidden=6)
    with torch.no_grad():  # head k attends to word k
        sigmoid.attention.w_1.weight.zero_()
        sigmoid.attention.w_1.weight[:4, :4] = torch.eye(4)
        sigmoid.attention.w_2.weight.zero_()
        sigmoid.attention.w_2.weight[:, :4] = 20 * torch.eye(4)
    centred = PIENet(4, d_in=12, d_out=64, d_hidden=6, residual="centred")
    centred.load_state_dict(sigmoid.state_dict())
    words = torch.cat([3 * torch.eye(4), torch.randn(4, 8)], dim=1).unsqueeze(0)  # 4 distinct words
    args = (torch.randn(1, 64), words, length_mask(torch.tensor([4]), 4))
    a, b = sigmoid(*args), centred(*args)
    assert torch.all(a.attention.argmax(-1) == torch.arange(4))
    torch.testing.assert_close(b.residuals, 2 * a.residuals - 1)
    assert torch.all((b.residuals > -1) & (b.residuals < 1))

    def mean_head_cosine(r):
        unit = torch.nn.functional.normalize(r, dim=-1)
        gram = unit @ unit.transpose(1, 2)
        return gram[:, ~torch.eye(4, dtype=torch.bool)].mean()

    assert mean_head_cosine(a.residuals) > 0.85 and mean_head_cosine(b.residuals) < 0.5
    with pytest.raises(ValueError):
        PIENet(2, 4, 4, residual="tanh")


def test_config_round_trips_the_residual_and_old_configs_default_to_sigmoid():
    config = PVSEConfig(residual="centred")
    assert PVSEConfig.from_dict(config.to_dict()) == config
    old = config.to_dict()
    del old["residual"]
    assert PVSEConfig.from_dict(old).residual == "sigmoid"
    assert PVSE(PVSEConfig(residual="centred", word_dim=8, frame_dim=8, embed_dim=8)).txt_enc.pie_net.centred


def test_attend_mask_keeps_the_heads_off_masked_words_but_not_the_global_feature():
    torch.manual_seed(0)
    model = PVSE(PVSEConfig(num_embeds=3, embed_dim=16, frame_dim=8, word_dim=6)).eval()
    words, lengths = torch.randn(2, 5, 6), torch.tensor([5, 3])
    attend = torch.tensor([[False, True, False, True, True], [False, False, False, True, True]])
    out = model.encode_text(words, lengths, attend)
    assert torch.all(out.attention[0, :, [0, 2]] == 0)
    torch.testing.assert_close(out.attention.sum(-1), torch.ones(2, 3))
    # a row whose every valid word is masked attends to all of them, as without a mask
    torch.testing.assert_close(out.embeddings[1], model.encode_text(words, lengths).embeddings[1])
    # the global feature (GRU) still reads the masked words: changing one changes the embedding
    changed = words.clone()
    changed[0, 0] += 1.0
    assert not torch.allclose(model.encode_text(changed, lengths, attend).embeddings[0], out.embeddings[0])
