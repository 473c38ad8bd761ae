"""Loading a DeepLS model: the start-up thread that builds what a segmenter runs.

A DeepLS segmenter needs a network to run on each frame: a frozen one (a ``.pt``
checkpoint exported to ONNX at load, or an ``.onnx`` file) or an online one (the
starting model, a :class:`~streamseg.segmenters.deepls.train.Trainer` and an
:class:`~streamseg.segmenters.deepls.online.OnlineLearner` that swaps new sessions in).
Building it imports torch, exports and opens an ONNX Runtime session: seconds. The
:class:`StartUp` does it on a thread of its own, so that the caller's wait can be cut
short by a ``close()`` from another thread; it returns a :class:`Loaded`.

This module must not import torch at import time (the registry loads the methods for
``streamseg list``).
"""

from __future__ import annotations

import logging
import threading
from typing import Any, NamedTuple

import numpy as np

from streamseg.errors import ConfigError
from streamseg.params import check
from streamseg.segmenters.base import Lifeline
from streamseg.segmenters.deepls.config import ModelConfig
from streamseg.window import FrameWindow

__all__ = ["Abandoned", "Loaded", "StartUp", "check_stack", "window_for"]

log = logging.getLogger(__name__)


def check_stack(min_frames: int, net: ModelConfig) -> None:
    """SLNet trains on stacks of ``net.stack`` window frames: the window must hold one."""
    check(
        net.family != "slnet" or min_frames >= net.stack,
        f"min_frames={min_frames} is below SLNet's stack of {net.stack} frames; "
        f"set min_frames >= {net.stack}",
    )


class Loaded(NamedTuple):
    """What a start-up built: the segmenter installs it on the caller's thread."""

    net: ModelConfig
    size: tuple[int, int]  # the processing size
    engine: tuple[str, Any]  # ("onnx", OnnxRunner) or ("torch", the eager model)
    context: np.ndarray | None  # a frozen model's fixed window context
    window: FrameWindow | None
    learner: Any  # the OnlineLearner (not started yet), None for a frozen model


class Abandoned(Exception):
    """The segmenter was closed while it started: the start-up stops where it is."""


def window_for(config: Any) -> FrameWindow:
    return FrameWindow(config.window, config.stride, config.interval)


