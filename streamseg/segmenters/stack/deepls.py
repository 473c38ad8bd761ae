"""DeepLS on stacks: the U-Net trained on the stack by the low-rank + sparse loss, with TV.

The DeepLS U-Net (:mod:`streamseg.segmenters.deepls`) is trained on ``pool`` frames
spread over the stack, the two-pass mode of the paper: a net that gives each frame's
sparse part ``S``, trained so that the frames minus ``S`` are low-rank and ``S`` is
sparse (:func:`~streamseg.segmenters.deepls.loss.lowrank_sparse_loss`); then every frame
goes through it, and its background is ``frame − S``.

On cells, the sparse part should be whole objects, not speckle: the anisotropic total
variation of ``S`` (the DeepLS authors' cell demo; ADMM DIP-TV) favours piecewise-flat
``S``. ``tv_mode`` chooses how:

* ``none``: no TV;
* ``penalty``: ``tv·TV(S)`` added to the loss (``TrainConfig.tv``);
* ``admm``: the same objective split by ADMM, with an auxiliary variable for ``∇S``, a
  proximal (soft-thresholding) step and a dual update (:mod:`~streamseg.segmenters.deepls.admm`).

Intensities are mapped to [0, 1] by the pool's 0.1th and 99.9th percentiles.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from streamseg.params import check
from streamseg.segmenters.stack.base import (
    Decomposition,
    OnStep,
    StackLike,
    StackMethod,
    as_float,
)

__all__ = ["StackDeepLS"]

log = logging.getLogger(__name__)


class StackDeepLS(StackMethod):
    """The DeepLS U-Net trained on the stack by the low-rank + sparse loss, with an optional
    anisotropic TV (penalty or ADMM)."""

    name = "deepls"
    learns = True

    @dataclass(frozen=True)
    class Config:
        """Parameters of DeepLS on stacks.

        Attributes:
            width: the U-Net's first-level channels.
            depth: the U-Net's poolings.
            context: what the net sees besides the frame (``none``, ``median``,
                ``median_mad``: the pool's per-pixel median and MAD).
            steps: Adam steps.
            frames: frames per batch (the rows of the nuclear norm).
            pool: frames spread over the stack that training draws batches from.
            lr: Adam's learning rate.
            lam_scale: multiplies RPCA's λ = 1/sqrt(P).
            tv_mode: ``none``, ``penalty`` or ``admm`` (see the module's description).
            tv: the TV weight μ (``penalty`` and ``admm``).
            rho: ADMM's penalty ρ (the soft threshold is ``tv/rho``).
            inner: Adam steps between ADMM's proximal and dual updates.
            seed: seed of the weights and the batches.
            threads: torch threads (0: torch's default).
        """

        width: int = 8
        depth: int = 2
        context: Literal["none", "median", "median_mad"] = "median_mad"
        steps: int = 300
        frames: int = 16
        pool: int = 200
        lr: float = 2e-3
        lam_scale: float = 1.0
        tv_mode: Literal["none", "penalty", "admm"] = "none"
        tv: float = 0.5
        rho: float = 25.0
        inner: int = 10
        seed: int = 0
        threads: int = 0

        def __post_init__(self) -> None:
            check(self.width >= 1 and 1 <= self.depth <= 5, "width >= 1, depth in 1..5")
            check(self.steps >= 0 and self.frames >= 2, "steps >= 0, frames >= 2")
            check(self.pool >= 2, "pool must be >= 2")
            check(self.lr > 0 and self.lam_scale > 0, "lr and lam_scale must be > 0")
            check(self.tv >= 0 and self.rho > 0, "tv >= 0, rho > 0")
            check(self.inner >= 1, "inner must be >= 1")
            check(self.threads >= 0, "threads must be >= 0")

    def __init__(self, config: Any = None, **params: Any) -> None:
        super().__init__(config, **params)
        self.trainer: Any = None
        self.report: Any = None
        self.offset = 0.0
        self.scale = 1.0

    def _configs(self) -> tuple[Any, Any]:
        from streamseg.segmenters.deepls.config import ModelConfig, TrainConfig

        c = self.config
        net = ModelConfig(width=c.width, depth=c.depth, context=c.context)
        train = TrainConfig(
            frames=c.frames,
            steps=c.steps,
            lr=c.lr,
            lam_scale=c.lam_scale,
            tv=c.tv if c.tv_mode == "penalty" else 0.0,
        )
        return net, train

    def fit(
        self,
        stack: StackLike,
        *,
        on_step: OnStep | None = None,
        should_stop: Callable[[], bool] | None = None,
    ) -> None:
        from streamseg.segmenters.deepls.train import sample_indices, train_frames

        c = self.config
        pool = np.stack([as_float(stack[int(i)]) for i in sample_indices(len(stack), c.pool)])
        self.offset = float(np.percentile(pool, 0.1))
        self.scale = max(float(np.percentile(pool, 99.9)) - self.offset, 1e-6)
        pool = (pool - self.offset) / self.scale
        net, train = self._configs()

        def step(i: int, loss: float) -> None:
            if on_step is not None:
                on_step(i, c.steps, loss)

        if c.tv_mode == "admm":
            from streamseg.segmenters.deepls.admm import train_admm

            self.trainer, self.report = train_admm(
                pool,
                net,
                train,
                mu=c.tv,
                rho=c.rho,
                inner=c.inner,
                seed=c.seed,
                threads=c.threads,
                on_step=step,
                should_stop=should_stop,
            )
        else:
            self.trainer, self.report = train_frames(
                pool,
                net,
                train,
                seed=c.seed,
                threads=c.threads,
                on_step=step,
                should_stop=should_stop,
            )
        log.info("deepls: %d steps in %.1f s", self.report.steps, self.report.seconds)

    def decompose(
        self, stack: StackLike, start: int = 0, chunk: int = 8
    ) -> Iterator[Decomposition]:
        import torch

        from streamseg.segmenters.deepls.train import _to_tensor

        if self.trainer is None:
            self.fit(stack)
        model = self.trainer.eval_model()
        context = self.report.context
        for first in range(start, len(stack), chunk):
            ts = range(first, min(len(stack), first + chunk))
            frames = np.stack([as_float(stack[t]) for t in ts])
            d = _to_tensor((frames - self.offset) / self.scale)
            with torch.no_grad():
                s = model(self.trainer.inputs(d, context))[:, 0].numpy()
            for k, t in enumerate(ts):
                yield Decomposition(t, frames[k], frames[k] - s[k] * self.scale)
