"""The ``deepls`` and ``slnet`` segmenters.

Each frame is aligned to the background when the camera shook (``stabilise``:
:mod:`~streamseg.segmenters.deepls.stabilise`), compared with a long per-pixel background
memory (:mod:`~streamseg.segmenters.deepls.memory`) and seen by the network: the frame at
the processing size with the window's median and spread as context, whose sparse part
``S`` says what the last seconds do not explain. ``fusion``
(:mod:`~streamseg.segmenters.deepls.policies`) makes the mask from the two: by default the
memory's blobs that the network sees. The memory learns its own mask's background; the
window is held where that mask is foreground.

Two ways to get the net:

* **online** (the default, no ``weights``): start from the small model shipped in
  the package and fine-tune it on a sliding window of the stream while it
  segments (:mod:`streamseg.segmenters.deepls.online`), paced by the frames on files
  and by the clock on live sources (``mode``); a new frozen copy is swapped in every
  few steps;
* **frozen** (``weights: model.pt`` from ``streamseg train``, or ``model.onnx``):
  the two-pass mode of the paper, nothing is learned.

With ``fusion=net`` the network's mask stands alone, with policies of its own: ``hold``
keeps a stopped object out of the window for that many seconds (otherwise it fades into
the background over about half a window span); ghosts, told by an outline that is an edge
of the window's median rather than of the frame (:mod:`~streamseg.segmenters.deepls.ghosts`),
are dropped (``ghosts``); and a Σ-Δ background at the frame's size trims the mask's rim
(:mod:`~streamseg.segmenters.deepls.outline`, ``outline``). These parameters, and
``change_floor``, ``fps`` and ``mask.k``, act with ``fusion=net`` only.

This module must not import torch at import time (the registry loads it for
``streamseg list``); the inference backend is loaded when the first frame comes.
"""

from __future__ import annotations

import dataclasses
import logging
from collections import deque
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal, NamedTuple

import cv2
import numpy as np

from streamseg.errors import ClosedError, ConfigError
from streamseg.params import check
from streamseg.segmenters.base import MAX_THREADS, Segmenter
from streamseg.segmenters.deepls.config import ModelConfig, TrainConfig
from streamseg.segmenters.deepls.context import net_input
from streamseg.segmenters.deepls.engine import StartUp, check_stack
from streamseg.segmenters.deepls.memory import MemoryConfig, PixelMemory
from streamseg.segmenters.deepls.outline import Outline
from streamseg.segmenters.deepls.policies import combine, dilate, to_size
from streamseg.segmenters.deepls.stabilise import Stabiliser
from streamseg.segmenters.masking import MaskRule, residual_score
from streamseg.segmenters.preprocess import to_processing
from streamseg.segmenters.registration import register
from streamseg.window import FrameWindow

__all__ = ["DeepLS", "SLNetSegmenter"]

log = logging.getLogger(__name__)


class _Segmented(NamedTuple):
    """One frame through the net and the memory: what the mask and the learners need."""

    x: np.ndarray  # the frame at processing size
    mask: np.ndarray  # the final mask, at the frame's size, in the frame's own place
    residual: np.ndarray | None  # S (None before any model)
    small: np.ndarray | None  # the net's mask at processing size, ghosts removed (hold policy)
    frame: np.ndarray  # the frame segmented (aligned to the memory when the camera shook)
    held: np.ndarray | None  # pixels the window must not learn (processing size), or None
    remembered: np.ndarray | None  # the memory's own mask (aligned): what it does not learn


