"""BA2M against the paper: weights from the batch's SARs (Eq. 11: literal softmax summing
to 1, or the default of mean 1), output w_i · x_i (Eq. 13), Eq. 9 from the three
attentions, parameters by Eq. 16, off in eval."""

from __future__ import annotations

import copy

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


def test_literal_eq_11_weights_are_a_softmax_over_the_batch_summing_to_one():
    m = _ba2m(formulation="softmax").train()
    x = torch.randn(8, 16, 6, 6)
    w = m.weights(x)
    assert w.shape == (8,)
    assert torch.isclose(w.sum(), torch.tensor(1.0))
    assert bool(((w > 0) & (w < 1)).all())  # the paper's bound needs 0 < w < 1
    assert torch.allclose(w, m.scores(x).softmax(0))
    assert w.std() > 0  # the weights depend on the content


def test_default_weights_are_n_times_the_softmax_mean_one():
    assert _ba2m().formulation == "mean" and _ba2m().max_weight == 1.5
    m = _ba2m(max_weight=100.0).train()  # a loose bound: N·softmax itself
    x = torch.randn(6, 16, 4, 4)
    w = m.weights(x)
    assert torch.isclose(w.mean(), torch.tensor(1.0), atol=1e-5)
    expected = 6 * m.scores(x).softmax(0)
    assert float(expected.min()) > 0.01 and float(expected.max()) < 100  # within the bound
    assert torch.allclose(w, expected, atol=1e-5)


def test_default_caps_a_single_sample_taking_the_batch():
    m = BatchAttention(16, 4, max_weight=3.0).train()  # weights within [1/3, 3]
    x = torch.randn(8, 16, 4, 4) * 0.01
    x[0] = torch.randn(16, 4, 4) * 100  # one sample far from the rest: softmax ~ (1, 0, ...)
    w = m.weights(x).detach()
    assert 8 * m.scores(x).softmax(0).max() > 3.0  # uncapped, one weight would exceed 3
    assert float(w.max()) == pytest.approx(3.0)
    assert float(w.min()) >= 1 / 3 - 1e-6
    assert torch.isfinite(w).all()


def test_output_is_each_sample_times_its_weight():
    m = _ba2m().train()
    x = torch.randn(5, 16, 4, 4)
    w = copy.deepcopy(m).weights(x)  # a copy: weights() moves the running statistics
    assert torch.allclose(m(x), x * w[:, None, None, None], atol=1e-6)


def test_eval_is_identity_unless_in_eval():
    x = torch.randn(4, 16, 4, 4)
    m = _ba2m().eval()
    assert m(x) is x
    on = _ba2m(in_eval=True).eval()
    y = on(x)
    assert not torch.equal(y, x)
    ratio = (y / x).flatten(1)  # one weight per sample
    assert torch.allclose(ratio, ratio[:, :1].expand_as(ratio), atol=1e-5)


def test_eval_weights_do_not_depend_on_the_rest_of_the_test_batch():
    """Default: the running normaliser replaces the batch mean in eval, so the test batch
    size cannot change a prediction (BA2M Sec. III-D: the same error for batches 1-256)."""
    m = _ba2m(in_eval=True).train()
    for _ in range(20):  # learn the running normaliser
        m(torch.randn(16, 16, 4, 4))
    assert float(m.running_log_norm) != 0.0
    m.eval()
    x = torch.randn(8, 16, 4, 4)
    together = m(x)
    alone = torch.cat([m(x[i : i + 1]) for i in range(8)])
    assert torch.allclose(together, alone, atol=1e-6)
    literal = _ba2m(in_eval=True, formulation="softmax").eval()
    assert torch.equal(literal(x[:1]), x[:1])  # Eq. 11 over one test image: weight 1


def test_a_batch_of_one_is_unchanged():
    x = torch.randn(1, 16, 4, 4)
    assert torch.equal(_ba2m().train()(x), x)


def test_scores_follow_eq_9_with_the_full_non_local_map():
    m = BatchAttention(8, 2).train()  # r = 4, R = 2 groups
    x = torch.randn(3, 8, 5, 4)
    a_c = m.bn_c(m.fc1(m.fc0(x.mean(dim=(2, 3)))))
    a_ls = m.local(x)
    z = (x[:, :4] + x[:, 4:]) / 2  # the R = 2 channel groups averaged: C/R channels
    f, g, hh = (conv(z).flatten(2).transpose(1, 2) for conv in (m.f, m.g, m.h))  # (N, HW, r)
    a_gs = torch.softmax(f @ g.transpose(1, 2), dim=-1) @ hh  # Eq. 8, (N, HW, r)
    a_gs = a_gs.mean(dim=1).repeat(1, 2)  # GAP, tiled over the 2 groups -> (N, C)
    expected = torch.maximum(torch.maximum(a_c, a_ls.mean(dim=(2, 3))), a_gs).mean(1)
    assert torch.allclose(m.scores(x), expected, atol=1e-5)


