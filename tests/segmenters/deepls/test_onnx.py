from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
import torch

from streamseg.errors import ModelError
from streamseg.segmenters.deepls.config import ModelConfig
from streamseg.segmenters.deepls.model import build_model
from streamseg.segmenters.deepls.onnx import (
    OnnxRunner,
    export_bytes,
    export_onnx,
    read_metadata,
    select_providers,
)
from streamseg.segmenters.masking import MaskRule


@pytest.fixture(scope="module")
def trained():
    from streamseg.segmenters.deepls.checkpoint import load_checkpoint
    from streamseg.segmenters.deepls.testing import tiny_checkpoint

    ckpt = load_checkpoint(tiny_checkpoint("unet"))
    net = ModelConfig(**ckpt.model)
    model = build_model(net)
    model.load_state_dict(ckpt.state)
    return model.eval(), net


@pytest.mark.parametrize(("h", "w"), [(24, 32), (61, 83), (120, 160)])
def test_onnx_equals_torch(trained, h, w):
    model, net = trained
    runner = OnnxRunner(threads=1)
    runner.load(export_bytes(model, net, (24, 32), MaskRule()))
    x = np.random.default_rng(0).random((1, net.in_channels, h, w), dtype=np.float32)
    with torch.no_grad():
        expected = model(torch.from_numpy(x)).numpy()
    got, version = runner.run(x)
    assert version == 0 and got.shape == expected.shape
    assert np.abs(got - expected).max() < 1e-4


def test_io_binding_path(trained):
    model, net = trained
    runner = OnnxRunner(threads=1, io_binding=True)
    runner.load(export_bytes(model, net, (24, 32), MaskRule()))
    x = np.random.default_rng(1).random((1, net.in_channels, 24, 32), dtype=np.float32)
    with torch.no_grad():
        assert np.abs(runner.run(x)[0] - model(torch.from_numpy(x)).numpy()).max() < 1e-4


def test_metadata_describes_the_model(trained, tmp_path: Path):
    model, net = trained
    path = export_onnx(model, net, (24, 32), MaskRule(k=6), tmp_path / "m.onnx", {"version": 3})
    meta = read_metadata(path.read_bytes())
    assert meta["family"] == "unet" and meta["size"] == [24, 32] and meta["mask"]["k"] == 6
    assert ModelConfig(**meta["model"]) == net and meta["version"] == 3
    assert "divided by 255" in meta["input"]
    import onnx

    proto = onnx.load(str(path))
    onnx.checker.check_model(proto)
    assert proto.opset_import[0].version >= 17
    dims = proto.graph.input[0].type.tensor_type.shape.dim
    assert dims[2].dim_param == "height" and dims[3].dim_param == "width"


def test_fixed_size_export_equals_dynamic(trained):
    # In-process sessions run one size: a fixed-size graph lets ONNX Runtime fold the
    # shape arithmetic; the output must not change.
    import onnx

    model, net = trained
    fixed = export_bytes(model, net, (24, 32), MaskRule(), dynamic=False)
    dims = onnx.load_from_string(fixed).graph.input[0].type.tensor_type.shape.dim
    assert [d.dim_value for d in dims] == [1, net.in_channels, 24, 32]
    x = np.random.default_rng(5).random((1, net.in_channels, 24, 32), dtype=np.float32)
    outs = []
    for data in (fixed, export_bytes(model, net, (24, 32), MaskRule())):
        runner = OnnxRunner()
        runner.load(data)
        outs.append(runner.run(x)[0])
    np.testing.assert_allclose(outs[0], outs[1], atol=1e-5)


def test_slnet_exports(tmp_path: Path):
    net = ModelConfig(family="slnet", width=4, stack=3)
    model = build_model(net).eval()
    runner = OnnxRunner()
    runner.load(export_bytes(model, net, (20, 24), MaskRule()))
    x = np.random.default_rng(2).random((1, 3, 20, 24), dtype=np.float32)
    with torch.no_grad():
        assert np.abs(runner.run(x)[0] - model(torch.from_numpy(x)).numpy()).max() < 1e-4


def test_providers_fall_back_to_cpu():
    assert select_providers(["CUDAExecutionProvider"])[-1] == "CPUExecutionProvider"
    assert select_providers()[-1] == "CPUExecutionProvider"


@pytest.mark.parametrize("data", [b"", b"not onnx at all", b"\x08\x07" * 100])
def test_bad_bytes(data):
    with pytest.raises(ModelError):
        read_metadata(data, "x.onnx")
    with pytest.raises(ModelError, match="ONNX Runtime cannot load it"):
        OnnxRunner().build(data, "x.onnx")


def test_foreign_onnx_without_metadata(trained, tmp_path: Path):
    import onnx

    model, net = trained
    proto = onnx.load_from_string(export_bytes(model, net, (24, 32), MaskRule()))
    del proto.metadata_props[:]
    with pytest.raises(ModelError, match="without streamseg metadata"):
        read_metadata(proto.SerializeToString())