@register("deepls")
class DeepLS(Segmenter):
    """DeepLS: a U-Net trained online by the low-rank + sparse loss segments each frame.

    What happens when: the constructor loads nothing (not even torch). :meth:`open`
    (``open(width=W, height=H)``; a frozen model needs no size), or else the first frame,
    loads the model on a start-up thread and waits for it: torch's import, the starting
    checkpoint, the export and the ONNX Runtime session, 3–7 s on a CPU. The starting
    model segments from then on (``start=random``: from its first swap); training starts
    once the window holds ``min_frames`` frames (``async``: on its own thread, ``sync``:
    inline). :meth:`close` stops the trainer and drops the model; from another thread
    during the start-up it abandons the start-up at once (the waiting call raises
    :class:`~streamseg.errors.ClosedError`). A segmenter never closed is released when
    collected or at interpreter exit (without writing ``save``).
    """

    family: ClassVar[str] = "unet"
    continuous_score: ClassVar[bool] = True
    checkpointable: ClassVar[bool] = True
    wants_source_fps: ClassVar[bool] = True
    wants_source_liveness: ClassVar[bool] = True
    trains_on_clip: ClassVar[bool] = True

    @dataclass(frozen=True)
    class Config:
        """Parameters of :class:`DeepLS`.

        Attributes:
            weights: a trained model to use frozen, ``.pt`` (``streamseg train``) or
                ``.onnx`` (``streamseg export``); ``None``: learn online.
            start: where online learning starts: ``builtin`` (the model shipped in the
                package), ``random``, or a ``.pt`` checkpoint (``--resume``).
            save: write the online model's checkpoint here when closing (atomic; by
                ``close()`` or the end of a ``with`` block, not by the garbage collector).
            mode: ``auto`` (the default): ``paced``, or ``async`` when a run reads a live
                source. ``paced`` trains on a background thread one round every
                ``train_every`` frames and swaps the model in at a round's end, in step with
                the frames: the masks depend on the frames and the seed alone, and the frame
                path waits only if a round is not done when the next is due; ``async`` trains
                as fast as its thread can, paced by the clock (live sources: the frame path
                never waits); ``sync`` trains inline (for tests).
            window: frames in the sliding window (the batch of each step).
            stride: keep every ``stride``-th frame in the window, so it spans
                ``window × stride`` frames.
            interval: if > 0, sample the window by time instead: keep a frame when at
                least this many seconds passed since the last one kept (by the frames'
                timestamps: see :meth:`~streamseg.segmenters.base.Segmenter.apply`), so
                the window spans ``window × interval`` seconds whatever the frame rate or
                the frames a live source drops; 0: by ``stride``.
            min_frames: frames the window needs before training starts.
            steps_per_round: gradient steps per round.
            batch: window frames each step trains on, drawn at random (0: the whole window):
                a step's cost grows with it; the context is always the whole window's.
            paste: probability that each frame of a training batch gets one synthetic
                object (an ellipse of the frame's own texture, brighter or darker; see
                :mod:`~streamseg.segmenters.deepls.augment`). Without it an empty, still
                scene trains the net to answer 0 to everything, and it stops seeing
                what enters later (0: off).
            train_every: frames between rounds in paced and sync modes.
            publish_every: steps between two swaps of the frozen model.
            publish_seconds: async mode: swap at least this often while training.
            hold: ``fusion=net`` only: seconds a stopped object is kept out of the window
                (see the module doc).
            ghosts: ``fusion=net`` only (the memory has ``memory.ghosts``): a blob whose
                outline has this many times more gradient in the window's median than
                in the frame is a ghost (where an object was, see
                :mod:`~streamseg.segmenters.deepls.ghosts`): its pixels that did not change
                since the window's newest frame are dropped from the mask (0: off). Needs
                the window: online models and frozen ones that see the window context.
                The window is left alone: it forgets the ghost as it forgets any object
                (writing the frame into it there measured worse: a person walking out
                of his own ghost got absorbed).
            outline: ``fusion=net`` only: trim the mask to the pixels where the frame, at
                its own size, differs from a full-resolution background by more than this many noise
                scales (and ``change_floor``); see :mod:`~streamseg.segmenters.deepls.outline`
                (0: off; 3: three standard deviations of the noise). The background
                learns from the frames the window keeps (not from held pixels), so like
                ``ghosts`` it works for online models and frozen ones that see the window
                context, not for frozen models without it (``net.context=none``, SLNet).
            change_floor: ``fusion=net`` only: the smallest change of a frame's intensity
                (frames scaled to [0, 1]) that counts: the outline's floor, and what the
                ghost policy calls still. A property of the camera's frames, unlike
                ``mask.floor``, which thresholds the net's |S|.
            trainer_threads: torch threads of the online trainer (0: torch's default);
                ``streamseg train`` uses every core unless this is set. At most four per
                core, as every thread count here.
            max_steps_per_s: async mode: cap on training steps per second (0: no cap); a
                cap lets many cameras share a machine.
            backend: ``onnx`` (ONNX Runtime) or ``torch`` (eager, frozen models only,
                for comparison).
            ort_threads: ONNX Runtime's intra-op threads for the per-frame model (0: its
                default).
            providers: ONNX Runtime execution providers in order of preference (empty:
                TensorRT → CUDA → CPU, whichever is installed).
            half: float16 inference on GPU providers.
            io_binding: run ONNX Runtime through IOBinding.
            net: the architecture (a checkpoint's wins when one is loaded).
            train: how the model trains.
            area: processing size in pixels (aspect ratio kept).
            mask: the mask rule on the net's |S|.
            fusion: how the network's and the memory's opinions make the mask: ``veto``
                (the memory's blobs that the network sees), ``memory`` or ``net`` alone,
                ``soft``, ``and``, ``or``; see :mod:`~streamseg.segmenters.deepls.policies`. With
                the memory on (every fusion but ``net``), the window does not learn the
                pixels of the mask, and ``hold``, ``ghosts`` and ``outline`` (the network's
                own policies) are not used: the memory keeps stopped objects and heals ghosts.
            veto_share: ``veto``: share of a blob's pixels the network must see.
            memory: the long, conservative background memory
                (:mod:`~streamseg.segmenters.deepls.memory`).
            stabilise: align each frame to the memory's background first when the camera
                shook (:mod:`~streamseg.segmenters.deepls.stabilise`); with the memory on.
            fps: frame rate for ``hold`` (``fusion=net``); 0: the source's, which the
                pipeline fills in (25 when the source does not say, or when used as a library).
            seed: seed of initialisation and sampling (online, and ``streamseg train``).
        """

        weights: str | None = None
        start: str = "builtin"
        save: str | None = None
        mode: Literal["auto", "paced", "async", "sync"] = "auto"
        window: int = 32
        stride: int = 4
        interval: float = 0.0
        min_frames: int = 4
        steps_per_round: int = 1
        batch: int = 8
        paste: float = 1.0
        train_every: int = 8
        publish_every: int = 4
        publish_seconds: float = 2.0
        hold: float = 0.0
        ghosts: float = 2.0
        outline: float = 3.0
        change_floor: float = 0.07
        trainer_threads: int = 1
        max_steps_per_s: float = 0.0
        backend: Literal["onnx", "torch"] = "onnx"
        ort_threads: int = 1
        providers: tuple[str, ...] = ()
        half: bool = False
        io_binding: bool = False
        net: ModelConfig = field(default_factory=ModelConfig)
        train: TrainConfig = field(default_factory=TrainConfig)
        area: int = 4800
        mask: MaskRule = field(default_factory=lambda: MaskRule(k=5.0, floor=0.07, blur=0.8))
        fusion: Literal["veto", "soft", "memory", "net", "and", "or"] = "veto"
        veto_share: float = 0.1
        memory: MemoryConfig = field(default_factory=MemoryConfig)
        stabilise: bool = True
        fps: float = 0.0
        seed: int = 0

        def __post_init__(self) -> None:
            check(self.area >= 64, f"area must be >= 64 pixels, got {self.area}")
            for threads in ("ort_threads", "trainer_threads"):
                value = getattr(self, threads)
                check(
                    0 <= value <= MAX_THREADS,
                    f"{threads} must be in 0..{MAX_THREADS}, got {value} (0: the library's "
                    "default; at most four per core this process may use)",
                )
            check(self.max_steps_per_s >= 0, "max_steps_per_s must be >= 0")
            check(self.window >= 2, f"window must be >= 2, got {self.window}")
            check(self.stride >= 1, "stride must be >= 1")
            check(self.interval >= 0, "interval must be >= 0 seconds (0: by stride)")
            check(2 <= self.min_frames <= self.window, "min_frames must be in 2..window")
            check(self.steps_per_round >= 1, "steps_per_round must be >= 1")
            check(self.batch == 0 or self.batch >= 2, "batch must be 0 (the window) or >= 2")
            check(0 <= self.paste <= 1, f"paste must be in [0, 1], got {self.paste}")
            check(self.train_every >= 1, "train_every must be >= 1")
            check(self.publish_every >= 1, "publish_every must be >= 1")
            check(self.publish_seconds > 0, "publish_seconds must be > 0")
            check(self.hold >= 0, "hold must be >= 0 seconds")
            check(self.ghosts >= 0, "ghosts must be >= 0 (0: off)")
            check(self.outline >= 0, "outline must be >= 0 (0: off)")
            check(0 <= self.change_floor < 1, "change_floor must be in [0, 1)")
            check(self.fps >= 0, "fps must be >= 0 (0: the source's)")
            check(0 <= self.seed < 2**32, f"seed must be in 0..2**32-1, got {self.seed}")
            check(0 < self.veto_share <= 1, f"veto_share must be in (0, 1], got {self.veto_share}")

        @property
        def uses_memory(self) -> bool:
            """The memory takes part in the mask (every fusion but ``net``)."""
            return self.fusion != "net"

    def __init__(self, config: Any | None = None) -> None:
        super().__init__(config)
        self._engine: Any = None
        self._net: ModelConfig | None = None
        self._size: tuple[int, int] | None = None
        self._history: deque[np.ndarray] = deque(maxlen=1)
        self._seen = 0  # frames through an SLNet stack, for its stride
        # The last frame at processing size, its S and the frame's shape: background()'s
        # fallback. Not the frame itself: a host application may reuse its capture buffer.
        self._last: tuple[np.ndarray, np.ndarray, tuple[int, ...]] | None = None
        self._learner: Any = None
        self._window: FrameWindow | None = None
        self._age: np.ndarray | None = None
        self._ctx: tuple[int, np.ndarray] | None = None
        self._med: tuple[int, np.ndarray] | None = None
        self._fixed_ctx: np.ndarray | None = None
        self._outline: Outline | None = None
        self._memory: PixelMemory | None = None
        self._stabiliser: Stabiliser | None = None
        self._closed_stats: dict[str, Any] | None = None
        self._startup: StartUp | None = None
        # The frame size (h, w) an online model was sized for (a frozen one: None).
        self._loaded_for: tuple[int, int] | None = None

    @property
    def online(self) -> bool:
        """``True`` when the model learns from the stream (no frozen ``weights``)."""
        return self.config.weights is None

    # -- loading ------------------------------------------------------------------------------

    def _open(self, size: tuple[int, int] | None) -> None:
        if size is None and self.online:
            raise ConfigError(
                f"{self.name}: an online model is sized for its frames; "
                "give their size: open(width=W, height=H)"
            )
        if self._engine is None or (self.online and size != self._loaded_for):
            if self._engine is not None:
                self.reset()
            self._start(size)

    def _start(self, size: tuple[int, int] | None) -> None:
        """Load the model on a start-up thread and wait for it (``size``: the frames' ``(h, w)``).

        The wait, not the start-up, belongs to the caller: a ``close()`` from another
        thread ends it at once (:class:`~streamseg.errors.ClosedError`) and leaves the
        start-up to stop at its next stage and drop what it built.
        """
        startup = self._startup
        if startup is None or startup.size != size:
            self._drop_startup()
            startup = StartUp(self.config, self.family, self.name, size, self._lifeline)
            self._startup = startup
            self._lifeline.hold(startup.abandon)
            self._lifeline.start(startup.run, name="streamseg-start")
        # In slices: a signal that comes just before a thread blocks in an untimed wait is
        # handled only when the wait ends (seconds later here); a timed one ends soon after.
        # A KeyboardInterrupt leaves the start-up running for the next call.
        while not startup.done.wait(0.1):
            pass
        self._drop_startup(abandon=False)
        if startup.error is not None and not startup.abandoned:
            raise startup.error
        loaded = startup.result
        if startup.abandoned or loaded is None:
            raise ClosedError(f"{self.name}: closed while starting (the model was still loading)")
        self._net, self._size, self._engine = loaded.net, loaded.size, loaded.engine
        self._fixed_ctx = loaded.context
        if loaded.learner is not None:
            self._learner = loaded.learner
            self._lifeline.hold(loaded.learner.close)
        if self.online or self._window is None:
            self._window = loaded.window
        self._history = deque(maxlen=max(1, loaded.net.stack - 1))
        self._seen = 0
        self._loaded_for = size if self.online else None

    def _drop_startup(self, abandon: bool = True) -> None:
        startup, self._startup = self._startup, None
        if startup is not None:
            self._lifeline.let_go(startup.abandon)
            if abandon:
                startup.abandon()

    def _learn_from(self, seg: _Segmented) -> None:
        """Let the memory learn, push the frame (held where it must be), let the learner train."""
        if self._memory is not None and seg.remembered is not None:
            self._memory.learn(seg.frame, seg.remembered)
        if self._window is None or self.config.fusion == "memory":
            return  # a frozen model without context keeps no state; fusion=memory needs none
        x = seg.x
        held_full = None  # held pixels at the frame's size: the outline must not learn them either
        if self._age is None:  # reset() dropped it; a frozen model does not load again
            self._age = np.zeros(x.shape[:2], np.int32)
        held = seg.held
        hold = self.config.hold
        if held is None and seg.residual is not None and seg.small is not None and hold > 0:
            fg = seg.small > 0
            self._age = np.where(fg, self._age + 1, 0)
            held = fg & (self._age <= hold * (self.config.fps or 25.0))
            held_full = to_size(held, seg.frame.shape[:2]) if held.any() else None
        if held is not None and held.any() and len(self._window):
            # The window's own median there, not the net's L = d − S: S rarely takes
            # the whole object, so L keeps a trace of it that the median would slowly
            # learn. Dilated by a pixel, because the mask's rim is what leaks first.
            held = dilate(held)
            x = np.where(held if x.ndim == 2 else held[..., None], self._median(), x)
            x = x.astype(np.float32)
        kept = self._window.push(x, self._timestamp)
        outline = self._outliner()
        if kept and outline is not None:
            outline.update(seg.frame, held_full)  # one grey level per frame the window keeps
        if self._learner is not None:
            self._learner.after_frame()

    # -- inference --------------------------------------------------------------------------

    def _run_net(self, x: np.ndarray) -> np.ndarray:
        """The network on one ``1×C×h×w`` float32 input."""
        kind, engine = self._engine
        if kind == "onnx":
            return engine.run(x)[0]
        import torch

        with torch.no_grad():
            return engine(torch.from_numpy(x)).numpy()

    def _residual(self, x: np.ndarray, advance: bool = False) -> np.ndarray | None:
        """``S`` of a processed frame ``x``, ``h×w`` (gray) or ``h×w×3``; None before any model.

        ``advance``: the frame enters SLNet's frame history (``apply``); ``predict_one``
        and ``score_one`` leave every state alone.
        """
        assert self._net is not None
        if self._engine[0] == "onnx" and not self._engine[1].ready:
            return None
        t = net_input(x)
        if self._net.context_channels:
            ctx = self._context()
            if ctx is None:
                return None
            s = self._run_net(net_input(x, ctx))
            out = s[0]
            return out[0] if out.shape[0] == 1 else out.transpose(1, 2, 0)
        if self._net.family == "slnet":
            # The stack spans time as the training stacks do (window frames ``stride`` apart):
            # of consecutive, near-identical frames the low-rank part is the frames
            # themselves, so S would vanish (measured: F 0.000 on highway).
            stack = [*self._history, t]
            stack = [stack[0]] * (self._net.stack - len(stack)) + stack
            low = self._run_net(np.concatenate(stack, axis=1))[:, -t.shape[1] :]
            if advance:
                if self._seen % self.config.stride == 0:
                    self._history.append(t)
                self._seen += 1
            s = t - low
            if self._net.relu_sparse:
                s = np.maximum(s, 0)
        else:
            s = self._run_net(t)
        out = s[0]
        return out[0] if out.shape[0] == 1 else out.transpose(1, 2, 0)

    def _median(self) -> np.ndarray:
        """Per-pixel median of the window (``h×w`` or ``h×w×3``), cached per window version."""
        from streamseg.segmenters.deepls.context import window_context

        assert self._window is not None and self._net is not None
        if self._med is None or self._med[0] != self._window.version:
            if self._net.context_channels and self._fixed_ctx is None:
                # The net's context leads with this median, already computed for this frame.
                ctx = self._context()
                assert ctx is not None
                med = ctx[: 3 if self._net.colour else 1]
            else:
                med = window_context(self._window.snapshot(), "median")
            self._med = (
                self._window.version,
                med[0] if med.shape[0] == 1 else med.transpose(1, 2, 0),
            )
        return self._med[1]

    def _context(self) -> np.ndarray | None:
        """The window context for inference, recomputed only when the window moved."""
        from streamseg.segmenters.deepls.context import window_context

        if self._fixed_ctx is not None:
            return self._fixed_ctx
        assert self._window is not None and self._net is not None
        if len(self._window) == 0:
            return None
        if self._ctx is None or self._ctx[0] != self._window.version:
            self._ctx = (
                self._window.version,
                window_context(self._window.snapshot(), self._net.context),
            )
        return self._ctx[1]

    def _prepare(self, image: np.ndarray) -> np.ndarray:
        size = (image.shape[0], image.shape[1])
        if self._engine is not None and self.online and self._loaded_for != size:
            log.info(
                "%s: opened for %dx%d frames, got %dx%d; loading again for them",
                self.name,
                *(self._loaded_for or size)[::-1],
                *size[::-1],
            )
            self.reset()
        if self._engine is None:
            self._start(size)
        assert self._net is not None and self._size is not None
        if self._learner is not None:
            self._learner.check()
        return to_processing(image, self._size, self._net.colour)

    def _ghosts(self, x: np.ndarray, small: np.ndarray) -> np.ndarray | None:
        """Ghost pixels of the processing-size mask ``small`` (None: none, or policy off)."""
        if (
            self.config.ghosts <= 0
            or self.config.uses_memory
            or self._window is None
            or not len(self._window)
        ):
            return None
        from streamseg.segmenters.deepls.ghosts import ghost_blobs

        ghost = ghost_blobs(small, x, self._median(), self.config.ghosts)
        newest = self._window.newest()
        if ghost.any() and newest is not None:
            # Only where the scene is still: a person walking out of his own ghost merges
            # with it into one blob, and his moving pixels must stay foreground. "Still"
            # is a change below ``change_floor``.
            still = np.abs(x - newest) < self.config.change_floor
            ghost &= still if still.ndim == 2 else still.all(axis=2)
        return ghost if ghost.any() else None

    def _outliner(self) -> Outline | None:
        """The full-resolution outline (None: off, or no window to pace it)."""
        if self.config.outline <= 0 or self._window is None or self.config.uses_memory:
            return None
        if self._outline is None:
            assert self._net is not None
            self._outline = Outline(self.config.outline, self.config.change_floor, self._net.colour)
        return self._outline

    def _aligned(self, image: np.ndarray) -> np.ndarray:
        """``image`` aligned to the memory's background when the camera shook (else as given)."""
        c = self.config
        if not c.uses_memory or not c.stabilise:
            return image
        if self._stabiliser is None:
            self._stabiliser = Stabiliser()
        memory = self._memory
        reference = memory.reference() if memory is not None and memory.started else None
        return self._stabiliser.align(image, reference)

    def _segment(self, image: np.ndarray, advance: bool = False) -> _Segmented:
        c = self.config
        frame = self._aligned(image)
        x = self._prepare(frame)
        residual = self._residual(x, advance) if c.fusion != "memory" else None
        if not c.uses_memory:
            if residual is None:
                empty = np.zeros(image.shape[:2], np.uint8)
                return _Segmented(x, empty, None, None, frame, None, None)
            return self._net_only(x, residual, frame)
        if self._memory is None:
            self._memory = PixelMemory(c.memory, seed=c.seed)
        remembered = self._memory.apply(frame)
        # What the memory finds it does not learn, and neither does the window (the network
        # goes on seeing a stopped object): the fusion decides what is shown, not what is kept.
        held = None
        if remembered.any():
            h, w = x.shape[:2]
            held = cv2.resize(remembered, (w, h), interpolation=cv2.INTER_AREA) > 0
        if residual is None and c.fusion != "memory":  # no model yet: nothing is shown
            empty = np.zeros(image.shape[:2], np.uint8)
            return _Segmented(x, empty, None, None, frame, held, remembered)
        score = net_mask = None
        if residual is not None:
            score = residual_score(residual)
            self._last = (x, residual, image.shape)
            if c.fusion in ("and", "or"):
                net_mask = c.mask(score, image.shape[:2])
        if c.fusion == "soft" and score is not None:
            fused = self._soft(score, frame.shape[:2])
        else:
            fused = combine(c.fusion, remembered, net_mask, score, c.mask.floor, c.veto_share)
        mask = self._stabiliser.restore(fused) if self._stabiliser is not None else fused
        return _Segmented(x, mask, residual, None, frame, held, remembered)

    def _soft(self, score: np.ndarray, size: tuple[int, int]) -> np.ndarray:
        """``fusion=soft``: foreground where the geometric mean of the two evidences exceeds 1."""
        assert self._memory is not None
        ratio = self._memory.ratio()
        if ratio is None:
            return np.zeros(size, np.uint8)
        h, w = ratio.shape
        net = (
            cv2.GaussianBlur(score, (0, 0), self.config.mask.blur)
            if self.config.mask.blur
            else score
        )
        net = cv2.resize(net, (w, h), interpolation=cv2.INTER_LINEAR) / self.config.mask.floor
        raw = np.where(ratio * net > 1.0, np.uint8(255), np.uint8(0))
        return self._memory.clean(raw, size)

    def _net_only(self, x: np.ndarray, residual: np.ndarray, image: np.ndarray) -> _Segmented:
        """The network's mask with its own ghost and outline policies (``fusion=net``)."""
        score = residual_score(residual)
        self._last = (x, residual, image.shape)
        mask = self.config.mask(score, image.shape[:2])
        small = None
        # The processing-size mask serves the ghost and hold policies: skip it when both are off.
        if self.config.ghosts > 0 or self.config.hold > 0:
            small = self.config.mask(score)
            ghost = self._ghosts(x, small)
            if ghost is not None:
                small[ghost] = 0
                mask[to_size(ghost, image.shape[:2])] = 0
        outline = self._outliner()
        if outline is not None:
            mask = outline(mask, image)
        return _Segmented(x, mask, residual, small, image, None, None)

    # -- the segmenter interface ------------------------------------------------------------

    def _apply(self, image: np.ndarray, learning_rate: float) -> np.ndarray:
        if learning_rate == 1.0:
            self.reset()
        seg = self._segment(image, advance=True)
        if self._learner is not None:
            self._learner.pause(learning_rate == 0.0)
        if learning_rate != 0.0:
            self._learn_from(seg)
        return seg.mask

    def _predict_one(self, image: np.ndarray) -> np.ndarray:
        return self._segment(image).mask

    def _score_one(self, image: np.ndarray) -> np.ndarray:
        if self.config.uses_memory:
            return self._memory_score(image)
        x = self._prepare(image)
        residual = self._residual(x)
        if residual is None:
            return np.zeros(image.shape[:2], np.float32)
        score = residual_score(residual)
        out = self.config.mask.normalised(score, image.shape[:2])
        ghost = self._ghosts(x, self.config.mask(score)) if self.config.ghosts > 0 else None
        if ghost is not None:
            out[to_size(ghost, image.shape[:2])] = 0.0
        outline = self._outliner()
        changed = outline.changed(image) if outline is not None else None
        if changed is not None:
            out[~changed] = 0.0
        return out

    def _memory_score(self, image: np.ndarray) -> np.ndarray:
        """The memory's evidence, on the mask's side of 0.5 where the mask decided otherwise."""
        seg = self._segment(image)
        memory = self._memory
        evidence = memory.score(seg.mask.shape) if memory is not None else None
        if evidence is None:
            return (seg.mask > 0).astype(np.float32)
        if self._stabiliser is not None and self._stabiliser.shift != (0.0, 0.0):
            evidence = self._stabiliser.restore(evidence)
        inside = seg.mask > 0
        out = np.where(inside, np.maximum(evidence, 0.5), np.minimum(evidence, 0.49))
        return out.astype(np.float32)

    def _learn_one(self, image: np.ndarray) -> None:
        seg = self._segment(image, advance=True)
        if self._learner is not None:
            self._learner.pause(False)
        self._learn_from(seg)

    @property
    def ready(self) -> bool:
        """``True`` once a model segments (the starting model counts)."""
        return self._engine is not None and (self._engine[0] != "onnx" or self._engine[1].ready)

    def background(self) -> np.ndarray | None:
        """The background at the frames' size and in their colours (``uint8``), as OpenCV's
        ``getBackgroundImage``; ``None`` before a frame was segmented.

        With the memory on, the memory's background image (a Σ-Δ median of what it
        learned as background, scaled up if the memory works below the frame's size);
        with ``fusion=net``, the outline's full-resolution Σ-Δ background (a colour copy
        for colour frames), or with the outline off the net's ``L = d − S`` of the last
        frame, upsampled from the processing size.
        """
        last, outline, memory = self._last, self._outline, self._memory
        background = None
        if memory is not None and memory.started:
            background = memory.background()
            shape: tuple[int, ...] = memory.frame_shape
        elif last is not None:
            x, residual, shape = last
            background = outline.background() if outline is not None else None
            if background is None:
                low = np.clip((x - residual) * 255.0, 0, 255).astype(np.uint8)
                background = cv2.resize(low, (shape[1], shape[0]), interpolation=cv2.INTER_LINEAR)
        if background is None:
            return None
        if background.shape[:2] != tuple(shape[:2]):
            size = (shape[1], shape[0])
            background = cv2.resize(background, size, interpolation=cv2.INTER_LINEAR)
        if background.ndim == 3 and len(shape) == 2:
            return cv2.cvtColor(background, cv2.COLOR_BGR2GRAY)
        if background.ndim == 2 and len(shape) == 3:
            return cv2.cvtColor(background, cv2.COLOR_GRAY2BGR)
        return background

    def stats(self) -> dict[str, Any]:
        # Each attribute read once: serve asks for stats from another thread, which may
        # be the moment close() lets go of the learner and the engine.
        closed, learner, engine = self._closed_stats, self._learner, self._engine
        if closed is not None:
            return closed
        if learner is None:
            return {"model_version": 0 if engine is not None else -1}
        return learner.stats.as_dict()

    def save(self, path: str) -> None:
        """Write the online model (or nothing for a frozen one) as a checkpoint, atomically."""
        if self._learner is None or self._net is None or self._size is None:
            return
        from streamseg.segmenters.deepls.checkpoint import Checkpoint, save_checkpoint

        trainer = self._learner.trainer
        state, optimizer, steps = trainer.checkpoint_state()
        meta = {
            "steps": steps,
            "version": self._learner.stats.version,
            "train": dataclasses.asdict(trainer.config),
            "optimizer": optimizer,
        }
        save_checkpoint(
            Checkpoint(dataclasses.asdict(self._net), self._size, self.config.mask, state, meta),
            path,
        )

    def reset(self) -> None:
        """Restart: a frozen model forgets its frame history; an online one starts over."""
        try:
            self._close_learner()
        finally:
            self._forget()

    def _forget(self) -> None:
        self._drop_startup()
        self._history.clear()
        self._seen = 0
        self._last = None
        self._ctx = None
        self._med = None
        self._age = None
        self._outline = None
        self._memory = None
        self._stabiliser = None
        if self._window is not None:
            self._window.clear()
        if self.online:
            self._engine = None
            self._learner = None
            self._window = None

    def _close_learner(self) -> None:
        if self._learner is not None:
            self._learner.close()
            self._lifeline.let_go(self._learner.close)
            try:
                if self.config.save:
                    self.save(self.config.save)  # the last good weights, even if it failed
            finally:
                # A failure after the last frame's check must not end the run as a success.
                self._learner.check(unreported_only=True)

    def _close(self) -> None:
        try:
            self._close_learner()
        finally:
            # A closed segmenter holds no model, optimiser, session or window (a host may
            # keep the object: serve keeps its streams' segmenters); its stats stay.
            self._closed_stats = self.stats()
            self._forget()
            self._engine = self._learner = self._window = None

    @classmethod
    def _unit_test_params(cls) -> dict[str, Any]:
        return {
            "mode": "sync",
            "train_every": 1,
            "window": 6,
            "stride": 1,
            "min_frames": 3,
            "publish_every": 2,
            "net": {"width": 4},
            "start": "random",
            "area": 600,
        }


@register("slnet")
class SLNetSegmenter(DeepLS):
    """SLNet: a tiny net gives the low-rank part of a short stack of frames; S = frame − L."""

    family: ClassVar[str] = "slnet"
    # Its shipped starting model finds next to nothing until it has trained on the
    # stream (README, Methods): a demo's 300 frames show F 0.
    experimental: ClassVar[bool] = True

    @dataclass(frozen=True)
    class Config(DeepLS.Config):
        """Parameters of :class:`SLNetSegmenter`: those of :class:`DeepLS`, SLNet's net."""

        net: ModelConfig = field(
            default_factory=lambda: ModelConfig(family="slnet", context="none")
        )

        def __post_init__(self) -> None:
            super().__post_init__()
            check_stack(self.min_frames, self.net)

    @classmethod
    def _unit_test_params(cls) -> dict[str, Any]:
        return {**super()._unit_test_params(), "net": {"family": "slnet", "width": 4, "stack": 3}}
