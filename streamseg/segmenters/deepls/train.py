"""Training DeepLS without labels: a :class:`Trainer` that takes gradient steps on batches.

The same :class:`Trainer` serves both modes: :func:`train_frames` runs it for a
fixed number of steps on frames sampled across a whole clip (the "two-pass" mode
of the paper: train, then segment every frame), and the online segmenter runs it
on snapshots of a sliding window. A step whose loss is NaN/Inf, or explodes
beyond ``explode`` times the running loss, is rolled back to the last good
weights and optimiser state, and counted.

Example:
    >>> import numpy as np
    >>> from streamseg.segmenters.deepls.config import ModelConfig, TrainConfig
    >>> from streamseg.segmenters.deepls.train import Trainer
    >>> trainer = Trainer(ModelConfig(width=4), TrainConfig(), seed=0)
    >>> batch = np.random.default_rng(0).random((4, 16, 16), dtype=np.float32)
    >>> first = trainer.step(batch)
    >>> last = [trainer.step(batch) for _ in range(30)][-1]
    >>> last < first
    True
"""

from __future__ import annotations

import copy
import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from streamseg.segmenters.deepls.config import ModelConfig, TrainConfig

if TYPE_CHECKING:
    from streamseg.sources.base import FrameSource

__all__ = ["Trainer", "TrainReport", "train_frames", "sample_indices", "rpca_gap", "collect_clip"]

log = logging.getLogger(__name__)


NEW_LEVEL_AFTER = 3
"""Exploding steps in a row after which the loss level is taken as the scene's new one."""


def sample_indices(total: int, n: int) -> np.ndarray:
    """``min(n, total)`` indices spread evenly over ``range(total)``, first and last included."""
    if total <= n:
        return np.arange(total)
    return np.unique(np.round(np.linspace(0, total - 1, n)).astype(int))


def _to_tensor(frames: np.ndarray) -> Any:
    """``(N, h, w)`` or ``(N, h, w, 3)`` float32 → torch ``(N, C, h, w)``."""
    import torch

    t = torch.from_numpy(np.ascontiguousarray(frames, dtype=np.float32))
    return t[:, None] if t.ndim == 3 else t.permute(0, 3, 1, 2).contiguous()