def test_swap_under_concurrent_runs(trained):
    model, net = trained
    runner = OnnxRunner(threads=1)
    data = export_bytes(model, net, (24, 32), MaskRule())
    runner.load(data, version=0)
    x = np.random.default_rng(3).random((1, net.in_channels, 24, 32), dtype=np.float32)
    errors: list[BaseException] = []
    seen: list[list[int]] = [[] for _ in range(3)]
    stop = threading.Event()

    def worker(i: int) -> None:
        try:
            while not stop.is_set():
                out, version = runner.run(x)
                assert out.shape == (1, 1, 24, 32)
                seen[i].append(version)
        except BaseException as err:
            errors.append(err)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(3)]
    for t in threads:
        t.start()
    for version in range(1, 15):
        runner.swap(runner.build(data), version)
    stop.set()
    for t in threads:
        t.join(timeout=30)
    assert not errors
    assert all(v == sorted(v) for v in seen)  # each thread sees versions only increase
    assert runner.version == 14


def test_onnx_inference_does_not_import_torch(trained, tmp_path: Path):
    model, net = trained
    path = export_onnx(model, net, (24, 32), MaskRule(), tmp_path / "m.onnx")
    code = f"""
import sys, numpy as np, streamseg as ss
seg = ss.create("deepls", weights={str(path)!r})
mask = seg.apply(np.zeros((48, 64, 3), np.uint8))
print(mask.shape, "torch" in sys.modules)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split()[-1] == "False"


def test_array_metadata_round_trips_as_float16(trained):
    model, net = trained
    context = np.random.default_rng(4).random((2, 24, 32)).astype(np.float32)
    meta = read_metadata(export_bytes(model, net, (24, 32), MaskRule(), {"context": context}))
    assert meta["context"].shape == (2, 24, 32)
    assert np.abs(meta["context"] - context).max() < 1e-3


@pytest.mark.parametrize(
    "net",
    [
        ModelConfig(width=4),  # BatchNorm, window context: the online default
        ModelConfig(width=4, norm="none", context="none"),
        ModelConfig(family="slnet", width=4, context="none"),
    ],
    ids=["unet-batch", "unet-plain", "slnet"],
)
def test_template_matches_every_weight_and_refills_exactly(net):
    """Online publishes refill the exported graph; a fallback to full export holds the GIL."""
    from streamseg.segmenters.deepls.onnx import OnnxTemplate

    model = build_model(net).eval()
    template = OnnxTemplate(model, net, (24, 32), MaskRule())
    assert template.complete
    torch.manual_seed(3)
    with torch.no_grad():
        for tensor in model.state_dict().values():
            if tensor.dtype.is_floating_point:  # new weights, and positive variances
                tensor.mul_(1 + 0.2 * torch.rand_like(tensor)).add_(0.01)
    runner = OnnxRunner(threads=1)
    runner.load(template.fill(model, {"version": 7}), 7)
    x = torch.rand(1, net.in_channels, 24, 32)
    with torch.no_grad():
        expected = model(x).numpy()
    assert np.abs(runner.run(x.numpy())[0] - expected).max() < 1e-4


def test_two_cameras_start_deepls_in_two_threads_at_once():
    # Each segmenter exports its ONNX template when it starts; torch's exporter keeps
    # process-wide state, so two at once used to trip its assertions.
    import streamseg as ss

    errors: list[BaseException] = []
    barrier = threading.Barrier(2)

    def camera(seed: int) -> None:
        try:
            frame = np.random.default_rng(seed).integers(0, 255, (48, 64, 3), dtype=np.uint8)
            with ss.create("deepls", mode="sync", area=768) as seg:
                barrier.wait(timeout=30)
                for _ in range(3):
                    seg.apply(frame)
        except BaseException as err:  # noqa: BLE001 - reported on the test's thread
            errors.append(err)

    threads = [threading.Thread(target=camera, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors


def test_refilling_the_template_does_not_grow_the_process():
    """Each online publish refills the template: a day of swaps must not keep a model each.

    Protobuf's arenas keep every value written into a message until it dies, so writing
    the weights into one long-lived message grew the process by a model per swap.
    """
    import gc

    import psutil

    from streamseg.segmenters.deepls.onnx import OnnxTemplate

    net = ModelConfig()  # the shipped width: about half a megabyte of weights
    model = build_model(net).eval()
    template = OnnxTemplate(model, net, (60, 80), MaskRule())
    process = psutil.Process()
    for _ in range(5):
        template.fill(model, {"version": 1})
    gc.collect()
    before = process.memory_info().rss
    for version in range(60):
        template.fill(model, {"version": version})
    gc.collect()
    assert process.memory_info().rss - before < 8 * 2**20  # 60 models would be ~29 MB
