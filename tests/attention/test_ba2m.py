"""BA2M against the paper: softmax weights over the batch (Eq. 11) that sum to 1,
output w_i · x_i (Eq. 13), Eq. 9 from the three attentions, off in eval."""

from __future__ import annotations

import pytest
import torch

from poolnas.attention import create_batch_attention
from poolnas.attention.ba2m import BatchAttention
from poolnas.config import AttentionConfig


def _ba2m(**kw):
    cfg = AttentionConfig(batch_attention={"enabled": True, "reduction": 4, **kw})
    return create_batch_attention(cfg, 16)


def test_disabled_gives_none():
    assert create_batch_attention(AttentionConfig(), 16) is None


def test_weights_are_a_softmax_over_the_batch_summing_to_one():
    m = _ba2m().train()
    x = torch.randn(8, 16, 6, 6)
    w = m.weights(x)
    assert w.shape == (8,)
    assert torch.isclose(w.sum(), torch.tensor(1.0))
    assert bool(((w > 0) & (w < 1)).all())  # the paper's bound needs 0 < w < 1
    assert torch.allclose(w, m.scores(x).softmax(0))
    assert w.std() > 0  # the weights depend on the content


def test_output_is_each_sample_times_its_weight():
    torch.manual_seed(1)
    m = _ba2m().train()
    x = torch.randn(5, 16, 4, 4)
    y = m(x)
    torch.manual_seed(1)
    w = m.weights(x)
    assert torch.allclose(y, x * w[:, None, None, None], atol=1e-7)


def test_scale_by_batch_gives_mean_weight_one():
    m = BatchAttention(16, 4, scale_by_batch=True).train()
    w = m.weights(torch.randn(6, 16, 4, 4))
    assert torch.isclose(w.sum(), torch.tensor(6.0))


def test_eval_is_identity_unless_in_eval():
    x = torch.randn(4, 16, 4, 4)
    m = _ba2m().eval()
    assert m(x) is x
    on = _ba2m(in_eval=True).eval()
    y = on(x)
    assert not torch.equal(y, x)
    ratio = (y / x).flatten(1)  # one weight per sample, summing to 1
    assert torch.allclose(ratio, ratio[:, :1].expand_as(ratio), atol=1e-5)
    assert torch.isclose(ratio[:, 0].sum(), torch.tensor(1.0), atol=1e-5)


def test_a_batch_of_one_is_unchanged():
    x = torch.randn(1, 16, 4, 4)
    assert torch.equal(_ba2m().train()(x), x)


def test_scores_follow_eq_9_with_the_full_non_local_map():
    m = BatchAttention(8, 2).train()
    x = torch.randn(3, 8, 5, 4)
    n, c, h, w = x.shape
    a_c = m.bn_c(m.fc1(m.fc0(x.mean(dim=(2, 3)))))
    a_ls = m.local(x)
    f, g, hh = (conv(x).flatten(2).transpose(1, 2) for conv in (m.f, m.g, m.h))  # (N, HW, r)
    a_gs = torch.softmax(f @ g.transpose(1, 2), dim=-1) @ hh  # Eq. 8, (N, HW, r)
    a_gs = (a_gs @ m.out.weight.T).transpose(1, 2).reshape(n, c, h, w)  # 1x1 conv r -> C
    expected = torch.maximum(torch.maximum(a_c, a_ls.mean(dim=(2, 3))), a_gs.mean(dim=(2, 3))).mean(
        1
    )
    assert torch.allclose(m.scores(x), expected, atol=1e-5)


def test_reduction_sets_the_inner_width():
    m = BatchAttention(32, 8)
    assert m.fc0.out_features == 4 and m.f.out_channels == 4 and m.local[1].in_channels == 4
    assert BatchAttention(8, 32).fc0.out_features == 1  # at least one unit


def test_bad_reduction_is_refused():
    with pytest.raises(ValueError, match="^reduction: 0 "):
        BatchAttention(8, 0)
