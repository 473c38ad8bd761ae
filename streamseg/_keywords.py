"""The keyword parameters of the built-in methods, for type checkers.

:func:`streamseg.create` takes a method's parameters as keywords; these TypedDicts type
them per method (``Unpack`` in its overloads), so mypy and pyright flag
``ss.create("mog2", histroy=200)`` and a value of the wrong type. Each lists the fields
of its method's ``Config`` with the same annotations (a nested config also as a
mapping); tests/test_registry.py keeps them equal.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal, TypedDict

if TYPE_CHECKING:
    from streamseg.segmenters.deepls.config import ModelConfig, TrainConfig
    from streamseg.segmenters.deepls.memory import MemoryConfig
    from streamseg.segmenters.masking import MaskRule

__all__ = ["DeepLSParams", "KNNParams", "MOG2Params", "RPCAParams"]


class MOG2Params(TypedDict, total=False):
    """Parameters of ``mog2`` (:class:`~streamseg.segmenters.mog2.MOG2.Config`)."""

    history: int
    var_threshold: float
    detect_shadows: bool
    n_mixtures: int
    background_ratio: float


class KNNParams(TypedDict, total=False):
    """Parameters of ``knn`` (:class:`~streamseg.segmenters.knn.KNN.Config`)."""

    history: int
    dist2_threshold: float
    detect_shadows: bool
    k_nn: int
    seed: int


class RPCAParams(TypedDict, total=False):
    """Parameters of ``rpca`` (:class:`~streamseg.segmenters.rpca.RPCA.Config`)."""

    area: int
    gray: bool
    window: int
    stride: int
    interval: float
    refresh_every: int
    max_rank: int
    lam_scale: float
    tol: float
    max_iter: int
    mode: Literal["sync", "async"]
    blas_threads: int
    mask: MaskRule | Mapping[str, Any]


class DeepLSParams(TypedDict, total=False):
    """Parameters of ``deepls`` and ``slnet``
    (:class:`~streamseg.segmenters.deepls.segmenter.DeepLS.Config`)."""

    weights: str | None
    start: str
    save: str | None
    mode: Literal["auto", "paced", "async", "sync"]
    window: int
    stride: int
    interval: float
    min_frames: int
    steps_per_round: int
    batch: int
    paste: float
    train_every: int
    publish_every: int
    publish_seconds: float
    hold: float
    ghosts: float
    outline: float
    change_floor: float
    trainer_threads: int
    max_steps_per_s: float
    backend: Literal["onnx", "torch"]
    ort_threads: int
    providers: tuple[str, ...]
    half: bool
    io_binding: bool
    net: ModelConfig | Mapping[str, Any]
    train: TrainConfig | Mapping[str, Any]
    area: int
    mask: MaskRule | Mapping[str, Any]
    fusion: Literal["veto", "soft", "memory", "net", "and", "or"]
    veto_share: float
    memory: MemoryConfig | Mapping[str, Any]
    stabilise: bool
    fps: float
    seed: int
