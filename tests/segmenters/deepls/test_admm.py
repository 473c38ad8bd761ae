"""TV on DeepLS's sparse part as an ADMM split, and the trainer's penalty hook."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from streamseg.segmenters.deepls.admm import gradients, soft, train_admm  # noqa: E402
from streamseg.segmenters.deepls.config import ModelConfig, TrainConfig  # noqa: E402
from streamseg.segmenters.deepls.loss import tv_aniso  # noqa: E402
from streamseg.segmenters.deepls.train import Trainer  # noqa: E402

NET = ModelConfig(width=4, depth=1, context="none")


def frames(n: int = 8, size: int = 16) -> np.ndarray:
    rng = np.random.default_rng(0)
    d = np.full((n, size, size), 0.3, np.float32) + 0.02 * rng.standard_normal((n, size, size))
    for i in range(n):
        d[i, 4 + i % 6 : 8 + i % 6, 5:9] += 0.5  # a square that moves
    return d.astype(np.float32)


def test_soft_thresholding_is_the_l1_proximal_map_in_numpy_and_torch():
    x = np.array([-3.0, -0.2, 0.0, 0.7, 2.0])
    np.testing.assert_allclose(soft(x, 0.5), [-2.5, 0.0, 0.0, 0.2, 1.5])
    np.testing.assert_allclose(soft(torch.tensor(x), 0.5).numpy(), soft(x, 0.5))
    # argmin_z t|z| + (z - a)²/2, by brute force
    zs = np.linspace(-4, 4, 80001)
    for a in (-3.0, -0.2, 0.7, 2.0):
        best = zs[np.argmin(0.5 * np.abs(zs) + 0.5 * (zs - a) ** 2)]
        assert best == pytest.approx(float(soft(np.array([a]), 0.5)[0]), abs=1e-3)


def test_the_mean_absolute_gradients_are_the_anisotropic_tv():
    s = torch.rand(2, 1, 7, 9)
    dv, dh = gradients(s)
    assert dv.shape == (2, 1, 6, 9) and dh.shape == (2, 1, 7, 8)
    assert float(dv.abs().mean() + dh.abs().mean()) == pytest.approx(float(tv_aniso(s)))


def test_a_penalty_is_added_to_the_unet_loss():
    d = frames(4)
    a = Trainer(NET, TrainConfig(lr=1e-9), seed=0)
    b = Trainer(NET, TrainConfig(lr=1e-9), seed=0)
    plain = a.step(d)
    with_penalty = b.step(d, penalty=lambda s: 0.25 + 0 * s.sum())
    assert with_penalty == pytest.approx(plain + 0.25, rel=1e-5)
    slnet = Trainer(ModelConfig(family="slnet", width=4, stack=2), TrainConfig(), seed=0)
    with pytest.raises(ValueError, match="U-Net"):
        slnet.step(d, penalty=lambda s: 0)


def test_admm_converges_the_split_and_flattens_the_sparse_part():
    d = frames()
    config = TrainConfig(frames=4, steps=60, lr=3e-3)
    trainer, report = train_admm(d, NET, config, mu=0.5, rho=25.0, inner=5, seed=0, threads=1)
    assert report.steps == 60 and len(report.primal) == 12
    assert report.primal[-1] < report.primal[0]  # ∇S and its auxiliary variable agree
    plain, _ = train_admm(d, NET, config, mu=1e-9, rho=25.0, inner=5, seed=0, threads=1)
    with torch.no_grad():
        x = torch.from_numpy(d)[:, None]
        tv_admm = float(tv_aniso(trainer.eval_model()(x)))
        tv_plain = float(tv_aniso(plain.eval_model()(x)))
    assert tv_admm < tv_plain


def test_admm_refuses_a_penalty_as_well():
    with pytest.raises(ValueError, match="tv 0"):
        train_admm(frames(), NET, TrainConfig(tv=0.1), mu=0.5, rho=25.0)
