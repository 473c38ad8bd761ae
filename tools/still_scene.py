"""Does online DeepLS stay able to see on a still, empty scene?

An empty, motionless scene (sensor noise only) gives the low-rank + sparse loss
nothing sparse to learn from; without objects pasted into its batches the net learned
to answer 0 to everything (``streamseg/segmenters/deepls/augment.py``). This tool
trains online DeepLS on such a scene (the synthetic scene's background, noise σ = 2
grey levels) and, every ``--every`` frames, shows it without learning a 40×40 box that
appears: the share of the box the mask covers, and the model version that made it.

    python tools/still_scene.py --mode sync
    python tools/still_scene.py --mode async            # frames at 25 fps, trainer beside
    python tools/still_scene.py --mode sync --set paste=0   # without pasted objects
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np
from _common import positive_int, run_tool

import streamseg as ss
from streamseg.registry import method_overrides
from streamseg.sources.synthetic import SyntheticScene


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--mode", choices=("sync", "async"), default="sync")
    parser.add_argument("--frames", type=positive_int, default=400, help="still frames in all")
    parser.add_argument(
        "--every", type=positive_int, default=50, help="show the box every N frames"
    )
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="[deepls.]KEY=VALUE",
        help="deepls parameter, e.g. paste=0",
    )
    args = parser.parse_args(argv)
    background = SyntheticScene(width=160, height=120, frames=1, seed=0).render(0)[0]
    box = background.copy()
    box[50:90, 60:100] = (40, 40, 200)
    rng = np.random.default_rng(0)

    def noisy(image: np.ndarray) -> np.ndarray:
        return np.clip(image + rng.normal(0, 2, image.shape), 0, 255).astype(np.uint8)

    params = method_overrides(args.overrides, ["deepls"], {"deepls": {"mode": args.mode}})["deepls"]
    print("frames  model  train steps  box found")
    with ss.create("deepls", **params) as seg:
        for i in range(1, args.frames + 1):
            seg.apply(noisy(background))
            if args.mode == "async":
                time.sleep(0.04)  # a 25 fps camera; the trainer runs beside
            if i % args.every == 0:
                mask = seg.apply(noisy(box), learning_rate=0)
                stats = seg.stats()
                found = 100 * float((mask[50:90, 60:100] > 0).mean())
                print(
                    f"{i:6d}  v{stats['model_version']:<4d}  {stats['train_steps']:11d}"
                    f"  {found:8.0f} %",
                    flush=True,
                )
    return 0


if __name__ == "__main__":
    sys.exit(run_tool(main))
