"""Peak memory of ``streamseg microscopy run`` on a stack far larger than that memory.

Writes a ``--frames``-frame uint16 stack (default 20,000 frames of 256×256, 2.6 GB) to a
temporary folder in blocks (the tool never holds it whole either), runs ``streamseg
microscopy run`` on it as a child process writing the sparse part (another 2.6 GB), and
reports the child's peak resident set (``getrusage``: the kernel's own count, memory-map
pages included) beside the stack's size.

    python tools/stack_memory.py --frames 20000 --method median --set window=9
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from _common import frame_size, positive_int, run_tool


def write_big_stack(path: Path, frames: int, size: tuple[int, int], seed: int) -> None:
    """A noisy uint16 stack with blinking spots, written 100 frames at a time."""
    import tifffile

    w, h = size
    rng = np.random.default_rng(seed)

    def blocks():
        for start in range(0, frames, 100):
            n = min(100, frames - start)
            block = rng.poisson(300, (n, h, w)).astype(np.uint16)
            ys, xs = rng.integers(2, h - 2, n * 5), rng.integers(2, w - 2, n * 5)
            block[np.repeat(np.arange(n), 5), ys, xs] += 2000
            yield block

    with tifffile.TiffWriter(path, imagej=True) as tif:
        tif.write(blocks(), shape=(frames, h, w), dtype=np.uint16, metadata={"axes": "TYX"})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--frames", type=positive_int, default=20000, help="frames of the stack")
    parser.add_argument("--size", type=frame_size, default="256x256", help="frame size WxH")
    parser.add_argument("--method", default="median", help="stack method")
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="method parameter (repeatable)",
    )
    parser.add_argument("--folder", type=Path, help="where to write (default: a temporary one)")
    parser.add_argument("--json", type=Path, help="write the result here")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(dir=args.folder) as tmp:
        stack, sparse = Path(tmp) / "stack.tif", Path(tmp) / "sparse.tif"
        t0 = time.perf_counter()
        write_big_stack(stack, args.frames, args.size, 0)
        written = time.perf_counter() - t0
        command = [
            sys.executable,
            "-m",
            "streamseg",
            "microscopy",
            "run",
            str(stack),
            "--method",
            args.method,
            "--sparse",
            str(sparse),
            "--no-progress",
        ]
        for item in args.overrides:
            command += ["--set", item]
        t1 = time.perf_counter()
        subprocess.run(command, check=True)
        seconds = time.perf_counter() - t1
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024  # KiB on Linux
        result = {
            "frames": args.frames,
            "size": list(args.size),
            "method": args.method,
            "set": args.overrides,
            "stack_bytes": stack.stat().st_size,
            "sparse_bytes": sparse.stat().st_size,
            "peak_rss_bytes": peak,
            "run_seconds": round(seconds, 1),
            "write_seconds": round(written, 1),
            "cpus": os.cpu_count(),
        }
    print(
        f"{args.frames} frames, stack {result['stack_bytes'] / 2**30:.2f} GiB in and "
        f"{result['sparse_bytes'] / 2**30:.2f} GiB out: peak RSS of the run "
        f"{peak / 2**20:.0f} MiB, {seconds:.0f} s"
    )
    if args.json:
        args.json.write_text(json.dumps(result, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(run_tool(main))
