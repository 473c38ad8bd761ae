from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import streamseg as ss
from streamseg.errors import ConfigError, ModelError
from streamseg.segmenters.deepls.config import ModelConfig
from streamseg.segmenters.deepls.onnx import export_bytes, read_metadata
from streamseg.segmenters.deepls.quantize import calibration_inputs, quantize_int8

SCENE = "synthetic:frames=160,size=160x120,seed=3"


@pytest.fixture(scope="module")
def builtin():
    from streamseg.models import builtin_checkpoint
    from streamseg.segmenters.deepls.checkpoint import load_checkpoint
    from streamseg.segmenters.deepls.model import model_from_checkpoint

    ckpt = load_checkpoint(builtin_checkpoint("unet"))
    net, model = model_from_checkpoint(ckpt, "builtin")
    return ckpt, net, export_bytes(model.eval(), net, ckpt.size, ckpt.mask)


def _masks(weights: Path) -> list[np.ndarray]:
    # The network's own masks: the memory around it is the same for both models.
    with (
        ss.open_source(SCENE) as src,
        ss.create("deepls", weights=str(weights), fusion="net") as seg,
    ):
        return [seg.apply(frame.image) for frame in src]


def test_an_int8_model_segments_like_the_float_one(builtin, tmp_path: Path):
    import onnx

    ckpt, net, data = builtin
    with ss.open_source(SCENE) as src:
        inputs = calibration_inputs(src, net, ckpt.size, total=src.info.frame_count)
    int8 = quantize_int8(data, inputs, "the test scene")
    (tmp_path / "f32.onnx").write_bytes(data)
    (tmp_path / "int8.onnx").write_bytes(int8)

    meta = read_metadata(int8)
    assert meta["model"] == read_metadata(data)["model"] and meta["size"] == list(ckpt.size)
    assert meta["quantized"].startswith("int8") and "the test scene" in meta["quantized"]
    graph = onnx.load_from_string(int8).graph
    assert sum(node.op_type == "QuantizeLinear" for node in graph.node) > 5
    convs = [node for node in graph.node if node.op_type == "Conv"]
    weights = {init.name: init for init in graph.initializer}
    # The head's weights stay float: its output is what the mask thresholds.
    assert weights[convs[-1].input[1]].data_type == onnx.TensorProto.FLOAT

    ref, got = _masks(tmp_path / "f32.onnx"), _masks(tmp_path / "int8.onnx")
    both = sum(int(((a > 0) & (b > 0)).sum()) for a, b in zip(ref, got, strict=True))
    either = sum(int(((a > 0) | (b > 0)).sum()) for a, b in zip(ref, got, strict=True))
    assert either > 1000 and both / either > 0.9

    # float16 would turn the quantization scales to float16 too, which ORT rejects.
    with pytest.raises(ConfigError, match="int8 model; half=true"):
        with ss.create("deepls", weights=str(tmp_path / "int8.onnx"), half=True) as seg:
            seg.apply(np.zeros((120, 160, 3), np.uint8))


def test_each_frame_sees_the_window_before_it_enters_it(builtin):
    # As the segmenter: the context is that of the frames before, never of the frame itself.
    ckpt, net, _ = builtin
    frames = [np.full((120, 160), v, np.uint8) for v in range(0, 200, 2)]
    for x in calibration_inputs(frames, net, ckpt.size):
        assert x[0, 1].max() < x[0, 0].min()


def test_calibration_spreads_over_the_clip(builtin):
    ckpt, net, _ = builtin
    frames = [np.full((120, 160), v, np.uint8) for v in range(200)]
    inputs = calibration_inputs(frames, net, ckpt.size, count=5)
    levels = [round(float(x[0, 0].mean()) * 255) for x in inputs]
    assert len(inputs) == 5 and levels[0] < 40 and levels[-1] > 190
    assert inputs[0].shape == (1, net.in_channels, *ckpt.size)


def test_a_two_pass_model_calibrates_against_its_own_context(builtin):
    ckpt, net, _ = builtin
    context = np.full((2, *ckpt.size), 0.25, np.float32)
    frames = [np.zeros((120, 160), np.uint8)] * 3
    inputs = calibration_inputs(frames, net, ckpt.size, context)
    assert len(inputs) == 1 and np.all(inputs[0][0, 1:] == 0.25)


def test_what_cannot_be_quantized_says_why(builtin):
    ckpt, net, _ = builtin
    with pytest.raises(ConfigError, match="clip.mp4: too short .* at least 30 frames"):
        calibration_inputs([np.zeros((120, 160), np.uint8)] * 29, net, ckpt.size, origin="clip.mp4")
    assert len(calibration_inputs([np.zeros((120, 160), np.uint8)] * 30, net, ckpt.size)) == 1
    with pytest.raises(ModelError, match="not slnet"):
        calibration_inputs([], ModelConfig(family="slnet", context="none"), ckpt.size)
