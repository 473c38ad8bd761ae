"""Two-pass DeepLS: train a model on a whole clip, then segment the clip with it frozen.

:func:`train_clip` is the first pass, as ``streamseg train`` and the tools run it:
decode the clip, keep frames spread over it at processing size, train the network
on batches sampled from them by the low-rank + sparse loss (no labels), and return
the trained model as a :class:`~streamseg.segmenters.deepls.checkpoint.Checkpoint`
(with the clip's median/MAD when the network sees a window context, so the second
pass segments against the same). :func:`model_checkpoint` is that checkpoint for
any trained :class:`~streamseg.segmenters.deepls.train.Trainer`.

Example:
    >>> from streamseg.registry import method_config
    >>> from streamseg.segmenters.deepls.twopass import train_clip
    >>> config = method_config("deepls", {"net": {"width": 4}, "train": {"steps": 2}})
    >>> trained = train_clip("synthetic:frames=20,size=64x48", config, rpca=False)
    >>> trained.checkpoint.size, trained.report.steps
    ((48, 64), 2)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from streamseg.errors import ConfigError
from streamseg.segmenters.deepls.checkpoint import Checkpoint

if TYPE_CHECKING:
    from streamseg.segmenters.deepls.segmenter import DeepLS
    from streamseg.segmenters.deepls.train import Trainer, TrainReport
    from streamseg.sources.base import FrameSource

__all__ = ["TrainedClip", "check_clip_training", "model_checkpoint", "train_clip"]


@dataclass(frozen=True)
class TrainedClip:
    """What :func:`train_clip` made.

    Attributes:
        checkpoint: the trained model (write it with ``save_checkpoint``).
        report: the training's steps, time, loss history and RPCA objectives.
        frames: frames trained on (sampled across the clip).
        size: processing size ``(h, w)``.
        loss: the last step's loss.
        stopped: ``should_stop`` ended the training before its last step.
    """

    checkpoint: Checkpoint
    report: TrainReport
    frames: int
    size: tuple[int, int]
    loss: float
    stopped: bool = False


def model_checkpoint(
    trainer: Trainer, config: DeepLS.Config, size: tuple[int, int], meta: Mapping[str, Any]
) -> Checkpoint:
    """The checkpoint of ``trainer``'s model, trained at processing size ``size``.

    Args:
        trainer: the trainer whose model is saved (its inference copy).
        config: the segmenter's configuration (architecture and mask rule).
        size: processing size ``(h, w)``.
        meta: what to store beside the weights (training settings, source, ...).
    """
    state = trainer.eval_model().state_dict()
    return Checkpoint(dataclasses.asdict(config.net), size, config.mask, state, dict(meta))


def check_clip_training(config: DeepLS.Config) -> None:
    """Refuse a configuration :func:`train_clip` cannot train (before anything is decoded).

    Raises:
        ConfigError: a batch of ``train.frames`` cannot hold what the network needs.
    """
    if config.train.frames < config.net.min_batch:
        raise ConfigError(
            f"train.frames must be >= net.stack ({config.net.stack}) for slnet: "
            "a batch holds a stack"
        )


def train_clip(
    source: str | Path,
    config: DeepLS.Config,
    *,
    threads: int = 0,
    max_frames: int | None = None,
    rpca: bool = True,
    max_frames_hint: str = "max_frames=N",
    on_open: Callable[[FrameSource], None] | None = None,
    on_frame: Callable[[int], None] | None = None,
    on_step: Callable[[int, float], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> TrainedClip:
    """Train a DeepLS model on the clip ``source`` names (two-pass training's first pass).

    Args:
        source: the clip, as :func:`~streamseg.sources.open_source` takes it.
        config: the segmenter's configuration: ``net`` (architecture), ``train``
            (steps, batch, pool), ``area``, ``mask`` and ``seed``.
        threads: torch threads while training (0: torch's default).
        max_frames: decode at most this many frames (needed for a live stream).
        rpca: also compute the RPCA objective of the net and the convex optimum on
            one batch of the frames (a quality signal without ground truth; seconds).
        max_frames_hint: how the caller sets ``max_frames``, for the error message.
        on_open: called with the opened source (to cancel it from another thread).
        on_frame: called with each decoded frame's position (progress).
        on_step: called with ``(step, loss)`` after each step (progress).
        should_stop: polled between steps; training ends early when it returns True
            (the RPCA comparison is then skipped).

    Raises:
        ConfigError: a live source without ``max_frames``, a clip too short to make a
            batch, or a configuration :func:`check_clip_training` refuses.
        SourceError: the clip cannot be read.
    """
    from streamseg.segmenters.deepls.train import collect_clip, rpca_gap, train_frames
    from streamseg.segmenters.preprocess import processing_size
    from streamseg.sources import open_source

    check_clip_training(config)
    tc = config.train
    with open_source(source) as src:
        if on_open is not None:
            on_open(src)
        if src.info.is_live and max_frames is None:
            raise ConfigError(
                f"{source} is a live stream, which never ends: give {max_frames_hint} "
                "(the frames to record and train on)"
            )
        frames, indices = collect_clip(
            src,
            max(tc.pool, tc.frames),
            config.area,
            config.net.colour,
            on_frame=on_frame,
            max_frames=max_frames,
        )
        size = processing_size(src.info.height, src.info.width, config.area)
    # The loss is a nuclear norm over frames: it needs a batch of them (SLNet: a stack).
    least = config.net.min_batch
    if len(frames) < least:
        method = "slnet" if config.net.family == "slnet" else "deepls"
        raise ConfigError(
            f"{source}: {len(frames)} frame(s); training {method} needs at least {least}"
        )
    trainer, report = train_frames(
        frames,
        config.net,
        tc,
        seed=config.seed,
        threads=threads,
        on_step=on_step,
        should_stop=should_stop,
    )
    stopped = should_stop is not None and should_stop()
    if rpca and not stopped:
        rpca_gap(trainer, frames[: tc.frames], report)
    meta = _meta(str(source), indices, config, report)
    return TrainedClip(
        model_checkpoint(trainer, config, size, meta),
        report,
        len(frames),
        size,
        trainer.last_loss,
        stopped,
    )


def _meta(
    source: str, indices: list[int], config: DeepLS.Config, report: TrainReport
) -> dict[str, Any]:
    """What a two-pass checkpoint stores beside its weights."""
    meta: dict[str, Any] = {
        "source": source,
        "frames": indices,
        "train": dataclasses.asdict(config.train),
        "seed": config.seed,
        "seconds": report.seconds,
        "steps": report.steps,
        "rollbacks": report.rollbacks,
        "history": report.history,
        "objective_net": report.objective_net,
        "objective_rpca": report.objective_rpca,
    }
    if report.context is not None:
        import torch

        # Frames are segmented against the clip's own median/MAD, as in training.
        meta["context"] = torch.from_numpy(report.context)
    return meta
