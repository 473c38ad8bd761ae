"""Train the starting models shipped in ``streamseg/models/`` (reproducible).

Online DeepLS starts from these weights so masks come from the first frame, before
the first fine-tuned model is swapped in. They are trained with the low-rank +
sparse loss, like everything else, on the built-in synthetic scene: several seeds
(different textures, objects, paths) at the default processing size, so the
network has learned "a sparse residual on top of a smooth background" rather than
one particular scene. Fixed seeds, one torch thread and a fixed number of steps
make the files reproducible.

    python tools/train_start_model.py
    # writes streamseg/models/deepls_start.pt, deepls_start_colour.pt and slnet_start.pt
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path

import numpy as np
from _common import positive_int, run_tool

# 1000 steps for the U-Net: in an exploratory comparison (online runs on the shared
# sequences, not a shipped benchmark) a 12-scene, 1500-step model did no better.
# SLNet's few weights settle by 300.
DEFAULT_STEPS = {"unet": 1000, "unet-colour": 1000, "slnet": 300}

# What each starting model is: (method, net.colour, file).
FAMILIES = {
    "unet": ("deepls", False, "deepls_start.pt"),
    "unet-colour": ("deepls", True, "deepls_start_colour.pt"),
    "slnet": ("slnet", False, "slnet_start.pt"),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--out",
        default=str(Path(__file__).resolve().parents[1] / "streamseg" / "models"),
        help="folder of the checkpoints (default: the package's models/)",
    )
    parser.add_argument("--scenes", type=positive_int, default=6, help="synthetic scenes (seeds)")
    parser.add_argument(
        "--frames", type=positive_int, default=120, help="frames rendered per scene"
    )
    parser.add_argument(
        "--steps",
        type=positive_int,
        default=None,
        help="gradient steps (default: 1000 for unet and unet-colour, 300 for slnet, as shipped)",
    )
    parser.add_argument(
        "--family",
        default="unet,unet-colour,slnet",
        help="which starting models, comma-separated: unet (grey), unet-colour, slnet",
    )
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="[deepls.]KEY=VALUE",
        help="deepls parameter, e.g. net.context=median (default: the defaults)",
    )
    args = parser.parse_args(argv)

    import torch

    torch.set_num_threads(1)
    from streamseg.registry import method_config, method_overrides
    from streamseg.segmenters.deepls.checkpoint import save_checkpoint
    from streamseg.segmenters.deepls.context import window_context
    from streamseg.segmenters.deepls.train import Trainer, sample_indices
    from streamseg.segmenters.deepls.twopass import model_checkpoint
    from streamseg.segmenters.preprocess import processing_size, to_processing
    from streamseg.sources.synthetic import SyntheticScene

    for family in args.family.split(","):
        if family not in FAMILIES:
            parser.error(f"unknown family {family!r}: use {', '.join(FAMILIES)}")
        method, colour, filename = FAMILIES[family]
        params = method_overrides(args.set if method == "deepls" else [], [method])[method]
        params.setdefault("net", {})["colour"] = colour
        cfg = method_config(method, params)
        if args.frames < 2 * cfg.window:
            parser.error(f"--frames must be at least 2 x window ({2 * cfg.window}): a batch")
        size = processing_size(240, 320, cfg.area)
        clips = []
        for seed in range(args.scenes):
            scene = SyntheticScene(width=320, height=240, frames=args.frames, seed=1000 + seed)
            clips.append(
                np.stack(
                    [
                        to_processing(scene.render(t)[0], size, cfg.net.colour)
                        for t in range(scene.frames)
                    ]
                )
            )
        torch.manual_seed(0)
        trainer = Trainer(cfg.net, cfg.train, seed=0)
        rng = np.random.default_rng(0)
        t0 = time.perf_counter()
        steps = args.steps if args.steps is not None else DEFAULT_STEPS[family]
        for step in range(steps):
            # One scene per step: a batch must come from one camera to be low-rank.
            clip = clips[step % len(clips)]
            start = int(rng.integers(0, len(clip) - cfg.window * 2 + 1))
            batch = clip[start : start + cfg.window * 2][sample_indices(cfg.window * 2, cfg.window)]
            loss = trainer.step(batch, window_context(batch, cfg.net.context))
            if step % 50 == 0:
                print(f"{family} step {step}: loss {loss:.4f}", file=sys.stderr, flush=True)
        calib = clips[0][sample_indices(len(clips[0]), cfg.window)]
        trainer.recalibrate(calib, window_context(calib, cfg.net.context))
        meta = {
            "trained_on": f"{args.scenes} synthetic scenes (seeds 1000..), "
            f"{args.frames} frames each, {steps} steps",
            "seconds": time.perf_counter() - t0,
            "version": 0,
            "train": dataclasses.asdict(trainer.config),
        }
        out = Path(args.out) / filename
        save_checkpoint(model_checkpoint(trainer, cfg, size, meta), out)
        print(
            f"wrote {out} ({out.stat().st_size / 1e3:.0f} kB) in {time.perf_counter() - t0:.0f} s",
            file=sys.stderr,
        )
    return 0


if __name__ == "__main__":
    sys.exit(run_tool(main))
