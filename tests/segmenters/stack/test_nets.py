"""SLNet and DeepLS on stacks: their units, and tiny trainings on simulated stacks."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from streamseg.errors import ConfigError  # noqa: E402
from streamseg.evaluation.stacks import rmse  # noqa: E402
from streamseg.segmenters.stack import create_stack_method  # noqa: E402
from streamseg.segmenters.stack._torch_slnet import (  # noqa: E402
    StormSLNet,
    lowrank_loss,
    paper_loss,
    stack_singular_values,
)
from streamseg.segmenters.stack.slnet import stack_indices  # noqa: E402
from streamseg.sources.simulated import SMLMConfig, simulate_smlm  # noqa: E402

TINY = {"steps": 40, "batch": 4, "crop": 24, "pool": 12, "threads": 1, "lr": 3e-3}


@pytest.fixture(scope="module")
def smlm():
    return simulate_smlm(SMLMConfig(frames=40, size=(32, 32), sites=150, sbr=2.0), seed=0)


def test_a_stack_takes_its_frames_at_the_shifts_mirrored_at_the_ends():
    assert stack_indices(5, (0, 3, 6), 20) == [5, 8, 11]
    assert stack_indices(18, (0, 3, 6), 20) == [18, 15, 12]
    assert stack_indices(1, (-2, 0, 2), 20) == [3, 1, 3]
    assert stack_indices(0, (0, 49, 99), 10) == [0, 9, 9]  # a stack shorter than the shifts


def test_slnet_parameters_are_checked():
    with pytest.raises(ConfigError, match="include 0"):
        create_stack_method("slnet", temporal_shifts=(1, 2))
    with pytest.raises(ConfigError, match="rank must be in 1..3"):
        create_stack_method("slnet", temporal_shifts=(0, 5, 9), rank=4)
    with pytest.raises(ConfigError, match="kernel"):
        create_stack_method("slnet", kernel=2)


def test_the_paper_net_mixes_each_pixels_frames_and_starts_positive():
    net = StormSLNet(frames=3, hidden=6, kernel=1)
    assert all((p >= 0).all() for p in net.parameters())
    x = torch.rand(2, 3, 10, 12)
    low = net(x)
    assert low.shape == x.shape and (low >= 0).all()
    moved = x.clone()
    moved[:, :, 0, 0] += 5  # a 1×1 net: another pixel's values change nothing here
    assert torch.equal(net(moved)[:, :, 5, 5], low[:, :, 5, 5])


def test_the_truncated_nuclear_norm_spares_the_backgrounds_components():
    base = (
        torch.rand(1, 1, 8, 8).expand(2, 4, 8, 8)
        * torch.tensor([1.0, 1.1, 0.9, 1.0])[:, None, None]
    )
    sv = stack_singular_values(base.contiguous())
    assert sv.shape == (2, 4) and float(sv[:, :3].max()) < 1e-4 * float(sv[:, 3].min())
    x = base.contiguous()
    # A rank-1 background explains the stack: only the (zero) tail is penalised.
    assert float(lowrank_loss(x, x, rank=1, lam=1.0)) < 1e-4
    noisy = x + 0.1 * torch.rand_like(x)
    assert float(lowrank_loss(noisy, noisy, rank=1, lam=1.0)) > 1e-3
    assert float(lowrank_loss(noisy, noisy, rank=4, lam=1.0)) < 1e-6


def test_both_losses_have_finite_gradients():
    net = StormSLNet(frames=3, hidden=6)
    x = torch.rand(2, 3, 16, 16)
    for loss in (lowrank_loss(x, net(x), 1, 1.0), paper_loss(x, net(x), 3, 0.01, 12.0)):
        net.zero_grad()
        loss.backward()
        assert all(torch.isfinite(p.grad).all() for p in net.parameters())


@pytest.mark.parametrize("params", [{}, {"loss": "paper", "rank": 3}])
def test_slnet_trains_on_the_stack_and_removes_its_background(smlm, params):
    method = create_stack_method("slnet", temporal_shifts=(0, 7, 14), **TINY, **params)
    steps = []
    method.fit(smlm.raw, on_step=lambda i, n, loss: steps.append((i, n)))
    assert steps[-1] == (39, 40) and len(method.losses) == 40
    parts = list(method.decompose(smlm.raw))
    assert [p.index for p in parts] == list(range(40))
    assert parts[0].background.dtype == np.float32 and parts[0].frame.shape == (32, 32)
    np.testing.assert_array_equal(parts[5].frame, smlm.raw[5])
    if not params:  # the default loss learns the background: closer to it than the frames
        background = np.stack([p.background for p in parts])
        assert rmse(background, smlm.background) < 0.8 * rmse(smlm.raw, smlm.background)
        assert np.mean(method.losses[-5:]) < np.mean(method.losses[:5])


def test_slnet_undoes_steps_that_overshoot(smlm):
    method = create_stack_method(
        "slnet", temporal_shifts=(0, 7, 14), **{**TINY, "lr": 20.0, "steps": 30}
    )
    method.fit(smlm.raw)
    assert method.rollbacks > 0
    assert len(method.losses) + method.rollbacks == 30
    background = next(method.decompose(smlm.raw)).background
    assert background.mean() > 0.5 * smlm.background[0].mean()  # its output ReLU lives


def test_slnet_stops_training_when_asked(smlm):
    method = create_stack_method("slnet", temporal_shifts=(0, 7), rank=1, **TINY)
    method.fit(smlm.raw, should_stop=lambda: len(method.losses) >= 3)
    assert len(method.losses) == 3


@pytest.mark.parametrize("tv_mode", ["none", "penalty", "admm"])
def test_deepls_trains_on_the_stack_with_each_tv(smlm, tv_mode):
    method = create_stack_method(
        "deepls",
        width=4,
        depth=1,
        context="none",
        steps=6,
        frames=4,
        pool=8,
        threads=1,
        tv_mode=tv_mode,
        inner=2,
    )
    method.fit(smlm.raw)
    assert method.report.steps == 6
    if tv_mode == "admm":
        assert len(method.report.primal) == 3
    parts = list(method.decompose(smlm.raw, start=30))
    assert [p.index for p in parts] == list(range(30, 40))
    assert np.isfinite(parts[0].background).all()
    # frame = background + S exactly, in the stack's units
    np.testing.assert_allclose(parts[0].frame, smlm.raw[30].astype(np.float32))
