"""DeepLS checkpoints: weights plus everything needed to rebuild and use the model.

A checkpoint is a ``torch.save`` of plain data (loaded with ``weights_only=True``,
so opening a file never runs code): the format tag, the :class:`ModelConfig`,
the processing size, the mask rule, the training settings and history, and the
state dict. It is written to a temporary file and renamed, so an interrupted
save never leaves a half-written checkpoint under the final name.
"""

from __future__ import annotations

import dataclasses
import io
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from streamseg.errors import ConfigError, ModelError
from streamseg.fileio import atomic_write
from streamseg.params import build
from streamseg.segmenters.masking import MaskRule

if TYPE_CHECKING:
    import numpy as np

__all__ = ["Checkpoint", "save_checkpoint", "load_checkpoint", "FORMAT"]

log = logging.getLogger(__name__)

FORMAT = "streamseg.deepls"
VERSION = 1


@dataclass
class Checkpoint:
    """A trained DeepLS model and how to use it.

    Attributes:
        model: the architecture (a ``ModelConfig`` as a dict, to keep torch out of this module).
        size: processing size ``(h, w)`` the model was trained at.
        mask: the mask rule.
        state: the state dict (tensors).
        meta: training settings, history, source, version of the online model, ...
    """

    model: dict[str, Any]
    size: tuple[int, int]
    mask: MaskRule
    state: dict[str, Any]
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def context(self) -> np.ndarray | None:
        """The fixed window context (``(k·C, h, w)`` float32 numpy) a two-pass model was
        trained against, to segment and calibrate against the same; None for online models.
        """
        import numpy as np

        stored = self.meta.get("context")
        return None if stored is None else np.asarray(stored, np.float32)


def save_checkpoint(ckpt: Checkpoint, path: str | Path) -> Path:
    """Write ``ckpt`` atomically (temporary file + rename)."""
    import torch

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "format": FORMAT,
        "version": VERSION,
        "model": dict(ckpt.model),
        "size": list(ckpt.size),
        "mask": dataclasses.asdict(ckpt.mask),
        "state": ckpt.state,
        "meta": ckpt.meta,
    }
    buffer = io.BytesIO()  # a few MB: serialised first, then written in one piece
    torch.save(payload, buffer)
    atomic_write(path, buffer.getvalue(), ModelError, "checkpoint")
    return path


def load_checkpoint(path: str | Path) -> Checkpoint:
    """Read a checkpoint written by :func:`save_checkpoint`.

    Raises:
        ModelError: missing, truncated, foreign or incompatible file (one line, no traceback).
    """
    import torch

    path = Path(path)
    if not path.exists():
        raise ModelError(f"{path}: no such model file")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # torch raises many types for a bad zip/pickle
        log.debug("torch.load(%s) failed: %r", path, err)
        raise ModelError(
            f"{path}: not a readable streamseg checkpoint (truncated, corrupt or not a torch file)"
        ) from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise ModelError(f"{path}: not a streamseg DeepLS checkpoint")
    if payload.get("version") != VERSION:
        raise ModelError(
            f"{path}: checkpoint version {payload.get('version')} is not supported "
            f"(this streamseg reads version {VERSION})"
        )
    try:
        mask = build(MaskRule, payload["mask"])
        size = tuple(int(v) for v in payload["size"])
        return Checkpoint(
            dict(payload["model"]),
            (size[0], size[1]),
            mask,
            dict(payload["state"]),
            dict(payload.get("meta", {})),
        )
    except (KeyError, TypeError, ValueError, ConfigError) as err:
        raise ModelError(f"{path}: incomplete checkpoint ({err})") from None
