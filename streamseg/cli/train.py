"""``streamseg train``: two-pass training of a DeepLS model on a clip (no labels)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from streamseg.cli._common import (
    EXIT_OK,
    Stopper,
    TrainableMethod,
    refuse_input_as_output,
    show_progress,
    stderr_console,
)

if TYPE_CHECKING:
    from streamseg.segmenters.deepls.segmenter import DeepLS
    from streamseg.segmenters.deepls.twopass import TrainedClip


@click.command("train")
@click.argument("source", metavar="SOURCE")
@click.option("--out", "-o", required=True, metavar="MODEL", help="Checkpoint to write (.pt).")
@click.option(
    "--method",
    "-m",
    type=TrainableMethod(),
    help="Model family (default: the one that is not experimental).",
)
@click.option(
    "--set",
    "overrides",
    multiple=True,
    metavar="METHOD.KEY=VALUE",
    help="Method parameter, e.g. deepls.train.steps=200 (the method's name may be left out: "
    "train.steps=200, net.width=24; repeatable).",
)
@click.option(
    "--rpca/--no-rpca",
    default=True,
    show_default=True,
    help="Compare the objective reached with the RPCA optimum on the same frames.",
)
@click.option(
    "--max-frames",
    type=click.IntRange(min=1),
    default=None,
    metavar="N",
    help="Decode at most N frames (needed for a live stream, which never ends).",
)
@click.option("--progress/--no-progress", default=None, help="Progress bars.")
def train_cmd(
    source: str,
    out: str,
    method: str | None,
    overrides: tuple[str, ...],
    rpca: bool,
    max_frames: int | None,
    progress: bool | None,
) -> int:
    """Train a DeepLS model on a clip (no labels): frames sampled across SOURCE.

    Then segment with it: streamseg run --source SOURCE --method deepls --model MODEL
    """
    from streamseg.errors import ConfigError
    from streamseg.fileio import ensure_writable_dir
    from streamseg.registry import method_config, method_overrides
    from streamseg.segmenters.deepls.checkpoint import save_checkpoint
    from streamseg.segmenters.deepls.twopass import check_clip_training

    method = method or TrainableMethod.names(experimental=False)[0]
    params = method_overrides(overrides, [method])[method]
    cfg = method_config(method, params)
    # Nothing segments beside two-pass training: every core, unless asked otherwise
    # (trainer_threads' default of 1 leaves the other core to online inference).
    threads = cfg.trainer_threads if "trainer_threads" in params else 0
    if cfg.train.steps < 1:
        raise ConfigError("train.steps must be >= 1 for `streamseg train` (it trains that many)")
    check_clip_training(cfg)
    refuse_input_as_output(out, source)
    ensure_writable_dir(Path(out).resolve().parent)
    console = stderr_console()
    with Stopper() as stopper:
        trained = _train(source, cfg, threads, max_frames, rpca, console, stopper, progress)
    if stopper.stopped:
        console.print("stopped by signal before training finished; no model written")
        return stopper.exit_code
    save_checkpoint(trained.checkpoint, out)
    _report(console, method, cfg, trained)
    console.print(f"wrote {out}")
    return EXIT_OK


def _train(
    source: str,
    cfg: DeepLS.Config,
    threads: int,
    max_frames: int | None,
    rpca: bool,
    console: Any,
    stopper: Stopper,
    progress: bool | None,
) -> TrainedClip:
    """:func:`~streamseg.segmenters.deepls.twopass.train_clip` with its progress bars."""
    from streamseg.cli.progress import step_bars
    from streamseg.segmenters.deepls.twopass import train_clip

    with step_bars(console, show_progress(progress)) as bar:
        tasks: dict[str, Any] = {}

        def on_open(src: Any) -> None:
            stopper.on_open(src)
            total = src.info.frame_count
            if total and max_frames is not None:
                total = min(total, max_frames)
            tasks["decoding"] = bar.add_task("decoding", total=total or max_frames, info="")
            tasks["decoded"] = 0

        def on_frame(i: int) -> None:
            tasks["decoded"] = i + 1
            bar.update(tasks["decoding"], completed=i + 1)

        def on_step(step: int, loss: float) -> None:
            if "training" not in tasks:
                done = tasks["decoded"]  # what there was to decode
                bar.update(tasks["decoding"], total=done, completed=done)
                tasks["training"] = bar.add_task("training", total=cfg.train.steps, info="")
            bar.update(tasks["training"], completed=step + 1, info=f"loss {loss:.4f}")

        return train_clip(
            source,
            cfg,
            threads=threads,
            max_frames=max_frames,
            rpca=rpca,
            max_frames_hint="--max-frames N",
            on_open=on_open,
            on_frame=on_frame,
            on_step=on_step,
            should_stop=stopper.event.is_set,
        )


def _report(console: Any, method: str, cfg: DeepLS.Config, trained: TrainedClip) -> None:
    """What was trained, how long it took, and how near the RPCA optimum it came."""
    size, report = trained.size, trained.report
    console.print(
        f"trained {method} ({cfg.net.family}, width {cfg.net.width}, {size[1]}x{size[0]}) "
        f"on {trained.frames} frames: {report.steps} steps in {report.seconds:.1f} s, "
        f"final loss {trained.loss:.4f}"
    )
    if report.rpca_ratio is not None:
        console.print(
            f"RPCA objective on {min(cfg.train.frames, trained.frames)} of those frames: net "
            f"{report.objective_net:.2f}, convex optimum {report.objective_rpca:.2f} "
            f"(ratio {report.rpca_ratio:.3f}; 1.0 is optimal)"
        )
