"""``streamseg demo``: the methods on the synthetic scene, scored against its exact truth."""

from __future__ import annotations

import click

from streamseg.cli._common import (
    Stopper,
    show_progress,
    split_methods,
    stderr_console,
    stdout_console,
)


@click.command("demo")
@click.option(
    "--out", default="streamseg-demo", show_default=True, metavar="DIR", help="Output folder."
)
@click.option("--frames", default=300, show_default=True, type=click.IntRange(min=10))
@click.option("--size", default="320x240", show_default=True, metavar="WxH")
@click.option(
    "--method",
    "-m",
    metavar="NAME[,NAME...]",
    help="Methods to run (default: every available one that is not experimental).",
)
@click.option(
    "--web",
    metavar="[HOST:]PORT",
    help="Also show the mosaic live in a browser at http://HOST:PORT/, the scene played "
    "at its frame rate.",
)
@click.option("--progress/--no-progress", default=None, help="Progress bar.")
def demo_cmd(
    out: str,
    frames: int,
    size: str,
    method: str | None,
    web: str | None,
    progress: bool | None,
) -> int:
    """Run the methods on the built-in synthetic scene and score them against its exact truth.

    Writes DIR/mosaic.mp4 (input and every method side by side), DIR/masks/<method>/,
    DIR/metrics.json and DIR/metrics.md, and prints the table. With --web the same
    mosaic is shown live while the scene plays at its frame rate.
    """
    from streamseg.cli.progress import frame_bar
    from streamseg.cli.tables import demo_table
    from streamseg.evaluation.demo import demo_config, run_demo, write_demo

    methods = split_methods(method)
    cfg = demo_config(out, frames=frames, size=size, methods=methods, web=web)
    with Stopper() as stopper, frame_bar(cfg, show_progress(progress)) as bar:
        result = run_demo(cfg, stop=stopper.event, on_progress=bar, on_open=stopper.on_open)
    stdout_console().print(demo_table(result, size))
    write_demo(result, out)
    stderr_console().print(f"wrote {out}/mosaic.mp4, {out}/masks/, {out}/metrics.md")
    return stopper.exit_code