class StartUp:
    """One load of a model on a thread of its own: torch's import, export, ONNX Runtime's session.

    The first frame (or ``open``) waits for it; a ``close()`` from another thread, the
    segmenter's collection or the interpreter's exit abandon it instead (:meth:`abandon`,
    or the lifeline's ``stop``), and the waiting call ends at once. It refers to the
    configuration, never to the segmenter, checks between its stages and ends alone,
    dropping what it built: the learner's thread starts only with the first frame, so an
    abandoned start-up leaves nothing running.

    Args:
        config: the segmenter's ``Config``.
        family: ``unet`` or ``slnet``.
        name: the method's name (messages).
        size: the frames' ``(h, w)`` (None: not known, frozen models only).
        lifeline: the segmenter's (its ``stop``; it starts the trainer's thread).
    """

    def __init__(
        self,
        config: Any,
        family: str,
        name: str,
        size: tuple[int, int] | None,
        lifeline: Lifeline,
    ) -> None:
        self.config = config
        self.family = family
        self.name = name
        self.size = size
        self._lifeline = lifeline
        self._stop = lifeline.stop
        self._abandoned = False
        self.done = threading.Event()
        self.result: Loaded | None = None
        self.error: BaseException | None = None

    @property
    def abandoned(self) -> bool:
        return self._abandoned or self._stop.is_set()

    def abandon(self) -> None:
        """Give up: the waiting call wakes now, the thread stops at its next stage."""
        self._abandoned = True
        self.done.set()

    def run(self) -> None:
        try:
            self.result = self._load()
        except Abandoned:
            log.debug("%s: start-up abandoned", self.name)
        except BaseException as err:  # raised again on the waiting caller's thread
            self.error = err
        finally:
            self.done.set()

    def _stage(self) -> None:
        if self.abandoned:
            raise Abandoned

    def _load(self) -> Loaded:
        from pathlib import Path

        c = self.config
        if c.weights is None:
            loaded = self._start_online()
        else:
            path = Path(c.weights)
            if path.suffix.lower() == ".onnx":
                loaded = self._load_onnx(path)
            else:
                loaded = self._load_checkpoint(path)
        if loaded.net.family != self.family:
            raise ConfigError(
                f"{c.weights or c.start}: a {loaded.net.family} model; use the "
                f"{'slnet' if loaded.net.family == 'slnet' else 'deepls'} method"
            )
        if loaded.window is None and loaded.net.context_channels:
            # A frozen model that sees the window context still needs the window.
            loaded = loaded._replace(window=window_for(c))
        self._stage()
        return loaded

    def _make_runner(self) -> Any:
        from streamseg.segmenters.deepls.onnx import OnnxRunner

        c = self.config
        return OnnxRunner(c.ort_threads, c.providers or None, c.half, c.io_binding)

    def _read_checkpoint(self, path: Any) -> tuple[ModelConfig, Any, Any]:
        """``(ModelConfig, torch model with the weights, the Checkpoint)`` of a ``.pt``."""
        from streamseg.segmenters.deepls.checkpoint import load_checkpoint
        from streamseg.segmenters.deepls.model import model_from_checkpoint

        ckpt = load_checkpoint(path)
        self._stage()  # torch is imported: seconds
        net, model = model_from_checkpoint(ckpt, str(path))
        return net, model, ckpt

    # -- frozen models ----------------------------------------------------------------------

    def _load_onnx(self, path: Any) -> Loaded:
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
            net = ModelConfig(**meta["model"])
            size = (int(meta["size"][0]), int(meta["size"][1]))
        except (KeyError, TypeError, ValueError, ConfigError) as err:
            raise ModelError(f"{path}: incomplete streamseg metadata ({err})") from None
        context = None
        if meta.get("context") is not None:
            context = np.asarray(meta["context"], np.float32)
        if meta.get("quantized") and self.config.half:
            # float16 conversion would also turn the quantization scales to float16,
            # which ONNX Runtime rejects: int8 is already the cheaper representation.
            raise ConfigError(f"{path}: an int8 model; half=true applies to float32 models only")
        runner = self._make_runner()
        runner.load(data, 0, str(path))
        return Loaded(net, size, ("onnx", runner), context, None, None)

    def _load_checkpoint(self, path: Any) -> Loaded:
        from streamseg.segmenters.deepls.onnx import export_bytes

        net, model, ckpt = self._read_checkpoint(path)
        # Two-pass training stored the clip's median/MAD (None otherwise): segment against it.
        if self.config.backend == "torch":
            return Loaded(net, ckpt.size, ("torch", model), ckpt.context, None, None)
        self._stage()
        runner = self._make_runner()
        data = export_bytes(model, net, ckpt.size, self.config.mask, dynamic=False)
        self._stage()
        runner.load(data, 0, str(path))
        return Loaded(net, ckpt.size, ("onnx", runner), ckpt.context, None, None)

    # -- online learning --------------------------------------------------------------------

    def _start_online(self) -> Loaded:
        from streamseg.segmenters.deepls.online import OnlineLearner
        from streamseg.segmenters.deepls.onnx import OnnxTemplate
        from streamseg.segmenters.deepls.train import Trainer
        from streamseg.segmenters.preprocess import processing_size

        c = self.config
        assert self.size is not None  # open() asks for it, a frame has one
        if c.backend != "onnx":
            raise ConfigError("online learning segments with ONNX Runtime: use backend=onnx")
        start = c.start
        state = None
        net = c.net
        if start == "builtin":
            from streamseg.models import builtin_checkpoint

            # SLNet ships a grey start only: a colour SLNet gets the warning below.
            colour = c.net.colour and self.family == "unet"
            start = str(builtin_checkpoint(self.family, colour))
            builtin_net = self._read_checkpoint(start)[0]
            if builtin_net != c.net:
                log.warning(
                    "%s: the built-in starting model is %s, not the configured %s; "
                    "starting from random weights",
                    self.name,
                    builtin_net,
                    c.net,
                )
                start = "random"
        resumed: dict[str, Any] = {}
        if start != "random":
            net, model, ckpt = self._read_checkpoint(start)
            state = model.state_dict()
            if c.start != "builtin" and "optimizer" in ckpt.meta:
                # A checkpoint of an online run (--resume): go on with its optimiser
                # state, step count and model version rather than starting them over.
                resumed = ckpt.meta
        check_stack(c.min_frames, net)  # a checkpoint's own net may have a longer stack
        size = processing_size(self.size[0], self.size[1], c.area)
        self._stage()
        trainer = Trainer(
            net, c.train, state, resumed.get("optimizer"), int(resumed.get("steps", 0)), seed=c.seed
        )
        self._stage()
        runner = self._make_runner()
        template = OnnxTemplate(trainer.model, net, size, c.mask)
        self._stage()

        def build(version: int) -> Any:
            data = template.fill(trainer.eval_model(), {"version": version})
            return runner.build(data, f"online model v{version}")

        window = window_for(c)
        learner = OnlineLearner(
            trainer,
            window,
            build,
            runner.swap,
            mode="paced" if c.mode == "auto" else c.mode,
            min_frames=c.min_frames,
            steps_per_round=c.steps_per_round,
            train_every=c.train_every,
            publish_every=c.publish_every,
            publish_seconds=c.publish_seconds,
            threads=c.trainer_threads,
            max_steps_per_s=c.max_steps_per_s,
            paste=c.paste,
            batch=c.batch,
            name=self.name,
            spawn=self._lifeline.start,
        )
        if state is not None:
            # The starting model segments from the first frame (version 0, or the resumed one).
            version = int(resumed.get("version", 0))
            learner.stats.version = version
            runner.load(template.fill(trainer.eval_model(), {"version": version}), version, start)
        return Loaded(net, size, ("onnx", runner), None, window, learner)
