"""``streamseg synth``: the synthetic scene as a CDnet-layout sequence (and a video)."""

from __future__ import annotations

from pathlib import Path

import click

from streamseg.cli._common import EXIT_OK, stderr_console


@click.command("synth")
@click.argument("out", metavar="OUT")
@click.option("--frames", default=300, show_default=True, type=click.IntRange(min=1))
@click.option("--size", default="320x240", show_default=True, metavar="WxH")
@click.option("--seed", default=0, show_default=True, type=int)
@click.option("--noise", default=3.0, show_default=True, type=click.FloatRange(min=0))
@click.option(
    "--illumination-jump-at",
    type=click.IntRange(min=0),
    default=None,
    metavar="T",
    help="Frame of a sudden global brightness change.",
)
@click.option(
    "--warm-up",
    default=None,
    type=click.IntRange(min=0),
    help="Frames left unscored first: temporalROI.txt starts at N+1 (CDnet counts from 1). "
    "[default: 50, half the frames of a shorter scene]",
)
@click.option(
    "--video/--no-video", default=True, show_default=True, help="Also write OUT/synthetic.mp4."
)
@click.option(
    "--overwrite", is_flag=True, help="Replace the sequence already in OUT (refused otherwise)."
)
def synth_cmd(
    out: str,
    frames: int,
    size: str,
    seed: int,
    noise: float,
    illumination_jump_at: int | None,
    warm_up: int | None,
    video: bool,
    overwrite: bool,
) -> int:
    """Write the synthetic scene as a CDnet-layout sequence (and a video) in OUT."""
    from streamseg.errors import ConfigError
    from streamseg.outputs import Earlier, clear_earlier, refuse_earlier
    from streamseg.sources import parse_synthetic
    from streamseg.sources.synthetic import write_sequence

    if warm_up is None:
        warm_up = min(50, frames // 2)
    if warm_up >= frames:
        raise ConfigError(
            f"--warm-up {warm_up} leaves none of the {frames} frames to score; "
            "give fewer warm-up frames than --frames"
        )
    earlier = [
        *Path(out).glob("input/in*.png"),
        *Path(out).glob("groundtruth/gt*.png"),
        *Path(out).glob("synthetic.mp4"),
    ]
    # A shorter sequence over a longer one leaves a mixture of the two (of two sizes,
    # perhaps) that run and eval would take for one.
    policy: Earlier = "overwrite" if overwrite else "refuse"
    what = f"a sequence ({len(earlier)} files)"
    refuse_earlier(earlier, policy, where=Path(out), what=what, overwrite="--overwrite")

    jump = (
        f",illumination_jump_at={illumination_jump_at}" if illumination_jump_at is not None else ""
    )
    scene = parse_synthetic(
        f"synthetic:frames={frames},size={size},seed={seed},noise={noise}{jump}"
    )
    clear_earlier(earlier, policy)
    write_sequence(scene, Path(out), warm_up=warm_up, video=video)
    stderr_console().print(
        f"wrote {frames} frames to {out}/ (input/, groundtruth/, ROI.bmp, "
        f"temporalROI.txt{', synthetic.mp4' if video else ''})"
    )
    return EXIT_OK
