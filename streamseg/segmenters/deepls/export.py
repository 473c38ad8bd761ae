"""A trained checkpoint as a self-describing ONNX file, float32 or int8.

:func:`export_model` is what ``streamseg export`` and the tools do: load the
checkpoint, rebuild its model, and write ONNX bytes whose metadata say what the
checkpoint knows (family, processing size, mask rule, the clip it was trained on, a
two-pass model's fixed context). With ``int8`` the convolutions are quantized,
calibrated on frames of a clip: the one given, else the one the model was trained on.

:func:`prepare_export` is the same in two steps, for a caller that checks the output
against the resolved inputs before anything is written: everything that can fail on
the inputs (loading, calibrating) happens there, :meth:`Export.write` only writes.

Example:
    >>> import tempfile
    >>> from pathlib import Path
    >>> from streamseg.segmenters.deepls.export import export_model
    >>> from streamseg.segmenters.deepls.testing import tiny_checkpoint
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = export_model(tiny_checkpoint("unet"), Path(tmp) / "m.onnx")
    ...     path.stat().st_size > 0
    True
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from streamseg.errors import ConfigError, StreamsegError

if TYPE_CHECKING:
    import numpy as np

    from streamseg.segmenters.deepls.checkpoint import Checkpoint
    from streamseg.segmenters.deepls.config import ModelConfig

__all__ = ["Export", "export_model", "prepare_export"]


@dataclass(frozen=True)
class Export:
    """A checkpoint loaded for export (and calibrated, for int8); :meth:`write` writes it.

    Attributes:
        checkpoint: the loaded checkpoint.
        net: its architecture.
        model: its torch model.
        calibration: the int8 calibration inputs; ``None``: float32.
        calibrated_on: the clip they came from.
    """

    checkpoint: Checkpoint
    net: ModelConfig
    model: Any
    calibration: list[np.ndarray] | None = None
    calibrated_on: str | None = None

    @property
    def size(self) -> tuple[int, int]:
        """Processing size ``(h, w)``."""
        return self.checkpoint.size

    def write(self, out: str | Path) -> Path:
        """Write the ONNX file ``out`` (atomically; opset 17, checked by ``onnx.checker``).

        Raises:
            SinkError: ``out``'s folder cannot be created or written.
            ModelError: the file cannot be written.
        """
        from streamseg.fileio import ensure_writable_dir
        from streamseg.segmenters.deepls.onnx import checkpoint_bytes, write_onnx

        ensure_writable_dir(Path(out).resolve().parent)
        data = checkpoint_bytes(self.checkpoint, self.net, self.model)
        if self.calibration is not None:
            from streamseg.segmenters.deepls.quantize import quantize_int8

            data = quantize_int8(data, self.calibration, self.calibrated_on or "")
        return write_onnx(data, out)


def prepare_export(
    checkpoint: str | Path,
    *,
    int8: bool = False,
    calibrate: str | Path | None = None,
    calibrate_hint: str = "pass calibrate=SOURCE",
) -> Export:
    """Load ``checkpoint`` for export; with ``int8``, measure its calibration inputs.

    Args:
        checkpoint: a ``.pt`` file (``streamseg train``, an online model's ``save``).
        int8: quantize the convolutions to int8.
        calibrate: the clip to calibrate int8 on (frames of the camera the model will
            watch, spread over its first 3000); default: the clip the model was trained on.
        calibrate_hint: how the caller names ``calibrate``, for the error messages.

    Raises:
        ModelError: not a readable checkpoint.
        ConfigError: ``calibrate`` without ``int8``; int8 without a clip to calibrate
            on, or the trained-on clip cannot be read.
        StreamsegError: the given calibration clip cannot be read (its own error).
    """
    from streamseg.segmenters.deepls.checkpoint import load_checkpoint
    from streamseg.segmenters.deepls.model import model_from_checkpoint

    if calibrate is not None and not int8:
        raise ConfigError("calibrate only applies with int8")
    ckpt = load_checkpoint(checkpoint)
    net, model = model_from_checkpoint(ckpt, str(checkpoint))
    if not int8:
        return Export(ckpt, net, model)
    # The calibration here, not in write(): a bad clip fails before anything is written
    # and before the export's seconds of tracing.
    from streamseg.segmenters.deepls.quantize import calibrate_on

    clip = str(calibrate or ckpt.meta.get("source") or "") or None
    if clip is None:
        raise ConfigError(
            f"{checkpoint} does not say which clip it was trained on: "
            f"{calibrate_hint} (frames of the camera it will watch)"
        )
    try:
        inputs = calibrate_on(clip, net, ckpt.size, ckpt.context)
    except StreamsegError as err:
        if calibrate is not None:
            raise
        raise ConfigError(
            f"the clip {checkpoint} was trained on, {err} ({calibrate_hint})"
        ) from None
    return Export(ckpt, net, model, inputs, clip)


def export_model(
    checkpoint: str | Path,
    out: str | Path,
    *,
    int8: bool = False,
    calibrate: str | Path | None = None,
) -> Path:
    """Export ``checkpoint`` to the ONNX file ``out``; see :func:`prepare_export`.

    Returns:
        ``out`` as a path.
    """
    return prepare_export(checkpoint, int8=int8, calibrate=calibrate).write(out)
