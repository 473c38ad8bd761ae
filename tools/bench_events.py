"""What events cost per frame: objects + tracking + zones + events, and a clip's memory.

The synthetic scene's frames and one method's masks are made first; then only
``EventDetector.update`` is timed, frame by frame, in these setups:

* ``events``: objects, tracking, two include zones and an exclude zone, events (no
  snapshot): the per-frame path every run with events pays;
* ``events+snapshots``: with the snapshot JPEGs of starts and ends (and the peak's copy);
* ``events+clips``: with clips, which encode every frame into the ring buffer.

and reports the mean, median and 99th percentile in ms. The clip buffer's memory is the
ring's bytes once it holds ``pre`` seconds (its JPEGs are all it holds).

    python tools/bench_events.py --size 320x240 --frames 600 --json docs/results/bench_events.json
"""

from __future__ import annotations

import argparse
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from _common import frame_size, positive_int, run_tool

from streamseg.jsonout import dumps

ZONES = [
    {"name": "left", "points": [[0.0, 0.3], [0.5, 0.3], [0.5, 1.0], [0.0, 1.0]]},
    {"name": "right", "points": [[0.5, 0.3], [1.0, 0.3], [1.0, 1.0], [0.5, 1.0]]},
    {"name": "clock", "kind": "exclude", "points": [[0.8, 0], [1, 0], [1, 0.1], [0.8, 0.1]]},
]


def _inputs(size: tuple[int, int], frames: int, method: str) -> list[tuple[np.ndarray, Any]]:
    """The scene's frames with ``method``'s masks (``truth``: the exact ground truth)."""
    import streamseg as ss

    scene = ss.SyntheticScene(width=size[0], height=size[1], frames=frames)
    out = []
    seg = None if method == "truth" else ss.create(method)
    try:
        for t in range(frames):
            image, truth = scene.render(t)
            mask = truth if seg is None else seg.apply(image, timestamp=t / scene.fps)
            out.append((image, mask))
    finally:
        if seg is not None:
            seg.close()
    return out


def _time(setup: str, inputs: list[tuple[np.ndarray, Any]], fps: float) -> dict[str, Any]:
    from streamseg.events import ClipConfig, EventConfig, EventDetector, zones_from_data

    config = EventConfig(
        snapshot=setup != "events",
        clip=ClipConfig(enabled=setup == "events+clips", pre=5.0, post=2.0),
    )
    times = []
    events = 0
    with tempfile.TemporaryDirectory() as media:
        detector = EventDetector(config, zones_from_data(ZONES), media=media)
        for t, (image, mask) in enumerate(inputs):
            t0 = time.perf_counter()
            events += len(detector.update(image, mask, t / fps, index=t))
            times.append(1000 * (time.perf_counter() - t0))
        ring = detector.ring_bytes
        events += len(detector.close())
    ms = np.asarray(times[10:])  # the first frames lay out the zones
    return {
        "setup": setup,
        "ms_mean": float(ms.mean()),
        "ms_p50": float(np.percentile(ms, 50)),
        "ms_p99": float(np.percentile(ms, 99)),
        "events": events,
        "ring_bytes": ring,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size", type=frame_size, default="320x240", help="frame size WxH")
    parser.add_argument("--frames", type=positive_int, default=600, help="frames per setup")
    parser.add_argument(
        "--method", default="mog2", help="whose masks raise the events ('truth': the scene's)"
    )
    parser.add_argument("--json", default=None, help="write the results here")
    args = parser.parse_args(argv)
    fps = 25.0
    inputs = _inputs(args.size, args.frames, args.method)
    rows = [_time(s, inputs, fps) for s in ("events", "events+snapshots", "events+clips")]
    w, h = args.size
    print(f"{args.frames} frames of {w}x{h}, masks of {args.method}, {fps:g} fps")
    print("| setup | mean ms | p50 ms | p99 ms | events | clip ring (5 s) |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        ring = f"{r['ring_bytes'] / 1e6:.2f} MB" if r["ring_bytes"] else "–"
        print(
            f"| {r['setup']} | {r['ms_mean']:.3f} | {r['ms_p50']:.3f} | {r['ms_p99']:.3f} "
            f"| {r['events']} | {ring} |"
        )
    if args.json:
        from streamseg.fileio import atomic_write

        meta = {
            "size": f"{w}x{h}",
            "frames": args.frames,
            "method": args.method,
            "fps": fps,
            "python": platform.python_version(),
            "machine": platform.machine(),
            "command": " ".join(["python", "tools/bench_events.py", *sys.argv[1:]]),
        }
        atomic_write(Path(args.json), dumps({"meta": meta, "rows": rows}, indent=2).encode())
    return 0


if __name__ == "__main__":
    sys.exit(run_tool(main))