class Trainer:
    """Owns a DeepLS model and its optimiser; one gradient step per :meth:`step`.

    One thread trains (the online trainer's, or the caller's); :meth:`eval_model`
    may be called from any thread: a lock keeps it from copying weights that a step
    is halfway through changing (a checkpoint saved mid-run).

    Args:
        model_config: the architecture (a ``ModelConfig``).
        config: training settings.
        state: weights to start from (a state dict), e.g. the shipped starting model.
        optimizer_state: Adam's state to go on from (a resumed checkpoint); the learning
            rate stays the one of ``config``.
        steps: steps already taken (a resumed checkpoint's count).
        seed: seed of the initial weights and of the sampling (batches, pasted objects).
    """

    def __init__(
        self,
        model_config: ModelConfig,
        config: TrainConfig | None = None,
        state: dict[str, Any] | None = None,
        optimizer_state: dict[str, Any] | None = None,
        steps: int = 0,
        *,
        seed: int = 0,
    ) -> None:
        import torch

        from streamseg.segmenters.deepls.model import build_model

        self.model_config = model_config
        self.config = config or TrainConfig()
        torch.manual_seed(seed)
        self.rng = np.random.default_rng(seed)
        self.model = build_model(model_config)
        if state is not None:
            self.model.load_state_dict(state)
        self.model.train()
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=self.config.lr)
        if optimizer_state is not None:
            self.optimizer.load_state_dict(optimizer_state)
            self.set_lr(self.config.lr)
        self.steps = steps
        self.rollbacks = 0
        self.last_loss = float("nan")
        self._mean_loss: float | None = None
        self._exploded = 0
        self._lock = threading.Lock()
        self._good = self._snapshot()

    def _snapshot(self) -> tuple[dict[str, Any], dict[str, Any]]:
        return (copy.deepcopy(self.model.state_dict()), copy.deepcopy(self.optimizer.state_dict()))

    def _rollback(self, reason: str, exploded: bool = False) -> None:
        if not exploded:
            self._exploded = 0  # explosions count as a new level only in a row
        self.model.load_state_dict(self._good[0])
        self.optimizer.load_state_dict(self._good[1])
        self.rollbacks += 1
        log.warning(
            "deepls: training step %d rolled back to the last good weights (%s); %d so far",
            self.steps,
            reason,
            self.rollbacks,
        )

    def set_lr(self, lr: float) -> None:
        for group in self.optimizer.param_groups:
            group["lr"] = lr

    def forward(self, batch: Any) -> Any:
        """``S`` of a ``(N, C, h, w)`` tensor batch (SLNet: of stacks, see :meth:`stack_batch`)."""
        return self.model(batch)

    def inputs(self, d: Any, context: np.ndarray | None) -> Any:
        """The network input for frames ``d`` ``(N, C, h, w)``: the frames, then the context."""
        import torch

        if self.model_config.context_channels == 0:
            return d
        if context is None:
            raise ValueError("this model needs the window context as input")
        ctx = torch.from_numpy(np.ascontiguousarray(context, np.float32))[None]
        return torch.cat([d, ctx.expand(d.shape[0], -1, -1, -1)], dim=1)

    def step(
        self,
        frames: np.ndarray,
        context: np.ndarray | None = None,
        penalty: Callable[[Any], Any] | None = None,
    ) -> float:
        """One gradient step on ``frames`` (``(N, h, w[, 3])`` float32 in [0, 1]).

        ``context``: the window context ``(k·C, h, w)`` for models that see one
        (:mod:`~streamseg.segmenters.deepls.context`), the same for every frame;
        computed from ``frames`` when not given.

        ``penalty``: a term added to the U-Net's loss, a function of the batch's sparse
        part ``S`` (a tensor ``(N, C, h, w)``), e.g. the augmented Lagrangian of an
        ADMM split (:mod:`~streamseg.segmenters.deepls.admm`).

        A bad step changes nothing and is counted in :attr:`rollbacks`: a batch with
        NaN/Inf is refused; a non-finite or exploding loss restores the weights from
        before the previous update (which produced them); non-finite gradients or
        weights undo this update.

        A loss that stays above ``explode`` × the running mean for
        :data:`NEW_LEVEL_AFTER` steps in a row, although every one of them ran on the
        restored good weights, comes from the frames, not the weights (a stream that
        starts on black, a lens cap removed, a scene cut): it is accepted as the
        scene's new level instead of blocking training for good.

        Returns:
            The loss before the step, or NaN if the step was refused or rolled back.
        """
        with self._lock:
            return self._step(frames, context, penalty)

    def _step(
        self,
        frames: np.ndarray,
        context: np.ndarray | None,
        penalty: Callable[[Any], Any] | None = None,
    ) -> float:
        import torch

        from streamseg.segmenters.deepls.loss import lowrank_sparse_loss

        if not np.isfinite(frames).all():
            self._reject("the batch holds NaN or Inf")
            return float("nan")
        if context is None and self.model_config.context_channels:
            from streamseg.segmenters.deepls.context import window_context

            context = window_context(frames, self.model_config.context)  # the batch is the window
        d = _to_tensor(frames)
        try:
            if self.model_config.family == "slnet":
                terms = self._slnet_loss(d)
            else:
                s = self.model(self.inputs(d, context))
                terms = lowrank_sparse_loss(d, s, self.config.lam_scale, self.config.tv)
        except torch.linalg.LinAlgError as err:  # eigvalsh on a degenerate Gram matrix
            self._rollback(f"linear algebra failed ({str(err).splitlines()[0][:80]})")
            return float("nan")
        loss = terms.loss
        if penalty is not None:
            if self.model_config.family == "slnet":
                raise ValueError("a penalty on S applies to the U-Net's loss only")
            loss = loss + penalty(s)
        value = float(loss.detach())
        if not math.isfinite(value):
            self._rollback("loss is not finite")
            return float("nan")
        if self._mean_loss is not None and value > self.config.explode * self._mean_loss:
            self._exploded += 1
            if self._exploded < NEW_LEVEL_AFTER:
                self._rollback(
                    f"loss {value:.3g} exploded (running mean {self._mean_loss:.3g})", True
                )
                return float("nan")
            log.info(
                "deepls: loss %.3g for %d steps on the last good weights: the scene changed, "
                "accepting it as the new level (running mean was %.3g)",
                value,
                self._exploded,
                self._mean_loss,
            )
            self._mean_loss = None
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if not all(
            p.grad is None or bool(torch.isfinite(p.grad).all()) for p in self.model.parameters()
        ):
            self._reject("gradient is not finite")
            return float("nan")
        self._good = self._snapshot()
        self.optimizer.step()
        if not all(bool(torch.isfinite(p).all()) for p in self.model.parameters()):
            self._rollback("weights became non-finite")
            return float("nan")
        self.steps += 1
        self._exploded = 0
        self.last_loss = value
        self._mean_loss = value if self._mean_loss is None else 0.9 * self._mean_loss + 0.1 * value
        return value

    def _reject(self, reason: str) -> None:
        self._exploded = 0
        self.rollbacks += 1
        log.warning(
            "deepls: training step %d skipped (%s); %d so far", self.steps, reason, self.rollbacks
        )

    def _slnet_loss(self, d: Any) -> Any:
        """SLNet's loss: overlapping stacks of ``stack`` batch frames through the net, then the
        low-rank + sparse loss of all their frames together."""
        import torch

        from streamseg.segmenters.deepls.loss import lowrank_sparse_loss

        t = self.model_config.stack
        n, c, h, w = d.shape
        if n < t:
            raise ValueError(f"SLNet needs batches of at least stack={t} frames, got {n}")
        x = torch.stack([d[i : i + t] for i in range(0, n - t + 1, max(1, t // 2))])
        x = x.reshape(-1, t * c, h, w)
        low = self.model(x)
        sparse = (x - low).reshape(-1, c, h, w)
        return lowrank_sparse_loss(
            x.reshape(-1, c, h, w), sparse, self.config.lam_scale, self.config.tv
        )

    def checkpoint_state(self) -> tuple[dict[str, Any], dict[str, Any], int]:
        """Copies of the weights and Adam's state, and the step count, taken together."""
        with self._lock:
            return (
                copy.deepcopy(self.model.state_dict()),
                copy.deepcopy(self.optimizer.state_dict()),
                self.steps,
            )

    def eval_model(self) -> Any:
        """A frozen copy of the model for inference (eval mode, no gradients)."""
        with self._lock:
            frozen = copy.deepcopy(self.model).eval()
        for p in frozen.parameters():
            p.requires_grad_(False)
        return frozen

    def recalibrate(self, frames: np.ndarray, context: np.ndarray | None = None) -> None:
        """Set BatchNorm statistics to the exact statistics of ``frames`` (no-op otherwise).

        BatchNorm trained on batches but used on single frames needs running
        statistics that match the final weights; one pass over the training pool
        with cumulative averaging gives them.
        """
        import torch

        norms = [m for m in self.model.modules() if isinstance(m, torch.nn.BatchNorm2d)]
        if not norms:
            return
        for m in norms:
            m.reset_running_stats()
            m.momentum = None
        with torch.no_grad():
            self.model(self.inputs(_to_tensor(frames), context))


@dataclass
class TrainReport:
    """What two-pass training did."""

    seconds: float
    steps: int
    history: list[tuple[int, float]] = field(default_factory=list)
    rollbacks: int = 0
    objective_net: float | None = None
    objective_rpca: float | None = None
    #: The window context the model was trained with (the clip's median and MAD), if any.
    context: np.ndarray | None = None

    @property
    def rpca_ratio(self) -> float | None:
        """The net's RPCA objective over the convex optimum on the same frames (1.0 is optimal)."""
        if self.objective_net is None or not self.objective_rpca:
            return None
        return self.objective_net / self.objective_rpca


def train_frames(
    frames: np.ndarray,
    model_config: ModelConfig,
    config: TrainConfig,
    *,
    seed: int = 0,
    threads: int = 0,
    on_step: Callable[[int, float], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> tuple[Trainer, TrainReport]:
    """Two-pass training on a clip already at processing size.

    Args:
        frames: ``(T, h, w[, 3])`` float32 in [0, 1], the clip (or frames sampled from it).
        model_config: the architecture.
        config: training settings; ``pool`` frames are sampled evenly across ``frames``.
        seed: seed of the initial weights and of the sampling.
        threads: torch threads while training (0: torch's default).
        on_step: called with ``(step, loss)`` after every step (progress bars).
        should_stop: polled between steps; training ends early when it returns True.

    Returns:
        The trainer (its model is trained) and a report.
    """
    import torch

    previous_threads = torch.get_num_threads()
    if threads:
        torch.set_num_threads(threads)
    try:
        from streamseg.segmenters.deepls.context import window_context

        pool = frames[sample_indices(len(frames), max(config.pool, config.frames))]
        trainer = Trainer(model_config, config, seed=seed)
        context = window_context(pool, model_config.context)
        history: list[tuple[int, float]] = []
        t0 = time.perf_counter()
        for step in range(config.steps):
            if should_stop is not None and should_stop():
                break
            if config.schedule == "cosine":
                f = 0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * step / max(1, config.steps)))
                trainer.set_lr(config.lr * f)
            if len(pool) > config.frames:
                batch = pool[np.sort(trainer.rng.choice(len(pool), config.frames, replace=False))]
            else:
                batch = pool
            loss = trainer.step(batch, context)
            if step % 10 == 0 or step == config.steps - 1:
                history.append((step, loss))
            if on_step is not None:
                on_step(step, loss)
        trainer.recalibrate(pool, context)
        report = TrainReport(
            time.perf_counter() - t0,
            trainer.steps,
            history,
            trainer.rollbacks,
            context=context if context.size else None,
        )
        return trainer, report
    finally:
        torch.set_num_threads(previous_threads)


def rpca_gap(
    trainer: Trainer, frames: np.ndarray, report: TrainReport, max_iter: int = 300
) -> None:
    """Fill ``report`` with the net's RPCA objective and the convex optimum on ``frames``.

    A quality signal that needs no ground truth: the seed notebook's net ended
    about 10 % above the optimum.
    """
    import torch

    from streamseg.segmenters.deepls.context import window_context
    from streamseg.segmenters.deepls.loss import lowrank_sparse_loss
    from streamseg.segmenters.rpca import pcp

    d = _to_tensor(frames)
    model = trainer.eval_model()
    context = window_context(frames, trainer.model_config.context)
    with torch.no_grad():
        terms = lowrank_sparse_loss(d, model(trainer.inputs(d, context)), trainer.config.lam_scale)
    matrix = d.reshape(len(d), -1).numpy().astype(np.float64)
    result = pcp(matrix, terms.lam, tol=1e-6, max_iter=max_iter)
    report.objective_net = terms.objective
    report.objective_rpca = result.objective


def collect_clip(
    source: FrameSource,
    n: int,
    area: int,
    colour: bool,
    on_frame: Callable[[int], None] | None = None,
    max_frames: int | None = None,
) -> tuple[np.ndarray, list[int]]:
    """Decode ``source`` and keep ``n`` frames spread over it, at processing size.

    With a known length the kept frames are chosen up front; otherwise every frame
    is kept at processing size and the set is thinned to every other frame
    whenever it grows past ``8·n``, so memory stays bounded on long streams.
    ``max_frames`` stops decoding after that many frames (a live stream never ends).

    Returns:
        ``(frames (n, h, w[, 3]) float32 in [0, 1], their source indices)``.
    """
    from streamseg.segmenters.preprocess import processing_size, to_processing

    source.open()
    info = source.info
    size = processing_size(info.height, info.width, area)
    length = info.frame_count
    if length and max_frames is not None:
        length = min(length, max_frames)
    wanted = set(sample_indices(length, n).tolist()) if length else None
    kept: list[np.ndarray] = []
    indices: list[int] = []
    for position, frame in enumerate(source):
        if max_frames is not None and position >= max_frames:
            break
        if on_frame is not None:
            on_frame(position)
        if wanted is not None and position not in wanted:
            continue
        kept.append(to_processing(frame.image, size, colour))
        indices.append(frame.index)
        if wanted is None and len(kept) > 8 * n:
            kept, indices = kept[::2], indices[::2]
    if not kept:
        from streamseg.errors import SourceError

        raise SourceError(f"{source!r}: no frame to train on")
    chosen = sample_indices(len(kept), n)
    return np.stack([kept[i] for i in chosen]), [indices[i] for i in chosen]
