"""SMLM background removal on simulated stacks: background RMSE and emitter detection F1.

For each signal-to-background ratio (``--sbr``), one stack is simulated
(:func:`streamseg.sources.simulated.simulate_smlm`, seeded) and every method removes
its background; each is scored on the same truth:

* background RMSE (ADU) against the noise-free background;
* emitter detection: one fixed detector for all (local maxima above ``--k``·σ of the
  Gaussian-smoothed background-removed frames, σ from the raw stack), detections matched
  one to one to the true emitters within 1.5 px; recall, precision, F1.

The methods are named variants of the stack methods (``--methods``, see ``VARIANTS``):
SLNet as streamseg configures it and as the paper did, DeepLS trained on the stack,
the centred and causal temporal medians, the rolling ball. Training runs on the stack
itself, without labels. Writes a JSON of every number, a Markdown table and a figure.

    python tools/bench_smlm.py --out docs/results/smlm --figure docs/microscopy_smlm.png
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
    "slnet": ("slnet", {}),
    "slnet-paper": (
        "slnet",
        {"temporal_shifts": (0, 49, 99), "kernel": 1, "hidden_relu": False, "loss": "paper"},
    ),
    "deepls": ("deepls", {"steps": 300}),
    "median": ("median", {"window": 51, "mode": "centred"}),
    "median-causal": ("median", {"window": 51, "mode": "causal"}),
    "rolling-ball": ("rolling-ball", {"radius": 10, "smooth": 1.0}),
}


def score(
    label: str, sim: Any, detector: Any, threads: int, seed: int
) -> tuple[dict[str, Any], np.ndarray]:
    """Run one variant on one simulated stack: its scores, and its middle frame's sparse part."""
    from streamseg.evaluation.stacks import DetectionScores, match
    from streamseg.segmenters.stack import create_stack_method

    name, params = VARIANTS[label]
    params = dict(params)
    if name in ("slnet", "deepls"):
        params.setdefault("threads", threads)
        params.setdefault("seed", seed)
    method = create_stack_method(name, **params)
    t0 = time.perf_counter()
    method.fit(sim.raw)
    fit = time.perf_counter() - t0
    detections = DetectionScores()
    sq, n = 0.0, 0
    t1 = time.perf_counter()
    middle = np.zeros(0)
    for part in method.decompose(sim.raw):
        if part.index == len(sim.raw) // 2:
            middle = part.sparse
        err = part.background.astype(np.float64) - sim.background[part.index]
        sq += float((err**2).sum())
        n += err.size
        detections.add(match(detector.detect(part.residual), sim.emitters_in(part.index), 1.5))
    apply = time.perf_counter() - t1
    return {
        "method": label,
        "rmse": float(np.sqrt(sq / n)),
        "recall": detections.recall,
        "precision": detections.precision,
        "f1": detections.f1,
        "train_s": round(fit, 2),
        "ms_per_frame": round(1000 * apply / len(sim.raw), 2),
    }, middle


def table(rows: list[dict[str, Any]], sbrs: list[float], labels: list[str]) -> str:
    out = ["| method | " + " | ".join(f"SBR {s:g}" for s in sbrs) + " |"]
    out.append("|---|" + "---|" * len(sbrs))
    for key, title in (("f1", "F1"), ("rmse", "RMSE (ADU)")):
        out.append(f"| **{title}** |" + " |" * len(sbrs))
        for label in labels:
            cells = [
                next(
                    f"{r[key]:.3f}" if key == "f1" else f"{r[key]:.2f}"
                    for r in rows
                    if r["method"] == label and r["sbr"] == s
                )
                for s in sbrs
            ]
            out.append(f"| {label} | " + " | ".join(cells) + " |")
    out.append("")
    out.append("| method | " + " | ".join(f"recall / precision, SBR {s:g}" for s in sbrs) + " |")
    out.append("|---|" + "---|" * len(sbrs))
    for label in labels:
        cells = [
            next(
                f"{r['recall']:.3f} / {r['precision']:.3f}"
                for r in rows
                if r["method"] == label and r["sbr"] == s
            )
            for s in sbrs
        ]
        out.append(f"| {label} | " + " | ".join(cells) + " |")
    out.append("")
    out.append("| method | training (s) | ms per frame |")
    out.append("|---|---|---|")
    for label in labels:
        mine = [r for r in rows if r["method"] == label]
        train = np.mean([r["train_s"] for r in mine])
        per = np.mean([r["ms_per_frame"] for r in mine])
        out.append(f"| {label} | {train:.1f} | {per:.1f} |")
    return "\n".join(out) + "\n"


