from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import streamseg as ss
from streamseg.errors import ConfigError, ModelError
from streamseg.segmenters.deepls.testing import tiny_checkpoint
from streamseg.sources.synthetic import SyntheticScene


def test_onnx_and_torch_backends_agree():
    scene = SyntheticScene(width=64, height=48, frames=10, seed=1)
    path = str(tiny_checkpoint("unet"))
    with (
        ss.create("deepls", weights=path) as onnx,
        ss.create("deepls", weights=path, backend="torch") as eager,
    ):
        total = same = 0
        for t in range(10):
            image = scene.render(t)[0]
            a, b = onnx.apply(image), eager.apply(image)
            total += a.size
            same += int((a == b).sum())
            sa, sb = onnx.score_one(image), eager.score_one(image)
            assert np.abs(sa - sb).max() < 1e-3
    assert same / total >= 0.999


def test_background_is_frame_minus_sparse():
    scene = SyntheticScene(width=64, height=48, frames=3, seed=1)
    with ss.create("deepls", weights=str(tiny_checkpoint("unet"))) as seg:
        assert seg.background() is None
        seg.apply(scene.render(0)[0])
        assert seg.background().shape == (48, 64)


def test_needs_weights_and_the_right_family(tmp_path: Path):
    with pytest.raises(ConfigError, match="streamseg train"):
        ss.create("deepls")
    seg = ss.create("slnet", weights=str(tiny_checkpoint("unet")))
    with pytest.raises(ConfigError, match="use the deepls method"):
        seg.apply(np.zeros((48, 64, 3), np.uint8))


def test_bad_model_file(tmp_path: Path):
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"nope")
    seg = ss.create("deepls", weights=str(bad))
    with pytest.raises(ModelError, match="not a readable ONNX file"):
        seg.apply(np.zeros((48, 64, 3), np.uint8))
