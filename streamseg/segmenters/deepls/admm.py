"""Anisotropic TV on DeepLS's sparse part as an ADMM split (as ADMM DIP-TV treats it).

The penalty form adds ``μ·TV(S)`` to the low-rank + sparse loss and lets Adam descend
through the absolute values (:func:`~streamseg.segmenters.deepls.loss.tv_aniso`). The
split form solves the same problem,

    min_θ  loss(S_θ) + μ·(mean|z_v| + mean|z_h|)   subject to   z = ∇S_θ,

by ADMM on the augmented Lagrangian (scaled dual ``u``, penalty ``ρ``), alternating

1. **network**: ``inner`` Adam steps on ``loss(S_θ) + ρ/2·mean((∇S_θ − z + u)²)``;
2. **proximal**: ``z = soft(∇S_θ + u, μ/ρ)``, the exact proximal map of the L1 norm
   (soft thresholding: the TV's non-smooth part never meets the gradient);
3. **dual**: ``u = u + ∇S_θ − z``.

``z`` and ``u`` are kept for every frame of the training pool (two gradient images per
frame); ``∇`` is the forward difference, vertical and horizontal, so ``mean|∇S|`` is
:func:`~streamseg.segmenters.deepls.loss.tv_aniso`. The primal residual
``mean|∇S − z|`` is reported: it goes to zero as the split converges.

Example:
    >>> import numpy as np
    >>> from streamseg.segmenters.deepls.admm import soft
    >>> soft(np.array([-2.0, -0.5, 0.2, 3.0]), 1.0).tolist()
    [-1.0, -0.0, 0.0, 2.0]
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from streamseg.segmenters.deepls.config import ModelConfig, TrainConfig
from streamseg.segmenters.deepls.train import Trainer, TrainReport

__all__ = ["AdmmReport", "gradients", "soft", "train_admm"]


def soft(x: Any, threshold: float) -> Any:
    """Soft thresholding ``sign(x)·max(|x| − threshold, 0)`` (numpy or torch)."""
    if isinstance(x, np.ndarray):
        return np.sign(x) * np.maximum(np.abs(x) - threshold, 0)
    import torch

    return torch.sign(x) * torch.clamp(x.abs() - threshold, min=0)


def gradients(s: Any) -> tuple[Any, Any]:
    """Forward differences of ``(N, C, H, W)``: vertical ``(…, H−1, W)``, horizontal
    ``(…, H, W−1)``."""
    return s[..., 1:, :] - s[..., :-1, :], s[..., :, 1:] - s[..., :, :-1]


@dataclass
class AdmmReport(TrainReport):
    """What ADMM training did: a :class:`TrainReport` and the split's residuals."""

    #: ``mean|∇S − z|`` after each dual update (the primal residual).
    primal: list[float] = field(default_factory=list)


def train_admm(
    frames: np.ndarray,
    model_config: ModelConfig,
    config: TrainConfig,
    *,
    mu: float,
    rho: float,
    inner: int = 10,
    seed: int = 0,
    threads: int = 0,
    on_step: Callable[[int, float], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> tuple[Trainer, AdmmReport]:
    """Train the U-Net on ``frames`` with the TV of ``S`` as an ADMM split.

    Args:
        frames: ``(N, h, w)`` float32 in [0, 1], the training pool (``z``, ``u`` per frame).
        model_config: the architecture (a U-Net; ``config.tv`` must be 0, the split
            replaces the penalty).
        config: training settings (``steps`` Adam steps in all, ``frames`` per batch).
        mu: the TV weight ``μ``.
        rho: the ADMM penalty ``ρ``; the soft threshold is ``μ/ρ``.
        inner: Adam steps between two proximal and dual updates.
        seed: seed of the weights and the batches.
        threads: torch threads (0: torch's default).
        on_step: called with ``(step, loss)`` after every Adam step.
        should_stop: polled between steps.

    Returns:
        The trainer (its model trained) and the report.
    """
    import torch

    from streamseg.segmenters.deepls.context import window_context
    from streamseg.segmenters.deepls.train import _to_tensor

    if model_config.family != "unet" or config.tv:
        raise ValueError("ADMM TV splits the U-Net's TV term: family unet, train.tv 0")
    previous = torch.get_num_threads()
    if threads:
        torch.set_num_threads(threads)
    try:
        trainer = Trainer(model_config, config, seed=seed)
        context = window_context(frames, model_config.context)
        d_all = _to_tensor(frames)
        n = len(frames)
        with torch.no_grad():
            gv, gh = gradients(d_all[:1])
        zv = torch.zeros((n, *gv.shape[1:]))
        zh = torch.zeros((n, *gh.shape[1:]))
        uv, uh = torch.zeros_like(zv), torch.zeros_like(zh)
        threshold = mu / rho
        report = AdmmReport(0.0, 0, context=context if context.size else None)
        t0 = time.perf_counter()
        for step in range(config.steps):
            if should_stop is not None and should_stop():
                break
            take = min(config.frames, n)
            idx = np.sort(trainer.rng.choice(n, take, replace=False))
            it = torch.from_numpy(idx)

            def augmented(s: Any, it: Any = it) -> Any:
                dv, dh = gradients(s)
                return (rho / 2) * (
                    ((dv - zv[it] + uv[it]) ** 2).mean() + ((dh - zh[it] + uh[it]) ** 2).mean()
                )

            loss = trainer.step(frames[idx], context, penalty=augmented)
            if step % 10 == 0 or step == config.steps - 1:
                report.history.append((step, loss))
            if on_step is not None:
                on_step(step, loss)
            if (step + 1) % inner == 0 or step == config.steps - 1:
                primal = _update(trainer, d_all, context, zv, zh, uv, uh, threshold, config.frames)
                report.primal.append(primal)
        trainer.recalibrate(frames, context)
        report.seconds = time.perf_counter() - t0
        report.steps = trainer.steps
        report.rollbacks = trainer.rollbacks
        return trainer, report
    finally:
        torch.set_num_threads(previous)


def _update(
    trainer: Trainer,
    d_all: Any,
    context: np.ndarray,
    zv: Any,
    zh: Any,
    uv: Any,
    uh: Any,
    threshold: float,
    chunk: int,
) -> float:
    """The proximal (z) and dual (u) updates over the whole pool, in place.

    Returns:
        The primal residual ``mean|∇S − z|`` after the update.
    """
    import torch

    residual, count = 0.0, 0
    with torch.no_grad():
        for lo in range(0, len(d_all), chunk):
            sl = slice(lo, lo + chunk)
            d = d_all[sl]
            dv, dh = gradients(trainer.model(trainer.inputs(d, context)))
            zv[sl] = soft(dv + uv[sl], threshold)
            zh[sl] = soft(dh + uh[sl], threshold)
            uv[sl] += dv - zv[sl]
            uh[sl] += dh - zh[sl]
            residual += float((dv - zv[sl]).abs().sum() + (dh - zh[sl]).abs().sum())
            count += dv.numel() + dh.numel()
    return residual / max(1, count) if math.isfinite(residual) else float("nan")
