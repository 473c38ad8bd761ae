"""How much of a video does a hard kill cost?

For each container, a child process writes a video with streamseg's
:class:`~streamseg.sinks.video.VideoWriter` (the synthetic scene, timestamps at
``--fps``), stops after a random number of frames and is killed with SIGKILL
there, before it can close anything. The file left behind is decoded with PyAV
and the frames it gives back are counted: the frames lost are those written but
not decodable, the bound the README states.

    python tools/killtest.py
    python tools/killtest.py --trials 20 --containers mp4,mkv --out killtest.json
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

from _common import frame_size, positive_int, run_tool

CONTAINERS = ("mp4", "mov", "mkv", "ts", "avi")


def child(path: str, frames: int, fps: float, width: int, height: int) -> None:
    """Write ``frames`` frames to ``path``, say so on stdout, then wait to be killed."""
    import time

    from streamseg.sinks.video import VideoWriter
    from streamseg.sources.synthetic import SyntheticScene

    scene = SyntheticScene(width=width, height=height, frames=frames, seed=0)
    writer = VideoWriter(path, fps=fps)
    for i in range(frames):
        writer.write(scene.render(i)[0], i / fps)
    print("written", flush=True)
    time.sleep(600)  # never closed: the parent kills this process here


def decodable(path: Path) -> int:
    """The frames PyAV decodes from ``path`` before it gives up."""
    import av

    count = 0
    try:
        with av.open(str(path)) as container:
            for _ in container.decode(video=0):
                count += 1
    except (av.error.FFmpegError, OSError, ValueError):
        pass  # the cut end (or a file with no playable part)
    return count


def trial(folder: Path, suffix: str, frames: int, fps: float, size: tuple[int, int]) -> int:
    """Frames lost when a writer of ``frames`` frames is killed: written minus decodable."""
    path = folder / f"kill.{suffix}"
    path.unlink(missing_ok=True)
    args = [sys.executable, __file__, "--child", str(path), str(frames), str(fps), *map(str, size)]
    with subprocess.Popen(args, stdout=subprocess.PIPE, text=True) as proc:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    if line.strip() != "written":
        raise RuntimeError(f"the writer of {path} died before its last frame")
    return frames - decodable(path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--trials", type=positive_int, default=10, help="kills per container")
    parser.add_argument(
        "--frames", type=positive_int, default=250, help="at most this many frames before a kill"
    )
    parser.add_argument("--fps", type=positive_int, default=25)
    parser.add_argument("--size", type=frame_size, default=(320, 240), help="WxH")
    parser.add_argument("--containers", default=",".join(CONTAINERS))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, help="also write the figures as JSON here")
    args = parser.parse_args(argv)
    suffixes = [c.strip().lstrip(".") for c in args.containers.split(",") if c.strip()]
    unknown = [s for s in suffixes if s not in CONTAINERS]
    if unknown or not suffixes:
        parser.error(f"--containers: choose among {', '.join(CONTAINERS)}")
    rng = random.Random(args.seed)
    report: dict[str, dict[str, object]] = {}
    print(f"{'container':10}{'trials':>7}{'lost max':>10}{'lost mean':>11}{'max s':>8}")
    with tempfile.TemporaryDirectory(prefix="killtest-") as tmp:
        for suffix in suffixes:
            lost = [
                trial(Path(tmp), suffix, rng.randint(1, args.frames), args.fps, args.size)
                for _ in range(args.trials)
            ]
            worst = max(lost)
            mean = sum(lost) / len(lost)
            report[suffix] = {
                "trials": len(lost),
                "lost_frames": lost,
                "lost_max": worst,
                "lost_mean": mean,
                "lost_max_seconds": worst / args.fps,
            }
            print(f"{suffix:10}{len(lost):>7}{worst:>10}{mean:>11.1f}{worst / args.fps:>8.2f}")
    if args.out is not None:
        settings = {k: v for k, v in vars(args).items() if k != "out"}
        settings["size"] = "x".join(map(str, args.size))
        args.out.write_text(json.dumps({"settings": settings, "containers": report}, indent=2))
    return 0


if __name__ == "__main__":
    if len(sys.argv) == 7 and sys.argv[1] == "--child":
        child(sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6]))
        sys.exit(0)
    sys.exit(run_tool(main))
