import math

import pytest
import torch

from pvse.config import PVSEConfig
from pvse.losses import diversity_loss, mil_triplet_loss, mmd_rbf_loss, pvse_loss
from pvse.model import PVSE


def test_mil_triplet_loss_hand_computed():
    # rows: videos, columns: sentences; diagonal positives
    scores = torch.tensor([[0.9, 0.5, 0.1],
                           [0.2, 0.3, 0.35],
                           [0.0, 0.1, 0.8]])
    # video anchors (hardest negative sentence per row), margin 0.2:
    #   row0: max(0.2+0.5-0.9, 0.2+0.1-0.9, 0)=0 ; row1: 0.2+0.35-0.3=0.25 ; row2: 0.2+0.1-0.8<0 -> 0
    # sentence anchors (hardest negative video per column):
    #   col0: 0.2+0.2-0.9<0 ->0 ; col1: 0.2+0.5-0.3=0.4 ; col2: 0.2+0.35-0.8<0 -> 0
    assert math.isclose(float(mil_triplet_loss(scores, margin=0.2)), 0.65, rel_tol=1e-6)


def test_diversity_loss_hand_computed():
    # two heads at 60 degrees: G = [[1, .5], [.5, 1]] -> ||G - I||_F = sqrt(.5) ; / K^2 = 4
    r = torch.tensor([[[1.0, 0.0], [0.5, math.sqrt(3) / 2]]]) * 3.0  # scale must not matter
    assert math.isclose(float(diversity_loss(r)), math.sqrt(0.5) / 4, rel_tol=1e-6)
    orthogonal = torch.eye(3).unsqueeze(0)
    assert float(diversity_loss(orthogonal)) == 0.0
    assert float(diversity_loss(torch.rand(2, 1, 4))) == 0.0


def test_mmd_hand_computed():
    x = torch.tensor([[0.0, 0.0]])
    y = torch.tensor([[1.0, 0.0]])
    # k(x,x)=1, k(y,y)=1, k(x,y)=exp(-gamma*1): MMD = 2 - 2 exp(-gamma)
    assert math.isclose(float(mmd_rbf_loss(x, y, gamma=0.5)), 2 - 2 * math.exp(-0.5), rel_tol=1e-6)
    assert abs(float(mmd_rbf_loss(x, x))) < 1e-7


def test_total_loss_is_eq5_and_diversity_does_not_touch_the_grus():
    torch.manual_seed(0)
    model = PVSE(PVSEConfig(num_embeds=3, embed_dim=16, frame_dim=8, word_dim=6))
    video = model.encode_video(torch.randn(4, 5, 8))
    text = model.encode_text(torch.randn(4, 6, 6), torch.tensor([6, 5, 3, 1]))
    terms = pvse_loss(video, text, margin=0.1, lambda_div=0.1, lambda_mmd=0.01)
    torch.testing.assert_close(terms.total, terms.mil + 0.1 * terms.diversity + 0.01 * terms.mmd)
    model.zero_grad()
    terms.diversity.backward(retain_graph=True)
    for enc in (model.img_enc, model.txt_enc):
        assert all(p.grad is None or not p.grad.any() for p in enc.rnn.parameters())
        assert enc.pie_net.attention.w_1.weight.grad.abs().sum() > 0
        assert enc.pie_net.fc.weight.grad.abs().sum() > 0
        assert enc.pie_net.layer_norm.weight.grad is None or not enc.pie_net.layer_norm.weight.grad.any()
    model.zero_grad()
    terms.total.backward()
    assert model.img_enc.rnn.weight_ih_l0.grad.abs().sum() > 0


def test_training_step_reduces_loss():
    torch.manual_seed(0)
    model = PVSE(PVSEConfig(num_embeds=2, embed_dim=16, frame_dim=8, word_dim=6))
    frames, words = torch.randn(8, 4, 8), torch.randn(8, 5, 6)
    lengths = torch.full((8,), 5)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2, amsgrad=True)
    first = None
    for _ in range(30):
        loss = pvse_loss(model.encode_video(frames), model.encode_text(words, lengths)).total
        first = first if first is not None else float(loss.detach())
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert float(loss.detach()) < 0.5 * first


def test_attention_diversity_is_zero_for_disjoint_heads_and_largest_for_copies():
    from pvse.losses import attention_diversity_loss
    disjoint = torch.eye(4).unsqueeze(0)  # K = 4 heads, each on its own position
    same = torch.full((1, 4, 4), 0.25)
    assert attention_diversity_loss(disjoint).item() == pytest.approx(0.0)
    assert attention_diversity_loss(same).item() > attention_diversity_loss(disjoint + 0.01).item()


@pytest.mark.parametrize("on", ["residuals", "embeddings", "attention"])
def test_pvse_loss_diversity_targets(on):
    from pvse.losses import pvse_loss
    from pvse.pie_net import PIEOutput
    torch.manual_seed(0)

    def output():
        emb = torch.nn.functional.normalize(torch.randn(3, 2, 8), dim=-1).requires_grad_()
        att = torch.softmax(torch.randn(3, 2, 5), dim=-1).requires_grad_()
        return PIEOutput(emb, att, torch.rand(3, 2, 8).requires_grad_())

    video, text = output(), output()
    terms = pvse_loss(video, text, diversity_on=on)
    terms.diversity.backward()
    source = {"residuals": video.residuals, "embeddings": video.embeddings, "attention": video.attention}[on]
    assert source.grad is not None and source.grad.abs().sum() > 0
