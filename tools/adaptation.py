"""Adaptation to a sudden global illumination change, measured on the synthetic scene.

At frame ``--jump-at`` the whole scene becomes 30 % brighter (lights switched on,
auto-exposure). Before it, each method has settled; after it, what it called
background is suddenly wrong everywhere. The tool scores every frame against the
exact ground truth and reports how many frames each method needs until its F
(averaged over ``--smooth`` frames) is back to 90 % of its level before the jump.

    python tools/adaptation.py --methods deepls,rpca,mog2 --json adaptation.json \\
        --plot adaptation.png
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from _common import frame_size, positive_int, run_tool

from streamseg.jsonout import dumps


def recovery(
    f: np.ndarray, jump: int, before: int, smooth: int, share: float
) -> tuple[int | None, int | None]:
    """Frames after ``jump`` until the smoothed F is back to ``share`` of its level before.

    Returns:
        ``(first, sustained)``: the first frame it is back, and the frame from which it
        stays back until the end (None: never). A model that comes back and then drops
        again (when the window's median crosses over to the new scene) has a ``first``
        well before its ``sustained``.
    """
    level = float(np.nanmean(f[max(0, jump - before) : jump]))
    kernel = np.ones(smooth) / smooth
    after = np.convolve(np.nan_to_num(f[jump:]), kernel, mode="valid")
    back = after >= share * level
    hits, misses = np.nonzero(back)[0], np.nonzero(~back)[0]
    first = int(hits[0] + smooth - 1) if hits.size else None
    if not back[-1]:
        return first, None
    return first, int((misses[-1] + 1 if misses.size else 0) + smooth - 1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--methods", default="deepls,rpca,mog2", help="comma-separated registry names"
    )
    parser.add_argument("--frames", type=positive_int, default=600, help="frames of the scene")
    parser.add_argument(
        "--jump-at", type=int, default=300, help="frame where the scene becomes 30 %% brighter"
    )
    parser.add_argument("--size", type=frame_size, default="320x240", help="frame size WxH")
    parser.add_argument(
        "--smooth",
        type=positive_int,
        default=10,
        help="frames F is averaged over before it is compared",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the synthetic scene")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="METHOD.KEY=VALUE",
        help="method parameter, e.g. deepls.net.colour=true (repeatable)",
    )
    parser.add_argument("--json", default=None, help="write the results here")
    parser.add_argument("--plot", default=None, help="write the F-over-time plot here (PNG)")
    args = parser.parse_args(argv)
    if not 100 <= args.jump_at <= args.frames - 200:
        parser.error(
            "--jump-at needs 100 frames before it and 200 after it (F before, then the "
            f"recovery): use 100 <= --jump-at <= --frames - 200 ({args.frames - 200})"
        )

    import torch

    import streamseg as ss
    from streamseg.evaluation.metrics import Confusion
    from streamseg.registry import method_class, method_overrides

    torch.set_num_threads(1)
    w, h = args.size
    methods = [m for m in args.methods.split(",") if m]
    sync = {m: dict(method_class(m).reproducible) for m in methods}
    params = method_overrides(args.set, methods, sync)
    scene = ss.SyntheticScene(
        width=w,
        height=h,
        frames=args.frames,
        seed=args.seed,
        illumination_jump_at=args.jump_at,
        illumination_jump=0.3,
    )
    curves: dict[str, np.ndarray] = {}
    results = {}
    for method in methods:
        f = np.full(args.frames, np.nan)
        t0 = time.perf_counter()
        with ss.create(method, **params.get(method, {})) as seg:
            for t in range(args.frames):
                image, truth = scene.render(t)
                mask = seg.apply(image)
                if truth.any():
                    f[t] = Confusion().update(mask, truth).f_measure
        curves[method] = f
        frames, sustained = recovery(f, args.jump_at, 100, args.smooth, 0.9)
        results[method] = {
            "f_before": float(np.nanmean(f[args.jump_at - 100 : args.jump_at])),
            "f_first_100": float(np.nanmean(f[args.jump_at : args.jump_at + 100])),
            "f_100_to_200": float(np.nanmean(f[args.jump_at + 100 : args.jump_at + 200])),
            "recovery_frames": frames,
            "recovery_seconds": None if frames is None else frames / scene.fps,
            "sustained_recovery_frames": sustained,
            "seconds": time.perf_counter() - t0,
        }
        print(method, results[method], file=sys.stderr, flush=True)
    print(dumps(results, indent=2))
    if args.json:
        Path(args.json).write_text(
            dumps(
                {
                    "args": vars(args),
                    "results": results,
                    "curves": {
                        k: [None if np.isnan(x) else x for x in v.tolist()]
                        for k, v in curves.items()
                    },
                },
                indent=2,
            )
        )
    if args.plot:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(7, 3.5))
        kernel = np.ones(args.smooth) / args.smooth
        for method, f in curves.items():
            ax.plot(np.convolve(np.nan_to_num(f), kernel, mode="same"), label=method)
        ax.axvline(args.jump_at, color="k", linestyle="--", linewidth=0.8)
        ax.set_xlabel("frame")
        ax.set_ylabel(f"F ({args.smooth}-frame mean)")
        ax.set_ylim(0, 1)
        ax.set_title("illumination jumps by 30 % at the dashed line")
        ax.legend()
        fig.tight_layout()
        fig.savefig(args.plot, dpi=110)
    return 0


if __name__ == "__main__":
    sys.exit(run_tool(main))
