from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from streamseg.errors import ConfigError
from streamseg.registry import method_config
from streamseg.segmenters.deepls.checkpoint import load_checkpoint, save_checkpoint
from streamseg.segmenters.deepls.twopass import check_clip_training, train_clip

CLIP = "synthetic:frames=24,size=64x48"


def tiny(method: str = "deepls", **train: int) -> Any:
    net = {"width": 4, **({"stack": 3} if method == "slnet" else {})}
    return method_config(method, {"net": net, "train": {"steps": 3, "frames": 8, **train}})


def test_a_clip_trains_into_a_checkpoint_that_keeps_its_context_and_source(tmp_path):
    net = {"width": 4, "context": "median_mad"}
    cfg = method_config("deepls", {"net": net, "train": {"steps": 3, "frames": 8}})
    opened, steps = [], []
    trained = train_clip(
        CLIP, cfg, on_open=opened.append, on_step=lambda step, loss: steps.append(step)
    )
    assert len(opened) == 1 and steps == [0, 1, 2] and not trained.stopped
    assert trained.report.rpca_ratio is not None and trained.report.rpca_ratio > 0
    assert trained.size == (48, 64) and trained.checkpoint.size == (48, 64)
    meta = trained.checkpoint.meta
    assert meta["source"] == CLIP and meta["steps"] == 3 and len(meta["frames"]) == trained.frames
    path = save_checkpoint(trained.checkpoint, tmp_path / "m.pt")
    context = load_checkpoint(path).context
    assert context is not None and context.shape == (2, 48, 64)


def test_a_stop_ends_training_early_and_skips_the_rpca_comparison():
    trained = train_clip(CLIP, tiny(steps=50), should_stop=lambda: True)
    assert trained.stopped and trained.report.steps == 0
    assert trained.report.objective_rpca is None


def test_what_cannot_make_a_batch_is_refused():
    with pytest.raises(ConfigError, match=r"train.frames must be >= net.stack \(3\)"):
        check_clip_training(tiny("slnet", frames=2))
    with pytest.raises(ConfigError, match="1 frame\\(s\\); training deepls needs at least 2"):
        train_clip("synthetic:frames=1,size=64x48", tiny(), rpca=False)


def test_decoding_stops_at_max_frames():
    decoded: list[int] = []
    trained = train_clip(CLIP, tiny(), max_frames=10, rpca=False, on_frame=decoded.append)
    assert decoded == list(range(10))
    assert max(trained.checkpoint.meta["frames"]) < 10
    assert np.isfinite(trained.loss)
