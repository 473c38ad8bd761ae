"""Small trained models for tests and the contract suite (seconds to make, cached per process)."""

from __future__ import annotations

import functools
import tempfile
from pathlib import Path

import numpy as np

__all__ = ["tiny_checkpoint"]


@functools.cache
def tiny_checkpoint(family: str = "unet") -> Path:
    """A DeepLS (or SLNet) model trained for 30 steps on a 64×48 synthetic scene."""
    from streamseg.segmenters.deepls.checkpoint import Checkpoint, save_checkpoint
    from streamseg.segmenters.deepls.config import ModelConfig, TrainConfig
    from streamseg.segmenters.deepls.train import train_frames
    from streamseg.segmenters.masking import MaskRule
    from streamseg.segmenters.preprocess import to_processing
    from streamseg.sources.synthetic import SyntheticScene

    scene = SyntheticScene(width=64, height=48, frames=24, seed=0)
    frames = np.stack([to_processing(scene.render(t)[0], (24, 32), False) for t in range(24)])
    net = ModelConfig(family=family, width=4, depth=2 if family == "unet" else 2)  # type: ignore[arg-type]
    trainer, _ = train_frames(frames, net, TrainConfig(frames=8, steps=30))
    path = Path(tempfile.mkdtemp(prefix="streamseg-tiny-")) / f"tiny_{family}.pt"
    import dataclasses

    save_checkpoint(
        Checkpoint(
            dataclasses.asdict(net), (24, 32), MaskRule(), trainer.eval_model().state_dict()
        ),
        path,
    )
    return path
