"""Stress footage: one synthetic scene per failure mode, every method side by side.

Held-back surveillance footage fails background subtractors in known ways; each scene
here isolates one of them, with exact ground truth (the built-in synthetic scene,
``streamseg/sources/synthetic.py``, 160×120 so the whole run takes minutes):

* ``base``: the scene as it is (textured background, water, objects, one that stops);
* ``stop``: the stopping object stands still for ``--stop`` seconds (a person who sits
  down): the recall on the place it stands is reported after 10, 30 and 60 s and at the
  end, besides F;
* ``shake``: the camera shakes by up to 3 px every frame;
* ``sway``: foliage sways by up to 3 px (background that moves);
* ``large``: an object 60 % of the frame's width crosses near the camera;
* ``light``: the whole scene gets 30 % brighter at once (auto-exposure, a light);
* with ``--data DIR``, also real sequences shifted frame by frame by up to 2 % of their
  width (their ground truth with them, the border unscored): ``jitter:NAME``.

F is scored after a warm-up of 50 frames, CDnet's way (scored pixels only).

    python tools/stress.py
    python tools/stress.py --methods deepls,mog2,knn,subsense,lobster,pawcs \\
        --data ../shared/data --json stress.json
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
from _common import positive_int, run_tool

import streamseg as ss
from streamseg.evaluation.metrics import Confusion
from streamseg.jsonout import dumps
from streamseg.registry import available, method_overrides
from streamseg.sources.synthetic import SyntheticScene

WARM_UP = 50
SCENES = {
    "base": {},
    "stop": {},  # stop_seconds from --stop
    "shake": {"shake": 3.0},
    "sway": {"sway": 3.0},
    "large": {"large": 0.6},
    "light": {},  # illumination_jump_at: the middle of the clip
}
JITTER = ("cdnet_highway", "sbi_CAVIAR2", "sbi_IBMtest2")


def _synthetic(name: str, frames: int, stop: float) -> SyntheticScene:
    params: dict = {"width": 160, "height": 120, "frames": frames, "seed": 1}
    params.update(SCENES[name])
    if name == "stop":
        params["stop_seconds"] = stop
        # The stop starts at 35 % of the clip; six seconds more show it leave.
        params["frames"] = int((stop * 25 + 150) / (1 - SyntheticScene.STOP_START))
    if name == "light":
        params["illumination_jump_at"] = frames // 2
    return SyntheticScene(**params)


def _scene_frames(scene: SyntheticScene) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
    for t in range(scene.frames):
        image, truth = scene.render(t)
        yield t, image, truth


def _jittered(path: Path, amp: float = 0.02) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
    """A CDnet sequence, each frame and its truth shifted at random (seeded), border unscored."""
    from streamseg.evaluation.cdnet import CDnetSequence

    seq = CDnetSequence(path)
    files = sorted(seq.input_dir.iterdir())
    scored = set(seq.scored_indices())
    rng = np.random.default_rng(0)
    first = cv2.imread(str(files[0]))
    h, w = first.shape[:2]
    reach = max(2, round(amp * w))
    roi = seq.roi if seq.roi is not None else np.full((h, w), 255, np.uint8)
    for t, f in enumerate(files):
        dx, dy = rng.integers(-reach, reach + 1, 2)
        move = np.array([[1, 0, dx], [0, 1, dy]], np.float32)
        image = cv2.warpAffine(cv2.imread(str(f)), move, (w, h), borderMode=cv2.BORDER_REPLICATE)
        number = int("".join(c for c in f.stem if c.isdigit()))
        truth = np.full((h, w), 85, np.uint8)  # outside the ROI: not scored
        if number in scored:
            truth = cv2.warpAffine(seq.ground_truth(number), move, (w, h), flags=cv2.INTER_NEAREST,
                                   borderValue=85)  # fmt: skip
            inside = cv2.warpAffine(roi, move, (w, h), flags=cv2.INTER_NEAREST, borderValue=0)
            truth[inside == 0] = 85
        yield t, image, truth


def _score(frames, method: str, params: dict, stop_region=None, fps: float = 25.0) -> dict:
    conf = Confusion()
    recall_at: dict[str, float] = {}
    start = time.perf_counter()
    n = 0
    with ss.create(method, **params.get(method, {})) as seg:
        for t, image, truth in frames:
            mask = seg.apply(image)
            n += 1
            if t >= WARM_UP:
                conf.update(mask, truth)
            if stop_region is not None:
                region, a, b = stop_region
                for seconds in (10, 30, 60):
                    if t == a + int(seconds * fps) and t < b:
                        recall_at[f"{seconds}s"] = float((mask[region] > 0).mean())
                if t == b - 1:
                    recall_at["end"] = float((mask[region] > 0).mean())
    scores = conf.compute()
    out = {"f": scores.f_measure, "recall": scores.recall, "precision": scores.precision,
           "ms_per_frame": 1000 * (time.perf_counter() - start) / max(n, 1)}  # fmt: skip
    if recall_at:
        out["stopped_recall"] = recall_at
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--methods", default="deepls,mog2,knn", help="comma-separated")
    parser.add_argument("--scenes", default=",".join(SCENES), help="comma-separated")
    parser.add_argument("--frames", type=positive_int, default=400, help="frames per scene")
    parser.add_argument("--stop", type=positive_int, default=120, help="seconds of the stop")
    parser.add_argument("--data", type=Path, help="CDnet tree: also its sequences, shaken")
    parser.add_argument("--set", dest="overrides", action="append", default=[],
                        metavar="METHOD.KEY=VALUE", help="a method parameter")  # fmt: skip
    parser.add_argument("--json", type=Path, help="write the results here")
    args = parser.parse_args(argv)
    methods = [m for m in args.methods.split(",") if m]
    unknown = sorted(set(methods) - set(available()))
    if unknown:
        parser.error(f"unknown or unavailable method(s): {', '.join(unknown)}")
    scenes = [s for s in args.scenes.split(",") if s]
    bad = sorted(set(scenes) - set(SCENES))
    if bad:
        parser.error(f"unknown scene(s): {', '.join(bad)} (known: {', '.join(SCENES)})")
    params = method_overrides(args.overrides, methods)
    results: dict[str, dict[str, dict]] = {}
    for name in scenes:
        scene = _synthetic(name, args.frames, args.stop)
        region = None
        if name == "stop":
            a, b = scene.stop_interval
            region = (np.logical_and.reduce([scene.render(t)[1] > 0 for t in (a, b - 1)]), a, b)
        results[name] = {
            m: _score(_scene_frames(scene), m, params, region, scene.fps) for m in methods
        }
        print(name, {m: round(r["f"], 3) for m, r in results[name].items()}, flush=True)
    if args.data is not None:
        for seq in JITTER:
            path = args.data / seq
            if not path.is_dir():
                continue
            row = {m: _score(_jittered(path), m, params) for m in methods}
            results[f"jitter:{seq}"] = row
            print(f"jitter:{seq}", {m: round(r["f"], 3) for m, r in row.items()}, flush=True)
    _table(results, methods)
    if args.json:
        args.json.write_text(dumps({"methods": methods, "results": results}) + "\n")
    return 0


def _table(results: dict[str, dict[str, dict]], methods: list[str]) -> None:
    print("| scene | " + " | ".join(methods) + " |")
    print("|---|" + "---|" * len(methods))
    for name, row in results.items():
        print(f"| {name} | " + " | ".join(f"{row[m]['f']:.3f}" for m in methods) + " |")
    stop = results.get("stop")
    if stop:
        print("\nrecall on the stopped object:")
        for m in methods:
            print(f"  {m}: {json.dumps(stop[m].get('stopped_recall', {}))}")


if __name__ == "__main__":
    sys.exit(run_tool(main))
