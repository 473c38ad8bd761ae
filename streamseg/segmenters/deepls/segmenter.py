"""The ``deepls`` and ``slnet`` segmenters.

With a trained model (``weights: model.pt`` or ``model.onnx``) every frame is
segmented on its own: the frame goes to the processing size, the frozen net gives
its sparse part ``S``, and the shared :class:`~streamseg.segmenters.masking.MaskRule`
turns ``|S|`` into a mask at the frame's size. ``background()`` is ``L = d − S``.

This module must not import torch at import time (the registry loads it for
``streamseg list``); the inference backend is loaded when the first frame comes.
"""

from __future__ import annotations

import logging
from collections import deque
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

import numpy as np

from streamseg.config import check
from streamseg.errors import ConfigError
from streamseg.registry import register
from streamseg.segmenters.base import Segmenter
from streamseg.segmenters.deepls.config import ModelConfig, TrainConfig
from streamseg.segmenters.masking import MaskRule, residual_score
from streamseg.segmenters.preprocess import to_processing

__all__ = ["DeepLS", "SLNetSegmenter"]

log = logging.getLogger(__name__)


@register("deepls")
class DeepLS(Segmenter):
    """DeepLS: a U-Net trained by the low-rank + sparse loss segments one frame at a time."""

    family: ClassVar[str] = "unet"

    @dataclass(frozen=True)
    class Config:
        """Parameters of :class:`DeepLS`.

        Attributes:
            weights: a trained model, ``.pt`` checkpoint (``streamseg train``) or ``.onnx``
                (``streamseg export``).
            backend: ``onnx`` (ONNX Runtime; a ``.pt`` is exported on the fly) or ``torch``
                (eager, for comparison).
            ort_threads: ONNX Runtime's intra-op threads for the per-frame model.
            providers: ONNX Runtime execution providers in order of preference (empty:
                TensorRT → CUDA → CPU, whichever is installed).
            half: float16 inference on GPU providers.
            io_binding: run ONNX Runtime through IOBinding.
            net: the architecture, used when training (the checkpoint's wins when given).
            train: how the model trains.
            area: processing size in pixels (aspect ratio kept) when training.
            mask: the mask rule.
            seed: seed of initialisation and sampling.
        """

        weights: str | None = None
        backend: Literal["onnx", "torch"] = "onnx"
        ort_threads: int = 1
        providers: tuple[str, ...] = ()
        half: bool = False
        io_binding: bool = False
        net: ModelConfig = field(default_factory=ModelConfig)
        train: TrainConfig = field(default_factory=TrainConfig)
        area: int = 4800
        mask: MaskRule = field(default_factory=MaskRule)
        seed: int = 0

        def __post_init__(self) -> None:
            check(self.area >= 64, f"area must be >= 64 pixels, got {self.area}")
            check(self.ort_threads >= 0, "ort_threads must be >= 0")

    def __init__(self, config: Any | None = None) -> None:
        super().__init__(config)
        if self.config.weights is None:
            raise ConfigError(
                f"{self.name}: no model given; train one with `streamseg train "
                "SOURCE --out model.pt` and pass weights=model.pt (--model)"
            )
        self._engine: Any = None
        self._net: ModelConfig | None = None
        self._size: tuple[int, int] | None = None
        self._history: deque[np.ndarray] = deque(maxlen=1)
        self._last: tuple[np.ndarray, np.ndarray] | None = None

    # -- the inference engine ----------------------------------------------------------------

    def _load(self) -> None:
        from pathlib import Path

        path = Path(self.config.weights)
        if path.suffix.lower() == ".onnx":
            self._load_onnx(path)
        else:
            self._load_checkpoint(path)
        assert self._net is not None
        if self._net.family != self.family:
            raise ConfigError(
                f"{path}: a {self._net.family} model; use the "
                f"{'slnet' if self._net.family == 'slnet' else 'deepls'} method"
            )
        self._history = deque(maxlen=self._net.stack if self._net.family == "slnet" else 1)

    def _load_onnx(self, path: Any) -> None:
        from streamseg.errors import ModelError
        from streamseg.segmenters.deepls.onnx import read_metadata

        if self.config.backend != "onnx":
            raise ConfigError(f"{path}: an ONNX model runs with backend=onnx only")
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise ModelError(f"{path}: no such model file") from None
        meta = read_metadata(data, str(path))
        try:
            self._net = ModelConfig(**meta["model"])
            size = meta["size"]
            self._size = (int(size[0]), int(size[1]))
        except (KeyError, TypeError, ValueError, ConfigError) as err:
            raise ModelError(f"{path}: incomplete streamseg metadata ({err})") from None
        runner = self._make_runner()
        runner.load(data, 0, str(path))
        self._engine = ("onnx", runner)

    def _make_runner(self) -> Any:
        from streamseg.segmenters.deepls.onnx import OnnxRunner

        c = self.config
        return OnnxRunner(c.ort_threads, c.providers or None, c.half, c.io_binding)

    def _load_checkpoint(self, path: Any) -> None:
        from streamseg.errors import ModelError
        from streamseg.segmenters.deepls.checkpoint import load_checkpoint
        from streamseg.segmenters.deepls.model import build_model

        ckpt = load_checkpoint(path)
        try:
            net = ModelConfig(**ckpt.model)
        except (TypeError, ConfigError) as err:
            raise ModelError(f"{path}: unknown architecture ({err})") from None
        model = build_model(net)
        try:
            model.load_state_dict(ckpt.state)
        except RuntimeError as err:
            raise ModelError(
                f"{path}: weights do not fit the stored architecture ({str(err).splitlines()[0]})"
            ) from None
        model.eval()
        self._net, self._size = net, ckpt.size
        if self.config.backend == "torch":
            self._engine = ("torch", model)
            return
        from streamseg.segmenters.deepls.onnx import export_bytes

        runner = self._make_runner()
        runner.load(export_bytes(model, net, ckpt.size, self.config.mask), 0, str(path))
        self._engine = ("onnx", runner)

    def _run_net(self, x: np.ndarray) -> np.ndarray:
        """The network on one ``1×C×h×w`` float32 input."""
        kind, engine = self._engine
        if kind == "onnx":
            return engine.run(x)[0]
        import torch

        with torch.no_grad():
            return engine(torch.from_numpy(x)).numpy()

    def _residual(self, image: np.ndarray) -> np.ndarray:
        """``S`` of ``image`` at processing size, ``h×w`` (gray) or ``h×w×3``."""
        if self._engine is None:
            self._load()
        assert self._net is not None and self._size is not None
        x = to_processing(image, self._size, self._net.colour)
        t = x[None, None] if x.ndim == 2 else x.transpose(2, 0, 1)[None]
        t = np.ascontiguousarray(t)
        if self._net.family == "slnet":
            self._history.append(t)
            stack = list(self._history)
            stack = [stack[0]] * (self._net.stack - len(stack)) + stack
            low = self._run_net(np.concatenate(stack, axis=1))[:, -t.shape[1] :]
            s = t - low
            if self._net.relu_sparse:
                s = np.maximum(s, 0)
        else:
            s = self._run_net(t)
        out = s[0]
        return out[0] if out.shape[0] == 1 else out.transpose(1, 2, 0)

    # -- the segmenter interface -------------------------------------------------------------

    def _predict_one(self, image: np.ndarray) -> np.ndarray:
        residual = self._residual(image)
        self._last = (image, residual)
        return self.config.mask(residual_score(residual), image.shape[:2])

    def _score_one(self, image: np.ndarray) -> np.ndarray:
        return self.config.mask.normalised(residual_score(self._residual(image)), image.shape[:2])

    def _learn_one(self, image: np.ndarray) -> None:
        """A trained model is frozen: nothing to learn."""

    def background(self) -> np.ndarray | None:
        """``L = d − S`` of the last segmented frame, at the frame's size (``uint8``)."""
        import cv2

        if self._last is None or self._size is None:
            return None
        image, residual = self._last
        x = to_processing(image, self._size, residual.ndim == 3)
        low = np.clip((x - residual) * 255.0, 0, 255).astype(np.uint8)
        return cv2.resize(low, (image.shape[1], image.shape[0]), interpolation=cv2.INTER_LINEAR)

    def reset(self) -> None:
        self._history.clear()
        self._last = None

    @classmethod
    def _unit_test_params(cls) -> dict[str, Any]:
        from streamseg.segmenters.deepls.testing import tiny_checkpoint

        return {"weights": str(tiny_checkpoint(cls.family))}


@register("slnet")
class SLNetSegmenter(DeepLS):
    """SLNet: a tiny net gives the low-rank part of a short stack of frames; S = frame − L."""

    family: ClassVar[str] = "slnet"
