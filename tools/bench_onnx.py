"""Per-frame cost of the frozen DeepLS model: torch eager vs ONNX Runtime, side by side.

Two measurements for each frame size and thread count, on the same weights:

* ``net``: the network alone on a frame of that size (1×C×H×W), torch eager vs
  ONNX Runtime;
* ``segment``: the whole per-frame path of the ``deepls`` segmenter (resize to the
  processing size, the network, the mask rule, the mask back at frame size), with
  ``backend=torch`` vs ``backend=onnx``.

    python tools/bench_onnx.py --sizes 320x240,640x480 --threads 1,2 --json bench_onnx.json

Timings are medians over ``--repeat`` frames after a warm-up.
"""

from __future__ import annotations

import argparse
import dataclasses
import platform
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
from _common import frame_sizes, positive_int, run_tool

from streamseg.jsonout import dumps


def eager(model: Any, x: Any) -> None:
    import torch

    with torch.no_grad():
        model(x)


def median_ms(fn: Callable[[], object], repeat: int) -> float:
    for _ in range(5):
        fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(1000 * (time.perf_counter() - t0))
    return float(np.median(times))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--sizes", type=frame_sizes, default="320x240,640x480", help="comma-separated WxH"
    )
    parser.add_argument(
        "--threads",
        type=lambda text: [positive_int(t) for t in text.split(",")],
        default="1,2",
        help="comma-separated thread counts (torch and ORT)",
    )
    parser.add_argument(
        "--repeat", type=positive_int, default=50, help="timed runs per measurement"
    )
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="[deepls.]KEY=VALUE",
        help="deepls parameter, e.g. net.width=16 or area=4800",
    )
    parser.add_argument("--json", default=None, help="write the results here")
    args = parser.parse_args(argv)

    import torch

    import streamseg as ss
    from streamseg.registry import method_config, method_overrides
    from streamseg.segmenters.deepls.checkpoint import Checkpoint, save_checkpoint
    from streamseg.segmenters.deepls.model import build_model
    from streamseg.segmenters.deepls.onnx import OnnxRunner, export_bytes
    from streamseg.segmenters.preprocess import processing_size

    cfg = method_config("deepls", method_overrides(args.set, ["deepls"])["deepls"])
    torch.manual_seed(0)
    model = build_model(cfg.net).eval()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for w, h in args.sizes:
            proc = processing_size(h, w, cfg.area)
            ckpt = save_checkpoint(
                Checkpoint(dataclasses.asdict(cfg.net), proc, cfg.mask, model.state_dict()),
                Path(tmp) / f"m{w}.pt",
            )
            frame = np.random.default_rng(0).integers(0, 255, (h, w, 3), dtype=np.uint8)
            x = np.random.default_rng(1).random((1, cfg.net.in_channels, h, w), np.float32)
            data = export_bytes(model, cfg.net, (h, w), cfg.mask)
            for threads in args.threads:
                torch.set_num_threads(threads)

                runner = OnnxRunner(threads=threads)
                runner.load(data)
                segs = {
                    b: ss.create("deepls", weights=str(ckpt), backend=b, ort_threads=threads)
                    for b in ("torch", "onnx")
                }
                row = {
                    "size": f"{w}x{h}",
                    "processing": f"{proc[1]}x{proc[0]}",
                    "threads": threads,
                    "net_torch_ms": median_ms(
                        partial(eager, model, torch.from_numpy(x)), args.repeat
                    ),
                    "net_onnx_ms": median_ms(partial(runner.run, x), args.repeat),
                    "segment_torch_ms": median_ms(partial(segs["torch"].apply, frame), args.repeat),
                    "segment_onnx_ms": median_ms(partial(segs["onnx"].apply, frame), args.repeat),
                }
                rows.append(row)
                print(row, file=sys.stderr, flush=True)
    lines = [
        "| frame | threads | net torch ms | net ONNX Runtime ms | segment (torch) ms "
        "| segment (ONNX Runtime) ms |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['size']} (processing {r['processing']}) | {r['threads']} "
            f"| {r['net_torch_ms']:.2f} | {r['net_onnx_ms']:.2f} "
            f"| {r['segment_torch_ms']:.2f} | {r['segment_onnx_ms']:.2f} |"
        )
    print(f"model: {cfg.net}")
    print("\n".join(lines))
    if args.json:
        meta = {
            "python": platform.python_version(),
            "machine": platform.machine(),
            "date": time.strftime("%Y-%m-%d"),
            "argv": sys.argv,
            "net": str(cfg.net),
        }
        Path(args.json).write_text(dumps({"meta": meta, "rows": rows}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(run_tool(main))