def figure(
    rows: list[dict[str, Any]], sbrs: list[float], labels: list[str], path: Path, example: Any
) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=(11, 6.4))
    grid = fig.add_gridspec(2, 4, height_ratios=[1.0, 1.0])
    for col, (key, title) in enumerate((("f1", "detection F1"), ("rmse", "background RMSE (ADU)"))):
        ax = fig.add_subplot(grid[0, 2 * col : 2 * col + 2])
        for label in labels:
            ys = [
                next(r[key] for r in rows if r["method"] == label and r["sbr"] == s) for s in sbrs
            ]
            ax.plot(sbrs, ys, marker="o", label=label)
        ax.set_xscale("log")
        ax.minorticks_off()
        ax.set_xticks(sbrs, [f"{s:g}" for s in sbrs])
        ax.set_xlabel("signal-to-background ratio")
        ax.set_title(title)
        ax.grid(alpha=0.3)
        if col == 0:
            ax.legend(fontsize=8)
    raw, truth, parts = example
    for i, (img, title) in enumerate([(raw, "raw frame"), (truth, "true background")] + parts[:2]):
        ax = fig.add_subplot(grid[1, i])
        ax.imshow(img, cmap="gray")
        ax.set_title(title, fontsize=9)
        ax.axis("off")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--sbr", default="0.25,0.5,1,2", help="signal-to-background ratios, comma-separated"
    )
    parser.add_argument(
        "--methods",
        default=",".join(VARIANTS),
        help=f"comma-separated variants of {', '.join(VARIANTS)}",
    )
    parser.add_argument("--frames", type=positive_int, default=300, help="frames per stack")
    parser.add_argument("--size", type=frame_size, default="128x128", help="frame size WxH")
    parser.add_argument("--k", type=float, default=4.0, help="detector threshold in σ")
    parser.add_argument("--seed", type=int, default=0, help="seed of the stacks and the nets")
    parser.add_argument("--threads", type=int, default=2, help="torch threads")
    parser.add_argument("--out", type=Path, help="folder for results.json and results.md")
    parser.add_argument("--figure", type=Path, help="PNG of the curves and an example")
    args = parser.parse_args(argv)
    labels = [m.strip() for m in args.methods.split(",") if m.strip()]
    unknown = [m for m in labels if m not in VARIANTS]
    if unknown:
        parser.error(f"unknown variants {', '.join(unknown)} (known: {', '.join(VARIANTS)})")
    try:
        sbrs = [float(s) for s in args.sbr.split(",") if s.strip()]
    except ValueError:
        parser.error(f"--sbr: {args.sbr!r} is not a list of numbers")

    from streamseg.evaluation.stacks import EmitterDetector
    from streamseg.sources.simulated import SMLMConfig, simulate_smlm

    rows: list[dict[str, Any]] = []
    example: Any = None
    shown = sbrs[len(sbrs) // 2]  # the example frames of the figure come from this SBR
    w, h = args.size
    for sbr in sbrs:
        sim = simulate_smlm(SMLMConfig(frames=args.frames, size=(h, w), sbr=sbr), seed=args.seed)
        detector = EmitterDetector(sim.raw[: min(200, len(sim.raw))], sim.config.psf_sigma, args.k)
        parts = []
        for label in labels:
            scores, middle = score(label, sim, detector, args.threads, args.seed)
            rows.append({"sbr": sbr, **scores})
            print(json.dumps(rows[-1]), flush=True)
            if label in ("slnet", "median"):
                parts.append((middle, f"{label}: background removed (SBR {sbr:g})"))
        if sbr == shown:
            t = len(sim.raw) // 2
            example = (sim.raw[t], sim.background[t], parts)
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        meta = {
            "frames": args.frames,
            "size": [w, h],
            "k": args.k,
            "seed": args.seed,
            "variants": {k: [VARIANTS[k][0], VARIANTS[k][1]] for k in labels},
        }
        (args.out / "results.json").write_text(
            json.dumps({"config": meta, "rows": rows}, indent=1, default=list) + "\n"
        )
        (args.out / "results.md").write_text(table(rows, sbrs, labels))
    print(table(rows, sbrs, labels))
    if args.figure and example is not None:
        figure(rows, sbrs, labels, args.figure, example)
    return 0


if __name__ == "__main__":
    sys.exit(run_tool(main))
