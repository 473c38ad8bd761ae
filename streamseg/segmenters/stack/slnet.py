"""SLNet for STORM/SMLM stacks: a tiny net learns each stack's low-rank part, unsupervised.

As in the STORM background-removal SLNet (Valera, Page Vizcaíno et al., after Page
Vizcaíno et al., ICCP 2021): the net sees ``nT`` frames taken ``temporal_shifts`` apart
(``0, 49, 99`` in the paper: frames far enough apart that a blinking emitter is on in
one of them only), outputs their low-rank part ``L`` (the background), and the
background-removed frame is ``S = ReLU(frame − L)``. It trains on the stack itself,
without labels, then runs frame by frame: frame ``t``'s background is the output for
the stack ``t + temporal_shifts`` (shifts that fall off the end are mirrored, ``t − s``).

The net is :class:`~._torch_slnet.StormSLNet`: two convolutions without bias,
``hidden`` channels between them, a ReLU at the output (and between them with
``hidden_relu``). The paper's configuration is ``temporal_shifts=0,49,99``, ``kernel=1``
(each pixel's frames mixed, nothing spatial), ``hidden=6``, no hidden ReLU. The default
here sees more: 11 frames 10 apart centred on the frame, 3×3 kernels and a hidden ReLU
(a blend of three frames leaves a background as noisy as a third of a frame, and a
linear blend cannot ignore a blink; see docs/microscopy.md for both measured). Two
losses:

* ``lowrank`` (the default): streamseg's low-rank + sparse loss on each stack, with the
  ``rank`` largest singular values left unpenalised (the background's own components) and
  ``lam`` weighting RPCA's L1 on ``S``;
* ``paper``: the loss of the paper's code (rank-``rank`` SVD of ``L`` with singular values
  soft-thresholded by ``mu``, compared with the input in L1, plus ``alpha`` times mean
  ``S``).

Training draws ``batch`` stacks per step from a pool of ``pool`` stacks spread over the
whole stack (read once; the rest of the stack is never in memory), each cropped to
``crop`` pixels at random, as the paper does. Intensities are scaled by the 99.9th
percentile of the pool, so the parameters do not depend on the camera's units.
"""

from __future__ import annotations

import copy
import logging
import time
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

__all__ = ["StackSLNet", "stack_indices"]

log = logging.getLogger(__name__)


def stack_indices(t: int, shifts: tuple[int, ...], total: int) -> list[int]:
    """The frames of frame ``t``'s stack: ``t + s`` for each shift, mirrored into the stack.

    A shift past an end of the stack is mirrored (``t − s``); past both, clamped.

    Example:
        >>> stack_indices(0, (0, 49, 99), 300), stack_indices(250, (0, 49, 99), 300)
        ([0, 49, 99], [250, 299, 151])
    """
    out = []
    for s in shifts:
        i = t + s
        if not 0 <= i < total and 0 <= t - s < total:
            i = t - s
        out.append(min(max(i, 0), total - 1))  # a stack shorter than the shifts: its ends
    return out


@dataclass(frozen=True)
class Scaling:
    """Intensities ``x`` ↔ the net's ``x / scale``."""

    scale: float

    @classmethod
    def of(cls, sample: np.ndarray) -> Scaling:
        return cls(max(float(np.percentile(sample, 99.9)), 1e-6))


