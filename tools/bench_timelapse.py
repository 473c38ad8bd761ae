"""Cell masks on a simulated time-lapse: DeepLS with TV (none, penalty, ADMM) and baselines.

One time-lapse is simulated (:func:`streamseg.sources.simulated.simulate_timelapse`:
textured cells that drift, deform and divide under uneven, slowly changing
illumination, with exact masks). Each variant removes the background, its mask is
drawn by the same rule for all (``frame − background > --k``·σ, parts under
``--min-area`` pixels dropped, :class:`streamseg.stacks.MaskRule`), and it is scored
against the exact masks over every frame: F-measure and IoU.

The variants (``VARIANTS``): the DeepLS U-Net trained on the stack by the low-rank +
sparse loss without TV, with the anisotropic TV as a penalty, and with TV split by
ADMM (the same weight μ); the temporal median and the rolling ball for reference.

    python tools/bench_timelapse.py --out docs/results/timelapse \\
        --figure docs/microscopy_timelapse.png
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from _common import frame_size, positive_int, run_tool

#: The variants compared: a label → (stack method, parameters).
VARIANTS: dict[str, tuple[str, dict[str, Any]]] = {
    "deepls": ("deepls", {"tv_mode": "none"}),
    "deepls-tv-penalty": ("deepls", {"tv_mode": "penalty"}),
    "deepls-tv-admm": ("deepls", {"tv_mode": "admm"}),
    "median": ("median", {"window": 31}),
    "rolling-ball": ("rolling-ball", {"radius": 20, "smooth": 1.0}),
}


def run(label: str, sim: Any, rule: Any, args: argparse.Namespace) -> tuple[dict, np.ndarray]:
    """One variant on the time-lapse: its scores and its masks."""
    from streamseg.evaluation.stacks import MaskScores
    from streamseg.segmenters.stack import create_stack_method

    name, params = VARIANTS[label]
    params = dict(params)
    if name == "deepls":
        params.update(steps=args.steps, threads=args.threads, seed=args.seed, tv=args.tv)
    method = create_stack_method(name, **params)
    t0 = time.perf_counter()
    method.fit(sim.raw)
    fit = time.perf_counter() - t0
    scores = MaskScores()
    masks = np.zeros(sim.masks.shape, bool)
    for part in method.decompose(sim.raw):
        masks[part.index] = rule.apply(part.residual) > 0
        scores.add(masks[part.index], sim.masks[part.index])
    row = {
        "method": label,
        "f_measure": scores.f_measure,
        "iou": scores.iou,
        "train_s": round(fit, 2),
    }
    return row, masks


def table(rows: list[dict[str, Any]]) -> str:
    out = ["| method | F | IoU | training (s) |", "|---|---|---|---|"]
    for r in rows:
        out.append(
            f"| {r['method']} | {r['f_measure']:.3f} | {r['iou']:.3f} | {r['train_s']:.1f} |"
        )
    return "\n".join(out) + "\n"


def figure(rows: list[dict[str, Any]], sim: Any, masks: dict[str, np.ndarray], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    shown = [
        k for k in ("deepls", "deepls-tv-penalty", "deepls-tv-admm", "rolling-ball") if k in masks
    ]
    t = len(sim.raw) // 2
    fig, axes = plt.subplots(1, 3 + len(shown), figsize=(3 * (3 + len(shown)), 3.4))
    labels = [r["method"] for r in rows]
    axes[0].barh(labels, [r["f_measure"] for r in rows], color="tab:blue", label="F")
    axes[0].barh(labels, [r["iou"] for r in rows], color="tab:orange", height=0.4, label="IoU")
    axes[0].set_xlim(0, 1)
    axes[0].invert_yaxis()
    axes[0].legend(fontsize=8, loc="lower right")
    axes[0].set_title("mask F and IoU")
    axes[0].tick_params(labelsize=8)
    axes[1].imshow(sim.raw[t], cmap="gray")
    axes[1].set_title(f"frame {t}")
    axes[2].imshow(sim.masks[t], cmap="gray")
    axes[2].set_title("true mask")
    for ax, key in zip(axes[3:], shown, strict=True):
        ax.imshow(masks[key][t], cmap="gray")
        ax.set_title(key, fontsize=9)
    for ax in axes[1:]:
        ax.axis("off")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--methods",
        default=",".join(VARIANTS),
        help=f"comma-separated variants of {', '.join(VARIANTS)}",
    )
    parser.add_argument("--frames", type=positive_int, default=60, help="frames of the stack")
    parser.add_argument("--size", type=frame_size, default="128x128", help="frame size WxH")
    parser.add_argument("--steps", type=positive_int, default=300, help="DeepLS training steps")
    parser.add_argument("--tv", type=float, default=0.5, help="TV weight μ (penalty and ADMM)")
    parser.add_argument("--k", type=float, default=3.0, help="mask threshold in σ")
    parser.add_argument("--min-area", type=int, default=20, help="smallest mask part (pixels)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the stack and the nets")
    parser.add_argument("--threads", type=int, default=2, help="torch threads")
    parser.add_argument("--out", type=Path, help="folder for results.json and results.md")
    parser.add_argument("--figure", type=Path, help="PNG of the scores and example masks")
    args = parser.parse_args(argv)
    labels = [m.strip() for m in args.methods.split(",") if m.strip()]
    unknown = [m for m in labels if m not in VARIANTS]
    if unknown:
        parser.error(f"unknown variants {', '.join(unknown)} (known: {', '.join(VARIANTS)})")

    from streamseg.sources.simulated import TimelapseConfig, simulate_timelapse
    from streamseg.stacks import MaskRule

    w, h = args.size
    sim = simulate_timelapse(TimelapseConfig(frames=args.frames, size=(h, w)), seed=args.seed)
    rule = MaskRule(k=args.k, min_area=args.min_area)
    rows, masks = [], {}
    for label in labels:
        row, masks[label] = run(label, sim, rule, args)
        rows.append(row)
        print(json.dumps(row), flush=True)
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        meta = {
            "frames": args.frames,
            "size": [w, h],
            "steps": args.steps,
            "tv": args.tv,
            "k": args.k,
            "min_area": args.min_area,
            "seed": args.seed,
            "variants": {k: list(VARIANTS[k]) for k in labels},
        }
        (args.out / "results.json").write_text(
            json.dumps({"config": meta, "rows": rows}, indent=1) + "\n"
        )
        (args.out / "results.md").write_text(table(rows))
    print(table(rows))
    if args.figure:
        figure(rows, sim, masks, args.figure)
    return 0


if __name__ == "__main__":
    sys.exit(run_tool(main))