@pytest.mark.parametrize(("channels", "reduction"), [(256, 32), (512, 32), (64, 4), (96, 8)])
def test_parameters_follow_eq_16(channels, reduction):
    """Eq. 16: A_C 2C²/R, A_LS C²(9 + 2R)/R², A_GS 3C²/R² weights; plus the two BNs (4C)."""
    m = BatchAttention(channels, reduction)
    c, r = channels, reduction
    eq16 = 2 * c * c / r + c * c * (9 + 2 * r) / r**2 + 3 * c * c / r**2
    assert sum(p.numel() for p in m.parameters()) == eq16 + 4 * c
    assert sum(p.numel() for p in (m.f.weight, m.g.weight, m.h.weight)) == 3 * c * c / r**2


def test_a_gs_with_a_reduction_that_does_not_divide_c():
    m = BatchAttention(10, 3).train()  # r = 3, 4 groups, the last zero-padded
    assert m.groups == 4
    assert m.scores(torch.randn(2, 10, 3, 3)).shape == (2,)


def test_reduction_sets_the_inner_width():
    m = BatchAttention(32, 8)
    assert m.fc0.out_features == 4 and m.f.out_channels == 4 and m.local[1].in_channels == 4
    assert m.f.in_channels == 4  # f, g, h work on the C/R-channel group mean (Eq. 16)
    assert BatchAttention(8, 32).fc0.out_features == 1  # at least one unit


def test_bad_reduction_is_refused():
    with pytest.raises(ValueError, match="^reduction: 0 "):
        BatchAttention(8, 0)
    with pytest.raises(ValueError, match="^batch_attention.formulation: "):
        BatchAttention(8, 2, formulation="sum")


def test_in_eval_sar_multiplies_by_the_raw_sar():
    """Sec. III-D's other reading: "the feature is refined by multiplying with the
    corresponding SAR", x̂_i = A(x_i) · x_i with no normalisation over the test batch."""
    m = _ba2m(in_eval="sar").train()
    for _ in range(3):
        m(torch.randn(8, 16, 4, 4))
    m.eval()
    x = torch.randn(5, 16, 4, 4)
    a = m.scores(x)
    assert torch.allclose(m(x), x * a[:, None, None, None], atol=1e-6)
    alone = torch.cat([m(x[i : i + 1]) for i in range(5)])
    assert torch.allclose(m(x), alone, atol=1e-6)  # one test image at a time gives the same
    train = m.train()(x)
    assert not torch.allclose(train, x * a[:, None, None, None])  # training keeps the softmax weights


@pytest.mark.parametrize("parts", [("channel",), ("local",), ("global",), ("channel", "local"),
                                   ("channel", "global"), ("local", "global")])
def test_parts_switch_the_attentions_of_eq_9_table_ix(parts):
    full = BatchAttention(8, 2).eval()
    m = BatchAttention(8, 2, parts=parts).eval()
    m.load_state_dict({k: v for k, v in full.state_dict().items() if k in m.state_dict()})
    x = torch.randn(3, 8, 5, 4)
    terms = {"channel": full.bn_c(full.fc1(full.fc0(x.mean(dim=(2, 3))))),
             "local": full.local(x).mean(dim=(2, 3)), "global": full._global(x)}
    expected = torch.stack([terms[p] for p in parts]).amax(0).mean(1)
    assert torch.allclose(m.scores(x), expected, atol=1e-6)
    c, r = 8, 2
    eq16 = {"channel": 2 * c * c // r + 2 * c, "local": c * c * (9 + 2 * r) // r**2 + 2 * c,
            "global": 3 * c * c // r**2}
    assert sum(p.numel() for p in m.parameters()) == sum(eq16[p] for p in parts)


def test_parts_and_in_eval_refuse_bad_values():
    from poolnas.errors import ConfigError

    with pytest.raises(ConfigError, match="batch_attention.parts"):
        BatchAttention(8, 2, parts=("ca",))
    with pytest.raises(ValueError, match="parts"):
        BatchAttention(8, 2, parts=())
