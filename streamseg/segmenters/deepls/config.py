"""Configuration of the DeepLS family (no torch here: the registry imports it).

:class:`ModelConfig` is the architecture (stored in checkpoints and ONNX metadata),
:class:`TrainConfig` how it trains.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from streamseg.params import check

__all__ = ["ModelConfig", "TrainConfig"]


@dataclass(frozen=True)
class ModelConfig:
    """The architecture of a DeepLS model (stored in checkpoints and ONNX metadata).

    Attributes:
        family: ``unet`` (DeepLS) or ``slnet``.
        width: channels of the first level (``c``); level ``i`` has ``c·2**i``.
        depth: poolings of the U-Net (the reference used 2); SLNet's conv layers.
        norm: ``batch`` (BatchNorm, as in the reference; at single-frame inference its
            running statistics of the recent training batches are used), ``group``
            (GroupNorm: identical in training and inference, but measured less
            accurate) or ``none``.
        colour: 3-channel BGR input instead of gray.
        context: what the U-Net sees besides the frame: ``none`` (the paper: the frame
            alone, so the net must hold the scene in its weights), ``median`` (also the
            per-pixel median of the window) or ``median_mad`` (median and median
            absolute deviation: where the background itself moves, e.g. water).
            See :mod:`streamseg.segmenters.deepls.context`. SLNet ignores it.
        stack: frames per SLNet input (ignored by the U-Net).
        relu_sparse: SLNet's ``S = ReLU(x − L)`` (the paper) instead of signed ``x − L``.
    """

    family: Literal["unet", "slnet"] = "unet"
    width: int = 16
    depth: int = 2
    norm: Literal["group", "batch", "none"] = "batch"
    colour: bool = False
    context: Literal["none", "median", "median_mad"] = "median_mad"
    stack: int = 4
    relu_sparse: bool = False

    def __post_init__(self) -> None:
        check(self.width >= 1, f"model.width must be >= 1, got {self.width}")
        check(1 <= self.depth <= 5, f"model.depth must be in 1..5, got {self.depth}")
        check(self.stack >= 2, "model.stack must be >= 2")

    @property
    def frame_channels(self) -> int:
        """Channels of one frame (1 gray, 3 colour)."""
        return 3 if self.colour else 1

    @property
    def context_channels(self) -> int:
        """Channels of the window context (0, 1 or 2 images of ``frame_channels``; SLNet: 0)."""
        if self.family == "slnet":
            return 0
        return self.frame_channels * {"none": 0, "median": 1, "median_mad": 2}[self.context]

    @property
    def in_channels(self) -> int:
        """Channels of the network's input: the frame (a stack for SLNet) and its context."""
        if self.family == "slnet":
            return self.stack * self.frame_channels
        return self.frame_channels + self.context_channels

    @property
    def min_batch(self) -> int:
        """Frames a training batch needs at least: two for a nuclear norm, SLNet a stack."""
        return self.stack if self.family == "slnet" else 2

    @property
    def multiple(self) -> int:
        """Frame sides are padded to a multiple of this."""
        return 2**self.depth if self.family == "unet" else 1


@dataclass(frozen=True)
class TrainConfig:
    """How DeepLS trains.

    Attributes:
        frames: frames per batch (N, the rows of the matrix whose nuclear norm is taken).
        pool: frames sampled evenly across the clip for two-pass training; each step
            draws ``frames`` of them at random (0: the pool is the batch).
        steps: gradient steps of two-pass training.
        lr: Adam's learning rate.
        schedule: ``constant`` or ``cosine`` (decay to 5 % over ``steps``).
        lam_scale: multiplies RPCA's λ = 1/sqrt(P).
        tv: weight μ of the anisotropic total variation of S (0: off).
        explode: a step whose loss exceeds this many times the running mean is rolled back.

    The seed and the torch threads are the segmenter's (``seed``, ``trainer_threads``):
    one setting each, for online and two-pass training alike.
    """

    frames: int = 16
    pool: int = 0
    steps: int = 400
    lr: float = 2e-3
    schedule: Literal["constant", "cosine"] = "constant"
    lam_scale: float = 1.0
    tv: float = 0.0
    explode: float = 20.0

    def __post_init__(self) -> None:
        check(self.frames >= 2, f"train.frames must be >= 2, got {self.frames}")
        check(self.pool >= 0, "train.pool must be >= 0")
        check(self.steps >= 0, "train.steps must be >= 0")
        check(self.lr > 0, "train.lr must be > 0")
        check(self.lam_scale > 0, "train.lam_scale must be > 0")
        check(self.tv >= 0, "train.tv must be >= 0")
        check(self.explode > 1, "train.explode must be > 1")
