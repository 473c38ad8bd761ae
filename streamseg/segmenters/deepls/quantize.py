"""Int8 quantization of a frozen DeepLS model for CPUs (ONNX Runtime's static QDQ).

A frozen model segments every frame of every camera; on a CPU its convolutions are
most of the per-frame cost. Static quantization stores the weights as int8 (one
scale per output channel) and runs the convolutions on int8 activations whose
ranges were measured beforehand on *calibration* inputs: frames like those the
model will see, each with the window context it would see beside it. ONNX Runtime
then uses the CPU's int8 dot products (AVX-512 VNNI / AVX-VNNI where present).

The calibration clip matters: ranges measured on one scene clip activations of a
brighter or busier one. Calibrate on footage of the camera the model will watch
(``streamseg export --int8 --calibrate SOURCE``), as the model was trained on it.

Example:
    >>> from streamseg.segmenters.deepls.quantize import calibration_inputs
    >>> from streamseg.segmenters.deepls.config import ModelConfig
    >>> from streamseg.sources import open_source
    >>> with open_source("synthetic:frames=120,size=160x120") as src:
    ...     inputs = calibration_inputs(src, ModelConfig(), (60, 80), count=8)
    >>> len(inputs), inputs[0].shape
    (8, (1, 3, 60, 80))
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from streamseg.errors import ConfigError, ModelError
from streamseg.segmenters.deepls.config import ModelConfig
from streamseg.segmenters.deepls.context import net_input, window_context
from streamseg.segmenters.preprocess import to_processing
from streamseg.window import FrameWindow

__all__ = ["calibration_inputs", "calibrate_on", "quantize_int8"]

log = logging.getLogger(__name__)


def calibration_inputs(
    frames: Iterable[Any],
    net: ModelConfig,
    size: tuple[int, int],
    context: np.ndarray | None = None,
    *,
    count: int = 64,
    total: int | None = None,
    max_frames: int = 3000,
    window: int | None = None,
    stride: int | None = None,
    origin: str = "the calibration clip",
) -> list[np.ndarray]:
    """Network inputs ``1×C×h×w`` as the frozen segmenter builds them, from a clip.

    Args:
        frames: ``uint8`` images or :class:`~streamseg.frame.Frame` objects (a source).
        net: the model's architecture (colour, context).
        size: its processing size ``(h, w)``.
        context: the fixed window context of a two-pass model (``None``: the context of
            a sliding window over ``frames``, as the segmenter keeps one: the frame is
            segmented against the window *before* it enters it).
        count: inputs to return, spread evenly over the frames read: the activations'
            ranges must cover the whole clip, not only its first seconds (where the
            people of a scene may stand still).
        total: frames in the clip when known (a file), to spread over all of them.
        max_frames: frames read at most (two minutes at 25 fps; a camera never ends).
        window: frames in the sliding window (default: the ``deepls`` segmenter's).
        stride: keep every ``stride``-th frame in it (default: the segmenter's).
        origin: the clip's name for error messages.

    Raises:
        ModelError: an SLNet model (its input is a stack of frames: not supported).
        ConfigError: a clip too short to give one input.
    """
    from streamseg.segmenters.deepls.segmenter import DeepLS

    if net.family != "unet":
        raise ModelError("int8 quantization supports the deepls U-Net only, not slnet")
    defaults = DeepLS.Config()
    window = window or defaults.window
    stride = stride or defaults.stride
    ring = FrameWindow(window, stride)
    # A sliding context of one or two frames is not what the model will see: wait for a
    # quarter of the window.
    need = max(2, window // 4) if context is None and net.context_channels else 0
    read = min(total, max_frames) if total else max_frames
    # Candidates every `step` frames: one more than the window's stride, so the frame's
    # age against the window's newest frame goes through every phase; sparser over a
    # long clip of known length (the inputs are kept until the end).
    step = max(stride + 1, read // (2 * count)) if total else stride + 1
    out: list[np.ndarray] = []
    eligible = 0
    for i, item in enumerate(frames):
        if i == read:
            break
        image = getattr(item, "image", item)
        x = to_processing(image, size, net.colour)
        if len(ring) >= need:
            if eligible % step == 0:
                ctx = context
                if ctx is None and net.context_channels:
                    ctx = window_context(ring.snapshot(), net.context)
                out.append(net_input(x, ctx))
            eligible += 1
        ring.push(x)
    if not out:
        least = (need - 1) * stride + 2 if need else 1
        raise ConfigError(f"{origin}: too short to calibrate on: it needs at least {least} frames")
    keep = np.unique(np.linspace(0, len(out) - 1, min(count, len(out))).round().astype(int))
    log.info("calibrating on %d inputs from %d frames of %s", len(keep), eligible, origin)
    if len(keep) < count // 4:
        log.warning(
            "%s: only %d calibration frames; int8 ranges measured on so few may clip what "
            "the camera shows later: calibrate on a longer clip",
            origin,
            len(keep),
        )
    return [out[i] for i in keep]


def calibrate_on(
    uri: str | Path, net: ModelConfig, size: tuple[int, int], context: np.ndarray | None = None
) -> list[np.ndarray]:
    """:func:`calibration_inputs` from the source ``uri`` names, spread over its length.

    Raises:
        StreamsegError: the source cannot be read (its own error), or it is too short.
    """
    from streamseg.sources import open_source

    with open_source(uri) as src:
        return calibration_inputs(
            src, net, size, context, total=src.info.frame_count, origin=str(uri)
        )


def quantize_int8(data: bytes, inputs: list[np.ndarray], note: str = "") -> bytes:
    """Static int8 quantization (QDQ, per-channel weights) of streamseg ONNX bytes.

    Args:
        data: a float32 model from :func:`~streamseg.segmenters.deepls.onnx.export_bytes`.
        inputs: calibration inputs (:func:`calibration_inputs`).
        note: where the calibration came from, stored in the metadata.

    Returns:
        ONNX bytes with the same input, output and streamseg metadata, plus
        ``streamseg.quantized``.
    """
    import onnx

    from streamseg.segmenters.deepls.onnx import import_onnxruntime

    import_onnxruntime()  # a clear error when it is missing
    from onnxruntime.quantization import (
        CalibrationDataReader,
        QuantFormat,
        QuantType,
        quantize_static,
    )
    from onnxruntime.quantization.shape_inference import quant_pre_process

    proto = onnx.load_from_string(data)
    name = proto.graph.input[0].name

    class _Reader(CalibrationDataReader):  # type: ignore[misc]  # ORT ships no stubs
        def __init__(self) -> None:
            self._it = iter(inputs)

        def get_next(self) -> dict[str, np.ndarray] | None:
            x = next(self._it, None)
            return None if x is None else {name: x}

    with tempfile.TemporaryDirectory(prefix="streamseg-int8-") as tmp:
        src, pre, dst = (Path(tmp) / f for f in ("model.onnx", "pre.onnx", "int8.onnx"))
        src.write_bytes(data)
        # Shape inference and graph fusions first (ORT's recommended pre-processing):
        # BatchNorm folded into the convolutions is then quantized with them.
        # Its symbolic shape inference warns that the padding arithmetic of the dynamic
        # height and width cannot be proved; it is right and harmless (ORT resolves the
        # shapes when a session runs), so the warnings are kept from users.
        shapes = logging.getLogger("onnxruntime.tools.symbolic_shape_infer")
        level = shapes.level
        shapes.setLevel(logging.ERROR)
        try:
            quant_pre_process(str(src), str(pre))
        finally:
            shapes.setLevel(level)
        # The head stays float32: its output S is thresholded a few grey levels above
        # zero, where an int8 step (range/255) is a sizeable part of the threshold; a
        # 1×1 convolution costs little in float.
        convs = [node.name for node in onnx.load(str(pre)).graph.node if node.op_type == "Conv"]
        quantize_static(
            str(pre),
            str(dst),
            _Reader(),
            quant_format=QuantFormat.QDQ,
            per_channel=True,
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
            nodes_to_exclude=convs[-1:],  # the last Conv is the head
        )
        out = onnx.load(str(dst))
    del out.metadata_props[:]
    for prop in proto.metadata_props:
        out.metadata_props.add().CopyFrom(prop)
    entry = out.metadata_props.add()
    entry.key = "streamseg.quantized"
    entry.value = f"int8 QDQ, per-channel weights, calibrated on {len(inputs)} inputs" + (
        f" of {note}" if note else ""
    )
    onnx.checker.check_model(out)
    log.info("quantized to int8 (%s)", entry.value)
    return out.SerializeToString()
