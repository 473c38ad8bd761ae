"""TIFF stacks in: bit depth, calibration, memory maps and their fallback, refusals."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest

tifffile = pytest.importorskip("tifffile")

from streamseg.errors import SourceError, SourceNotFoundError  # noqa: E402
from streamseg.sinks.tiffstack import write_stack  # noqa: E402
from streamseg.sources.tiffstack import StackInfo, open_stack  # noqa: E402


@pytest.mark.parametrize("dtype", ["uint16", "float32", "uint8"])
def test_an_imagej_stack_round_trips_with_its_bit_depth_and_calibration(tmp_path, dtype):
    rng = np.random.default_rng(0)
    frames = (rng.random((7, 9, 11)) * 60000).astype(dtype)
    if dtype == "uint8":
        frames = (rng.random((7, 9, 11)) * 255).astype(dtype)
    info = StackInfo(7, 9, 11, dtype, pixel_size=(0.16, 0.1), interval=0.02)
    write_stack(tmp_path / "s.tif", frames, info)
    with open_stack(tmp_path / "s.tif") as stack:
        assert stack.info.memory_mapped
        assert stack.info.dtype == dtype and stack.shape == (7, 9, 11)
        assert stack.info.pixel_size == pytest.approx((0.16, 0.1))
        assert stack.info.unit == "µm" and stack.info.interval == pytest.approx(0.02)
        assert stack[3].dtype == np.dtype(dtype)
        np.testing.assert_array_equal(np.stack(list(stack)), frames)
        np.testing.assert_array_equal(stack.read(2, 5), frames[2:5])
        assert stack[-1].tolist() == frames[-1].tolist()
    with tifffile.TiffFile(tmp_path / "s.tif") as tif:  # what Fiji reads
        assert tif.is_imagej and tif.series[0].axes == "TYX"


@pytest.mark.parametrize("dtype", ["int16", "float64", "uint16"])
def test_an_ome_stack_round_trips_any_pixel_type(tmp_path, dtype):
    frames = (np.arange(4 * 5 * 6).reshape(4, 5, 6) * 7 - 50).astype(dtype)
    if dtype == "uint16":
        frames = np.abs(frames).astype(dtype)
    info = StackInfo(4, 5, 6, dtype, pixel_size=(0.2, 0.2), interval=1.5)
    write_stack(tmp_path / "s.ome.tif", frames, info)
    with tifffile.TiffFile(tmp_path / "s.ome.tif") as tif:
        assert tif.is_ome
    with open_stack(tmp_path / "s.ome.tif") as stack:
        assert stack.info.dtype == dtype and stack.info.axes == "TYX"
        assert stack.info.pixel_size == pytest.approx((0.2, 0.2))
        assert stack.info.interval == pytest.approx(1.5)
        np.testing.assert_array_equal(stack.read(0, 4), frames)


def test_a_compressed_stack_is_read_page_by_page(tmp_path):
    frames = np.arange(3 * 8 * 8, dtype=np.uint16).reshape(3, 8, 8)
    tifffile.imwrite(tmp_path / "z.tif", frames, compression="zlib", photometric="minisblack")
    with open_stack(tmp_path / "z.tif") as stack:
        assert not stack.info.memory_mapped
        assert stack.info.pixel_size is None
        np.testing.assert_array_equal(stack[2], frames[2])
        np.testing.assert_array_equal(stack.read(1, 3), frames[1:])


def test_a_single_image_is_a_one_frame_stack(tmp_path):
    tifffile.imwrite(tmp_path / "one.tif", np.ones((5, 6), np.float32))
    with open_stack(tmp_path / "one.tif") as stack:
        assert stack.shape == (1, 5, 6) and stack[0].dtype == np.float32


def test_channels_and_rgb_are_refused_with_a_reason(tmp_path):
    tifffile.imwrite(
        tmp_path / "tc.tif",
        np.zeros((3, 2, 8, 8), np.uint16),
        imagej=True,
        metadata={"axes": "TCYX"},
    )
    with pytest.raises(SourceError, match="one plane per frame"):
        open_stack(tmp_path / "tc.tif")
    tifffile.imwrite(tmp_path / "rgb.tif", np.zeros((8, 8, 3), np.uint8), photometric="rgb")
    with pytest.raises(SourceError, match="one plane per frame"):
        open_stack(tmp_path / "rgb.tif")


def test_missing_and_foreign_files_are_refused(tmp_path):
    with pytest.raises(SourceNotFoundError):
        open_stack(tmp_path / "none.tif")
    (tmp_path / "x.tif").write_text("not a tiff")
    with pytest.raises(SourceError, match="not a TIFF"):
        open_stack(tmp_path / "x.tif")


def test_a_closed_stack_refuses_reads(tmp_path):
    write_stack(tmp_path / "s.tif", np.zeros((2, 4, 4), np.uint16))
    stack = open_stack(tmp_path / "s.tif")
    stack.close()
    stack.close()
    with pytest.raises(SourceError, match="closed"):
        stack[0]


def test_reading_a_stack_larger_than_the_budget_keeps_memory_bounded(tmp_path):
    """A 320 MB stack read frame by frame: the process's peak RSS (getrusage) stays far below.

    The memory map's pages count in the resident set until handed back, so without the
    reader's releases the peak would exceed the stack's size.
    """
    frames, h, w = 2400, 256, 256  # 2400 × 128 KiB = 300 MiB of uint16
    path = tmp_path / "big.tif"
    block = np.random.default_rng(0).integers(0, 4000, (100, h, w), dtype=np.uint16)
    with tifffile.TiffWriter(path, imagej=True) as tif:  # written in blocks, never whole
        tif.write(
            (block for _ in range(frames // 100)),
            shape=(frames, h, w),
            dtype=np.uint16,
            metadata={"axes": "TYX"},
        )
    budget = 120 * 2**20
    script = textwrap.dedent(
        f"""
        import resource, numpy as np
        from streamseg.sources.tiffstack import open_stack
        with open_stack({str(path)!r}) as stack:
            base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
            assert stack.info.memory_mapped and len(stack) == {frames}
            total = 0
            for frame in stack:
                total += int(frame[0, 0])
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        print(base, peak)
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=300
    )
    base, peak = (int(v) for v in out.stdout.split())
    assert path.stat().st_size > 2.5 * budget
    assert peak - base < budget, f"peak RSS grew by {(peak - base) / 2**20:.0f} MiB"
