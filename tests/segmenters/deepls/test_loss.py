from __future__ import annotations

import math

import pytest
import torch

from streamseg.segmenters.deepls.loss import lowrank_sparse_loss, nuclear_norm, tv_aniso


@pytest.mark.parametrize(("n", "p"), [(4, 30), (8, 200), (16, 64)])
def test_nuclear_norm_value_and_gradient_match_svd(n, p):
    torch.manual_seed(0)
    m = torch.randn(n, p, dtype=torch.float64, requires_grad=True)
    ours = nuclear_norm(m)
    ours.backward()
    grad = m.grad.clone()
    m.grad = None
    direct = torch.linalg.svdvals(m).sum()
    direct.backward()
    assert ours.item() == pytest.approx(direct.item(), rel=1e-10)
    assert torch.allclose(grad, m.grad, atol=1e-8)


def test_float32_gradient_close_to_svd():
    torch.manual_seed(1)
    m = torch.randn(16, 300, requires_grad=True)
    nuclear_norm(m).backward()
    grad = m.grad.clone()
    m.grad = None
    torch.linalg.svdvals(m).sum().backward()
    assert (grad - m.grad).abs().max() < 1e-4


def test_rank_deficient_batch_has_finite_gradients():
    low = (torch.randn(12, 2) @ torch.randn(2, 100)).requires_grad_()
    value = nuclear_norm(low)
    value.backward()
    assert torch.isfinite(low.grad).all()
    assert value.item() == pytest.approx(torch.linalg.svdvals(low.detach()).sum().item(), rel=1e-4)


def test_loss_is_rpca_objective_normalised():
    torch.manual_seed(2)
    d = torch.rand(6, 1, 8, 10, dtype=torch.float64)
    s = torch.randn(6, 1, 8, 10, dtype=torch.float64) * 0.1
    terms = lowrank_sparse_loss(d, s, lam_scale=2.0)
    p = 80
    nuc = torch.linalg.svdvals((d - s).reshape(6, -1)).sum().item()
    lam = 2.0 / math.sqrt(p)
    assert terms.lam == pytest.approx(lam)
    assert terms.objective == pytest.approx(nuc + lam * s.abs().sum().item(), rel=1e-8)
    assert terms.loss.item() == pytest.approx(terms.objective / (6 * math.sqrt(p)), rel=1e-8)


def test_tv_term_and_colour():
    s = torch.zeros(1, 1, 4, 4)
    s[..., 1, :] = 1.0
    assert tv_aniso(s).item() == pytest.approx(2 / 3)
    d = torch.rand(3, 3, 4, 4)
    terms = lowrank_sparse_loss(d, torch.zeros(3, 3, 4, 4), tv=0.5)
    assert terms.l1 == 0 and torch.isfinite(terms.loss)
