"""A stack's run end to end: TIFF in, TIFF stacks out with bit depth and calibration."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest

pytest.importorskip("tifffile")

from streamseg.errors import ConfigError, SinkError  # noqa: E402
from streamseg.sinks.tiffstack import write_stack  # noqa: E402
from streamseg.sources.tiffstack import StackInfo, open_stack  # noqa: E402
from streamseg.stacks import MaskRule, StackOutputs, process_stack  # noqa: E402


@pytest.fixture
def stack_file(tmp_path):
    rng = np.random.default_rng(0)
    frames = (1000 + rng.normal(0, 10, (30, 24, 28))).astype(np.uint16)
    frames[12, 10:13, 10:13] += 3000  # a blink
    path = tmp_path / "in.tif"
    write_stack(
        path, frames, StackInfo(30, 24, 28, "uint16", pixel_size=(0.107, 0.107), interval=0.01)
    )
    return path, frames


def outputs(tmp_path, **kwargs):
    return StackOutputs(
        sparse=tmp_path / "sparse.tif",
        background=tmp_path / "bg.ome.tif",
        mask=tmp_path / "mask.tif",
        **kwargs,
    )


def test_the_parts_keep_the_bit_depth_and_the_calibration(tmp_path, stack_file):
    path, frames = stack_file
    seen = []
    stats = process_stack(
        path, "median", {"window": 9}, outputs(tmp_path), on_progress=lambda *a: seen.append(a)
    )
    assert stats.frames == 30 and not stats.stopped and seen[-1] == ("frames", 30, 30)
    with open_stack(tmp_path / "sparse.tif") as sparse, open_stack(tmp_path / "bg.ome.tif") as bg:
        for s in (sparse, bg):
            assert s.info.dtype == "uint16" and s.shape == (30, 24, 28)
            assert s.info.pixel_size == pytest.approx((0.107, 0.107))
            assert s.info.interval == pytest.approx(0.01)
        assert sparse[12][11, 11] > 2500 and sparse[3].max() < 100
        total = sparse.read(0, 30).astype(int) + bg.read(0, 30).astype(int)
        assert np.abs(total - np.maximum(frames.astype(int), bg.read(0, 30))).max() <= 1
    with open_stack(tmp_path / "mask.tif") as mask:
        assert mask.info.dtype == "uint8"
        assert mask[12][11, 11] == 255 and mask[12].astype(bool).sum() == 9
        assert mask[3].astype(bool).sum() < 5


def test_float_parts_on_request(tmp_path, stack_file):
    path, _ = stack_file
    process_stack(
        path, "median", {"window": 5}, StackOutputs(background=tmp_path / "bg.tif", dtype="float32")
    )
    with open_stack(tmp_path / "bg.tif") as bg:
        assert bg.info.dtype == "float32"


def test_an_array_stack_and_a_trained_method_run_too(tmp_path):
    from streamseg.sources.simulated import SMLMConfig, simulate_smlm

    sim = simulate_smlm(SMLMConfig(frames=20, size=(24, 24), sites=60), seed=0)
    stages = set()
    stats = process_stack(
        sim.raw,
        "slnet",
        {"temporal_shifts": (0, 5), "steps": 4, "crop": 16, "pool": 6, "threads": 1},
        StackOutputs(sparse=tmp_path / "s.tif"),
        on_progress=lambda s, d, n: stages.add(s),
    )
    assert stats.train_steps == 4 and stages == {"train", "frames"}
    with open_stack(tmp_path / "s.tif") as out:
        assert out.info.dtype == "uint16" and len(out) == 20


def test_bad_outputs_are_refused_before_anything_runs(tmp_path, stack_file):
    path, _ = stack_file
    with pytest.raises(ConfigError, match="not a TIFF name"):
        process_stack(path, "median", None, StackOutputs(sparse=tmp_path / "s.png"))
    with pytest.raises(ConfigError, match="is the input stack"):
        process_stack(path, "median", None, StackOutputs(background=path))
    with pytest.raises(ConfigError, match="are both"):
        process_stack(
            path, "median", None, StackOutputs(sparse=tmp_path / "a.tif", mask=tmp_path / "a.tif")
        )
    with pytest.raises(SinkError, match="does not exist"):
        process_stack(path, "median", None, StackOutputs(mask=tmp_path / "no" / "m.tif"))
    with pytest.raises(ConfigError, match="unknown stack method"):
        process_stack(path, "nope", None, StackOutputs())


def test_a_stopped_run_leaves_no_partial_stack(tmp_path, stack_file):
    path, _ = stack_file
    count = [0]

    def stop() -> bool:
        count[0] += 1
        return count[0] > 10

    stats = process_stack(path, "median", None, outputs(tmp_path), should_stop=stop)
    assert stats.stopped and stats.frames < 30
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.tif"]


def test_the_mask_rule_drops_small_parts():
    residual = np.random.default_rng(0).normal(0, 1, (40, 40)).astype(np.float32)
    residual[5:12, 5:12] = 20
    residual[30, 30] = 20
    assert MaskRule(k=4).apply(residual)[30, 30] == 255
    mask = MaskRule(k=4, min_area=5).apply(residual)
    assert mask[30, 30] == 0 and (mask[5:12, 5:12] == 255).all()


def test_a_stack_larger_than_the_memory_budget_streams_through_a_run(tmp_path):
    """300 MiB in, 300 MiB of sparse part out: the run's peak RSS (getrusage) grows far less."""
    import tifffile

    frames, h, w = 2400, 256, 256
    path = tmp_path / "big.tif"
    block = np.random.default_rng(0).integers(900, 1100, (100, h, w), dtype=np.uint16)
    with tifffile.TiffWriter(path, imagej=True) as tif:
        tif.write(
            (block for _ in range(frames // 100)),
            shape=(frames, h, w),
            dtype=np.uint16,
            metadata={"axes": "TYX"},
        )
    budget = 150 * 2**20
    script = textwrap.dedent(
        f"""
        import resource
        from streamseg.stacks import StackOutputs, process_stack
        import streamseg.segmenters.stack.median  # imports before the baseline
        base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        stats = process_stack({str(path)!r}, "median", {{"window": 5}},
                              StackOutputs(sparse={str(tmp_path / "sparse.tif")!r}))
        assert stats.frames == {frames}
        print(base, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=600
    )
    base, peak = (int(v) for v in out.stdout.split())
    assert (tmp_path / "sparse.tif").stat().st_size > 2 * budget
    assert peak - base < budget, f"peak RSS grew by {(peak - base) / 2**20:.0f} MiB"