class StackSLNet(StackMethod):
    """SLNet (STORM): a tiny net trained on the stack gives the low-rank background of
    frames taken temporal_shifts apart."""

    name = "slnet"
    learns = True

    @dataclass(frozen=True)
    class Config:
        """Parameters of SLNet on stacks.

        Attributes:
            temporal_shifts: frame offsets of a stack's ``nT`` frames; 0 must be one (the
                frame whose background is given).
            kernel: the convolutions' size (1: the paper's per-pixel mixing).
            hidden: channels between the two convolutions (0: ``2·nT``, the paper's).
            hidden_relu: a ReLU between the two convolutions too.
            loss: ``lowrank`` (streamseg's) or ``paper`` (the paper code's).
            rank: singular values of each stack left to the background.
            lam: weight of the sparse part's L1 (``lowrank`` loss).
            alpha: weight of the sparse part's mean (``paper`` loss; the paper's 12).
            mu: soft threshold of ``L``'s singular values (``paper`` loss; the paper's 0.01).
            steps: training steps (the update before a loss that jumps above ``explode``
                times the running mean, or an output ReLU that died, is undone).
            batch: stacks per step.
            crop: side of the random square crop a step trains on (the paper's 128).
            pool: stacks, spread over the whole stack, training draws from.
            lr: Adam's learning rate.
            init_gain: scale of the non-negative initial weights (the paper's 0.5).
            explode: the loss jump that undoes a step.
            seed: seed of the weights and the sampling.
            threads: torch threads (0: torch's default).
        """

        temporal_shifts: tuple[int, ...] = (-50, -40, -30, -20, -10, 0, 10, 20, 30, 40, 50)
        kernel: int = 3
        hidden: int = 0
        hidden_relu: bool = True
        loss: Literal["lowrank", "paper"] = "lowrank"
        rank: int = 1
        lam: float = 1.0
        alpha: float = 12.0
        mu: float = 0.01
        steps: int = 400
        batch: int = 8
        crop: int = 128
        pool: int = 100
        lr: float = 1e-3
        init_gain: float = 0.5
        explode: float = 5.0
        seed: int = 0
        threads: int = 0

        def __post_init__(self) -> None:
            shifts = self.temporal_shifts
            check(len(shifts) >= 2, "temporal_shifts needs at least 2 frames")
            check(0 in shifts, f"temporal_shifts must include 0, got {shifts}")
            check(len(set(shifts)) == len(shifts), "temporal_shifts must differ")
            check(self.kernel >= 1 and self.kernel % 2 == 1, "kernel must be odd")
            check(self.hidden >= 0, "hidden must be >= 0")
            check(1 <= self.rank <= len(shifts), f"rank must be in 1..{len(shifts)}")
            check(self.lam > 0 and self.alpha > 0 and self.mu >= 0, "lam, alpha > 0, mu >= 0")
            check(self.steps >= 0, "steps must be >= 0")
            check(self.batch >= 1 and self.crop >= 8 and self.pool >= 1, "batch, crop, pool")
            check(self.lr > 0 and self.init_gain > 0, "lr and init_gain must be > 0")
            check(self.threads >= 0, "threads must be >= 0")
            check(self.explode > 1, "explode must be > 1")

        @property
        def frames(self) -> int:
            """``nT``."""
            return len(self.temporal_shifts)

    def __init__(self, config: Any = None, **params: Any) -> None:
        super().__init__(config, **params)
        self.model: Any = None
        self.scaling: Scaling | None = None
        self.losses: list[float] = []
        self.rollbacks = 0
        self.seconds = 0.0

    def _net(self) -> Any:
        import torch

        from streamseg.segmenters.stack._torch_slnet import StormSLNet

        c = self.config
        torch.manual_seed(c.seed)
        return StormSLNet(c.frames, c.hidden or 2 * c.frames, c.kernel, c.hidden_relu, c.init_gain)

    def _pool(self, stack: StackLike) -> np.ndarray:
        """``(pool, nT, H, W)`` float32 stacks spread evenly over ``stack``."""
        from streamseg.segmenters.deepls.train import sample_indices

        total = len(stack)
        anchors = sample_indices(total, self.config.pool)
        return np.stack(
            [
                np.stack(
                    [
                        as_float(stack[i])
                        for i in stack_indices(int(t), self.config.temporal_shifts, total)
                    ]
                )
                for t in anchors
            ]
        )

    def fit(
        self,
        stack: StackLike,
        *,
        on_step: OnStep | None = None,
        should_stop: Callable[[], bool] | None = None,
    ) -> None:
        import torch

        from streamseg.segmenters.stack._torch_slnet import lowrank_loss, paper_loss

        c = self.config
        previous = torch.get_num_threads()
        if c.threads:
            torch.set_num_threads(c.threads)
        try:
            pool = self._pool(stack)
            self.scaling = Scaling.of(pool)
            pool /= self.scaling.scale
            self.model = self._net()
            optimizer = torch.optim.Adam(self.model.parameters(), lr=c.lr)
            rng = np.random.default_rng(c.seed)
            _, _, h, w = pool.shape
            ch, cw = min(c.crop, h), min(c.crop, w)
            t0 = time.perf_counter()
            mean: float | None = None
            good = (copy.deepcopy(self.model.state_dict()), copy.deepcopy(optimizer.state_dict()))
            for step in range(c.steps):
                if should_stop is not None and should_stop():
                    break
                pick = rng.choice(len(pool), min(c.batch, len(pool)), replace=False)
                y, x = rng.integers(0, h - ch + 1), rng.integers(0, w - cw + 1)
                batch = torch.from_numpy(
                    np.ascontiguousarray(pool[pick, :, y : y + ch, x : x + cw])
                )
                low = self.model(batch)
                if c.loss == "paper":
                    loss = paper_loss(batch, low, c.rank, c.mu, c.alpha)
                else:
                    loss = lowrank_loss(batch, low, c.rank, c.lam)
                value = float(loss.detach())
                dead = float(low.detach().max()) <= 0
                if dead or (mean is not None and not value <= c.explode * mean):
                    # The last update overshot (an output ReLU that died gives a flat, high
                    # loss for good): undo it and go on more gently.
                    self.model.load_state_dict(good[0])
                    optimizer.load_state_dict(good[1])
                    for group in optimizer.param_groups:
                        group["lr"] *= 0.5
                    self.rollbacks += 1
                    continue
                good = (
                    copy.deepcopy(self.model.state_dict()),
                    copy.deepcopy(optimizer.state_dict()),
                )
                mean = value if mean is None else 0.9 * mean + 0.1 * value
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                self.losses.append(value)
                if on_step is not None:
                    on_step(step, c.steps, value)
            self.seconds = time.perf_counter() - t0
            self.model.eval()
            log.info(
                "slnet: %d steps in %.1f s, loss %.4g, %d undone",
                len(self.losses),
                self.seconds,
                self.losses[-1] if self.losses else float("nan"),
                self.rollbacks,
            )
        finally:
            torch.set_num_threads(previous)

    def decompose(
        self, stack: StackLike, start: int = 0, chunk: int = 16
    ) -> Iterator[Decomposition]:
        import torch

        if self.model is None or self.scaling is None:
            self.fit(stack)
        assert self.model is not None and self.scaling is not None
        c = self.config
        total = len(stack)
        zero = c.temporal_shifts.index(0)
        scale = self.scaling.scale
        for first in range(start, total, chunk):
            ts = range(first, min(total, first + chunk))
            batch = np.stack(
                [
                    np.stack(
                        [as_float(stack[i]) for i in stack_indices(t, c.temporal_shifts, total)]
                    )
                    for t in ts
                ]
            )
            with torch.no_grad():
                low = self.model(torch.from_numpy(batch / scale)).numpy()
            for k, t in enumerate(ts):
                yield Decomposition(t, batch[k, zero], low[k, zero] * scale)
