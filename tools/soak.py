"""Soak test: a long run, RSS and thread count sampled along the way; both must stay flat.

    python tools/soak.py --frames 20000 --method deepls --json soak.json --plot soak.png
    python tools/soak.py --rtsp --frames 20000 --method deepls   # through the loopback RTSP server

The synthetic scene loops forever (frames are rendered on the fly); ``--rtsp``
starts the GStreamer RTSP server of the tests (``tests/support/rtsp_server.py``,
system python3 with python3-gi) and reads it live. Growth is measured from the
end of the warm-up (the first 10 % of frames: allocator pools, ONNX Runtime
arenas and the first model swaps settle there) to the end. RSS swings by 100–200 MB
within a few hundred frames while the trainer's batches are allocated and freed, so one
sample at each end would measure the swing, not growth: each end is the median of a
tenth of the samples, and the least-squares slope over the run is reported beside it.
"""

from __future__ import annotations

import argparse
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from _common import frame_size, positive_int, run_tool

from streamseg.jsonout import dumps

ROOT = Path(__file__).resolve().parents[1]


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024.0
    return float("nan")


def os_threads() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("Threads:"):
            return int(line.split()[1])
    return -1


def looping_scene(width: int, height: int) -> Iterator[np.ndarray]:
    import streamseg as ss

    scene = ss.SyntheticScene(width=width, height=height, frames=500, seed=0)
    t = 0
    while True:
        yield scene.render(t % scene.frames)[0]
        t += 1


def start_rtsp(fps: int) -> tuple[subprocess.Popen[bytes], str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [
            "/usr/bin/python3",
            str(ROOT / "tests" / "support" / "rtsp_server.py"),
            "--port",
            str(port),
            "--fps",
            str(fps),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return proc, f"rtsp://127.0.0.1:{port}/test"
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("the RTSP server did not start (install gstreamer1.0-rtsp python3-gi)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--frames", type=positive_int, default=20000, help="frames to run")
    parser.add_argument("--method", default="deepls", help="registry name")
    parser.add_argument("--size", type=frame_size, default="320x240", help="frame size WxH")
    parser.add_argument("--rtsp", action="store_true", help="read the loopback RTSP server")
    parser.add_argument(
        "--rtsp-fps",
        type=positive_int,
        default=100,
        help="frame rate of the RTSP test stream (a long soak at 25 fps takes hours)",
    )
    parser.add_argument("--every", type=positive_int, default=250, help="sample every N frames")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="[METHOD.]KEY=VALUE",
        help="method parameter (e.g. mode=async)",
    )
    parser.add_argument("--json", default=None, help="write the samples here")
    parser.add_argument("--plot", default=None, help="write the RSS/threads plot here (PNG)")
    args = parser.parse_args(argv)
    if args.frames < 3 * args.every:
        parser.error(f"--frames must be at least 3 x --every ({args.every}) to measure growth")

    import streamseg as ss
    from streamseg.registry import method_overrides
    from streamseg.sources.array import ArraySource

    params = method_overrides(args.set, [args.method])[args.method]
    w, h = args.size
    server = None
    if args.rtsp:
        server, url = start_rtsp(args.rtsp_fps)
        source = ss.open_source(url, max_reconnects=-1)
    else:
        source = ArraySource(looping_scene(w, h), live=False)
    samples: list[dict[str, float]] = []
    t0 = time.monotonic()

    counter = [0]

    def on_frame(frame: ss.Frame, masks: object) -> None:
        counter[0] += 1
        count = counter[0]
        if count % args.every == 0 or count == 1:
            samples.append(
                {
                    "frame": count,
                    "seconds": time.monotonic() - t0,
                    "rss_mb": rss_mb(),
                    "threads": os_threads(),
                    "py_threads": threading.active_count(),
                }
            )
            print(
                f"frame {count}: RSS {samples[-1]['rss_mb']:.1f} MB, "
                f"{samples[-1]['threads']} threads",
                file=sys.stderr,
                flush=True,
            )

    try:
        with source, ss.create(args.method, **params) as seg:
            stats = ss.run(
                source, {args.method: seg}, [], max_frames=args.frames, on_frame=on_frame
            )
    finally:
        if server is not None:
            server.kill()
    settled = [s for s in samples if s["frame"] >= args.frames // 10] or samples
    rss = np.array([s["rss_mb"] for s in settled])
    tenth = max(1, len(rss) // 10)
    start, end = float(np.median(rss[:tenth])), float(np.median(rss[-tenth:]))
    frames = np.array([s["frame"] for s in settled], float)
    slope = float(np.polyfit(frames, rss, 1)[0]) * 10_000 if len(rss) > 1 else 0.0
    summary = {
        "frames": stats.frames,
        "method": args.method,
        "rtsp": args.rtsp,
        "rss_start_mb": start,
        "rss_end_mb": end,
        "rss_growth_mb": end - start,
        "rss_slope_mb_per_10k_frames": slope,
        "rss_min_mb": float(rss.min()),
        "rss_max_mb": float(rss.max()),
        "threads_min": min(s["threads"] for s in samples[1:]),
        "threads_max": max(s["threads"] for s in samples[1:]),
        "fps": stats.fps,
        "dropped": stats.dropped,
        "method_stats": stats.as_dict()["methods"][args.method],
        "date": time.strftime("%Y-%m-%d"),
        "argv": sys.argv,
    }
    print(dumps(summary, indent=2))
    if args.json:
        Path(args.json).write_text(dumps({"summary": summary, "samples": samples}, indent=2))
    if args.plot:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(6, 3.5))
        ax.plot([s["frame"] for s in samples], [s["rss_mb"] for s in samples], label="RSS (MB)")
        ax2 = ax.twinx()
        ax2.plot(
            [s["frame"] for s in samples], [s["threads"] for s in samples], "g--", label="threads"
        )
        ax.set_xlabel("frame")
        ax.set_ylabel("RSS (MB)")
        ax2.set_ylabel("threads")
        ax.set_title(
            f"soak: {args.method}, {stats.frames} frames{' via RTSP' if args.rtsp else ''}"
        )
        fig.tight_layout()
        fig.savefig(args.plot, dpi=110)
    return 0


if __name__ == "__main__":
    sys.exit(run_tool(main))
