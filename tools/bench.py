"""Throughput and latency: decode alone vs decode + each method + writing masks, side by side.

For each frame size a test video is written with PyAV (from a CDnet sequence's
frames when one is given, else the synthetic scene), then, in one process and
one after the other on the same file:

* ``decode``: the file source alone;
* ``<method>``: decode → ``seg.apply`` → PNG masks (``binNNNNNN.png``), through
  :func:`streamseg.run`, so the numbers are the product's own path.

Reports frames per second end to end, per-frame latency p50/p99, the method's own
ms/frame, and the peak RSS of the process so far. Results go to stdout as a
Markdown table and, with ``--json``, to a file.

    python tools/bench.py --methods mog2,knn --sizes 320x240,640x480 \\
        --frames-from ../shared/data/cdnet_highway/input --json bench.json
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import sys
import tempfile
import time
from pathlib import Path

import cv2

import streamseg as ss
from streamseg.sinks import PngMaskSink, VideoWriter


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def make_video(path: Path, size: tuple[int, int], frames: int, folder: str | None) -> Path:
    """A test video at ``size`` from ``folder``'s images (or the synthetic scene)."""
    w, h = size
    with VideoWriter(path, fps=25, crf=18) as writer:
        if folder:
            with ss.open_source(folder) as src:
                images = [f.image for _, f in zip(range(frames), src, strict=False)]
            for i in range(frames):
                img = images[i % len(images)]
                writer.write(cv2.resize(img, (w, h), interpolation=cv2.INTER_AREA))
        else:
            scene = ss.SyntheticScene(width=w, height=h, frames=frames)
            for t in range(frames):
                writer.write(scene.render(t)[0])
    return path


def bench_decode(video: Path) -> dict[str, float]:
    t0 = time.perf_counter()
    with ss.open_source(video) as src:
        n = sum(1 for _ in src)
    seconds = time.perf_counter() - t0
    return {
        "frames": n,
        "fps": n / seconds,
        "latency_ms_p50": float("nan"),
        "latency_ms_p99": float("nan"),
        "method_ms": float("nan"),
    }


def bench_method(
    video: Path, method: str, out: Path, params: dict[str, object]
) -> dict[str, float]:
    with ss.open_source(video) as src, ss.create(method, **params) as seg, PngMaskSink(out) as sink:
        stats = ss.run(src, {method: seg}, [sink])
    d = stats.as_dict()
    return {
        "frames": stats.frames,
        "fps": stats.fps,
        "latency_ms_p50": d["latency_ms_p50"],
        "latency_ms_p99": d["latency_ms_p99"],
        "method_ms": d["methods"][method]["ms_mean"],
        **{
            k: v
            for k, v in d["methods"][method].items()
            if k not in ("name", "frames", "ms_mean", "ms_p50", "ms_p99", "fps")
        },
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--methods", default="mog2,knn", help="comma-separated method names")
    parser.add_argument("--sizes", default="320x240,640x480", help="comma-separated WxH")
    parser.add_argument("--frames", type=int, default=600, help="frames per video")
    parser.add_argument(
        "--frames-from",
        default=None,
        help="an image folder whose frames make the test video (default: synthetic)",
    )
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="METHOD.KEY=VALUE",
        help="method parameter, e.g. deepls.mode=async (repeatable)",
    )
    parser.add_argument("--json", default=None, help="write the results here")
    args = parser.parse_args(argv)
    params: dict[str, dict[str, object]] = {}
    for item in args.set:
        key, _, value = item.partition("=")
        method, _, field = key.partition(".")
        params.setdefault(method, {})[field] = value
    methods = [m for m in args.methods.split(",") if m]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for size_text in args.sizes.split(","):
            w, h = (int(v) for v in size_text.split("x"))
            video = make_video(
                Path(tmp) / f"bench_{w}x{h}.mp4", (w, h), args.frames, args.frames_from
            )
            results = {"decode": bench_decode(video)}
            for m in methods:
                results[m] = bench_method(video, m, Path(tmp) / f"{m}_{w}x{h}", params.get(m, {}))
            for name, r in results.items():
                rows.append(
                    {"size": f"{w}x{h}", "pipeline": name, **r, "peak_rss_mb": peak_rss_mb()}
                )
                print(f"{w}x{h} {name}: {r['fps']:.1f} fps", file=sys.stderr, flush=True)
    header = (
        "| size | pipeline | fps end to end | share of decode | latency p50 ms "
        "| latency p99 ms | method ms/frame |"
    )
    lines = [header, "|---|---|---|---|---|---|---|"]
    decode_fps = {r["size"]: r["fps"] for r in rows if r["pipeline"] == "decode"}
    for r in rows:
        share = r["fps"] / decode_fps[r["size"]]
        lines.append(
            f"| {r['size']} | {r['pipeline']} | {r['fps']:.1f} | {share:.2f} "
            f"| {r['latency_ms_p50']:.2f} | {r['latency_ms_p99']:.2f} "
            f"| {r['method_ms']:.2f} |"
        )
    print("\n".join(lines))
    if args.json:
        meta = {
            "python": platform.python_version(),
            "machine": platform.machine(),
            "cpus": __import__("os").cpu_count(),
            "date": time.strftime("%Y-%m-%d"),
            "argv": sys.argv,
        }
        Path(args.json).write_text(
            json.dumps({"meta": meta, "rows": rows}, indent=2, default=float)
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
