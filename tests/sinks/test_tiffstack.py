"""TIFF stacks out: pixel types kept, incomplete stacks discarded, memory bounded."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest

tifffile = pytest.importorskip("tifffile")

from streamseg.errors import SinkError  # noqa: E402
from streamseg.sinks.tiffstack import TiffStackWriter, to_dtype  # noqa: E402
from streamseg.sources.tiffstack import StackInfo, open_stack  # noqa: E402


def test_float_frames_go_to_an_integer_stack_rounded_and_clipped():
    frame = np.array([[-1.0, 0.4, 0.6, 1e6]], np.float32)
    assert to_dtype(frame, "uint16").tolist() == [[0, 0, 1, 65535]]
    assert to_dtype(frame, "float32").dtype == np.float32
    assert to_dtype(np.array([70000], np.int32), "uint16").tolist() == [65535]


def test_frames_may_come_in_any_order_and_the_file_appears_when_complete(tmp_path):
    path = tmp_path / "out.tif"
    writer = TiffStackWriter(path, StackInfo(3, 4, 5, "uint16", pixel_size=(0.1, 0.1)))
    for t in (2, 0, 1):
        writer.write(t, np.full((4, 5), t * 1000.0))
        assert not path.exists()
    writer.close()
    writer.close()
    with open_stack(path) as stack:
        assert [int(stack[t][0, 0]) for t in range(3)] == [0, 1000, 2000]
        assert stack.info.pixel_size == pytest.approx((0.1, 0.1))
    assert [p.name for p in tmp_path.iterdir()] == ["out.tif"]


def test_an_incomplete_stack_is_discarded_and_an_error_removes_the_partial_file(tmp_path):
    path = tmp_path / "out.tif"
    path.write_bytes(b"earlier")
    writer = TiffStackWriter(path, StackInfo(3, 4, 4, "float32"))
    writer.write(0, np.zeros((4, 4)))
    with pytest.raises(SinkError, match="2 of 3 frames never written"):
        writer.close()
    assert path.read_bytes() == b"earlier"
    with pytest.raises(RuntimeError):
        with TiffStackWriter(path, StackInfo(2, 4, 4, "float32")) as out:
            out.write(0, np.zeros((4, 4)))
            raise RuntimeError("stopped")
    assert [p.name for p in tmp_path.iterdir()] == ["out.tif"]


def test_bad_frames_and_folders_are_refused(tmp_path):
    with pytest.raises(SinkError, match="does not exist"):
        TiffStackWriter(tmp_path / "no" / "x.tif", StackInfo(1, 4, 4, "uint16"))
    with TiffStackWriter(tmp_path / "x.tif", StackInfo(1, 4, 4, "uint16")) as out:
        with pytest.raises(SinkError, match="shape"):
            out.write(0, np.zeros((4, 5)))
        out.write(0, np.zeros((4, 4)))


def test_writing_a_stack_larger_than_the_budget_keeps_memory_bounded(tmp_path):
    """300 MiB written frame by frame: the peak RSS (getrusage) grows by far less."""
    budget = 120 * 2**20
    script = textwrap.dedent(
        f"""
        import resource, numpy as np
        from streamseg.sinks.tiffstack import TiffStackWriter
        from streamseg.sources.tiffstack import StackInfo
        frame = np.random.default_rng(0).integers(0, 4000, (256, 256)).astype(np.uint16)
        base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        info = StackInfo(2400, 256, 256, "uint16")
        with TiffStackWriter({str(tmp_path / "big.tif")!r}, info) as w:
            for t in range(2400):
                w.write(t, frame)
        print(base, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=300
    )
    base, peak = (int(v) for v in out.stdout.split())
    assert (tmp_path / "big.tif").stat().st_size > 2.5 * budget
    assert peak - base < budget, f"peak RSS grew by {(peak - base) / 2**20:.0f} MiB"
