"""``streamseg microscopy``: background removal on TIFF stacks, and simulated stacks."""

from __future__ import annotations

from typing import Any

import click

from streamseg.cli._common import EXIT_OK, Stopper, show_progress, stderr_console, stdout_console


class StackMethod(click.ParamType):
    """A stack method's name (checked against the list, which imports nothing heavy)."""

    name = "method"

    def convert(self, value: Any, param: Any, ctx: Any) -> str:
        from streamseg.segmenters.stack import stack_methods

        if value not in stack_methods():
            self.fail(f"{value!r} is not one of {', '.join(stack_methods())}", param, ctx)
        return str(value)


@click.group("microscopy")
def microscopy_group() -> None:
    """Microscopy stacks (TIFF, OME-TIFF): background removal, simulated stacks.

    \b
      streamseg microscopy run STACK.tif --method slnet --sparse S.tif --background B.tif
      streamseg microscopy simulate smlm SIM.tif --background TRUE_BG.tif
      streamseg microscopy list
    """


@microscopy_group.command("run")
@click.argument("stack", metavar="STACK")
@click.option(
    "--method",
    "-m",
    type=StackMethod(),
    help="Background method (default: SLNet; streamseg microscopy list).",
)
@click.option("--sparse", metavar="TIF", help="Write the frames with their background removed.")
@click.option("--background", metavar="TIF", help="Write the backgrounds.")
@click.option("--mask", metavar="TIF", help="Write the masks (uint8, 255: foreground).")
@click.option(
    "--set",
    "overrides",
    multiple=True,
    metavar="KEY=VALUE",
    help="Method parameter, e.g. steps=200 or temporal_shifts=[0,49,99] (repeatable).",
)
@click.option(
    "--float",
    "as_float",
    is_flag=True,
    help="Write the sparse part and background as float32 (default: the input's type).",
)
@click.option(
    "--mask-k",
    default=4.0,
    show_default=True,
    type=click.FloatRange(min=0, min_open=True),
    help="Mask threshold in noise standard deviations.",
)
@click.option(
    "--min-area",
    default=0,
    show_default=True,
    type=click.IntRange(min=0),
    help="Drop mask parts smaller than this many pixels.",
)
@click.option("--progress/--no-progress", default=None, help="Progress bars.")
def run_stack_cmd(
    stack: str,
    method: str | None,
    sparse: str | None,
    background: str | None,
    mask: str | None,
    overrides: tuple[str, ...],
    as_float: bool,
    mask_k: float,
    min_area: int,
    progress: bool | None,
) -> int:
    """Remove the background of every frame of STACK, in its bit depth.

    Methods that learn (slnet, deepls) train on STACK itself first, without labels.
    Outputs keep the input's pixel size and frame interval.
    """
    from streamseg.cli.progress import step_bars
    from streamseg.errors import ConfigError
    from streamseg.params import params_from_overrides
    from streamseg.segmenters.stack.base import DEFAULT_METHOD
    from streamseg.stacks import MaskRule, StackOutputs, process_stack

    method = method or DEFAULT_METHOD
    outputs = StackOutputs(
        sparse=sparse, background=background, mask=mask, dtype="float32" if as_float else "input"
    )
    if not outputs.named():
        raise ConfigError("nothing to write: give --sparse, --background and/or --mask")
    _checked(outputs, {f"outputs.{k}": f"--{k}" for k in ("sparse", "background", "mask")})
    params = params_from_overrides(overrides)
    console = stderr_console()
    with Stopper() as stopper, step_bars(console, show_progress(progress)) as bar:
        tasks: dict[str, Any] = {}

        def on_progress(stage: str, done: int, total: int) -> None:
            label = {"train": "training", "frames": "frames"}[stage]
            if label not in tasks:
                tasks[label] = bar.add_task(label, total=total, info="")
            bar.update(tasks[label], completed=done)

        stats = process_stack(
            stack,
            method,
            params,
            outputs,
            mask=MaskRule(mask_k, min_area),
            on_progress=on_progress,
            should_stop=stopper.event.is_set,
        )
    if stats.stopped:
        console.print("stopped by signal; no stack written (a partial stack is no result)")
        return stopper.exit_code
    info = stats.info
    size = f", {info.pixel_size[1]:g} {info.unit}/px" if info.pixel_size else ""
    trained = (
        f", trained {stats.train_steps} steps in {stats.train_seconds:.1f} s"
        if stats.train_steps
        else ""
    )
    console.print(
        f"{method}: {stats.frames} frames of {info.width}x{info.height} {info.dtype}{size} "
        f"in {stats.seconds:.1f} s{trained}"
    )
    for key, path in stats.outputs.items():
        console.print(f"wrote {key}: {path}")
    return EXIT_OK


@microscopy_group.command("simulate")
@click.argument("kind", type=click.Choice(["smlm", "timelapse"]))
@click.argument("out", metavar="OUT.tif")
@click.option("--frames", type=click.IntRange(min=1), help="Frames (default: 500 SMLM, 60 cells).")
@click.option("--size", default="128x128", show_default=True, metavar="WxH")
@click.option(
    "--sbr",
    default=0.5,
    show_default=True,
    type=click.FloatRange(min=0, min_open=True),
    help="SMLM: signal-to-background ratio of a mean emitter's peak.",
)
@click.option("--seed", default=0, show_default=True, type=int)
@click.option(
    "--background",
    "truth_background",
    metavar="TIF",
    help="Also write the true background (float32, ADU).",
)
@click.option("--masks", "truth_masks", metavar="TIF", help="Time-lapse: the exact masks.")
@click.option("--emitters", metavar="CSV", help="SMLM: every emitter on (frame, y, x, photons).")
def simulate_cmd(
    kind: str,
    out: str,
    frames: int | None,
    size: str,
    sbr: float,
    seed: int,
    truth_background: str | None,
    truth_masks: str | None,
    emitters: str | None,
) -> int:
    """Write a simulated 16-bit stack (KIND: smlm or timelapse) and, on request, its truth."""
    import numpy as np

    from streamseg.errors import ConfigError
    from streamseg.sinks.tiffstack import write_stack
    from streamseg.sources.simulated import (
        SMLMConfig,
        TimelapseConfig,
        simulate_smlm,
        simulate_timelapse,
    )
    from streamseg.stacks import StackOutputs

    try:
        w, h = (int(v) for v in size.lower().split("x"))
    except ValueError:
        raise ConfigError(f"--size {size!r} is not WxH, e.g. 128x128") from None
    if kind == "smlm" and truth_masks:
        raise ConfigError("--masks is the time-lapse's truth; an SMLM stack has --emitters")
    if kind == "timelapse" and emitters:
        raise ConfigError("--emitters is the SMLM truth; a time-lapse has --masks")
    _checked(
        StackOutputs(sparse=out, background=truth_background, mask=truth_masks),
        {"outputs.sparse": "OUT", "outputs.background": "--background", "outputs.mask": "--masks"},
    )
    sim: Any
    if kind == "smlm":
        sim = simulate_smlm(SMLMConfig(frames=frames or 500, size=(h, w), sbr=sbr), seed=seed)
    else:
        sim = simulate_timelapse(TimelapseConfig(frames=frames or 60, size=(h, w)), seed=seed)
    write_stack(out, sim.raw, description=f"streamseg simulated {kind}, seed {seed}")
    wrote = [out]
    if truth_background:
        write_stack(truth_background, sim.background, description="true background (ADU)")
        wrote.append(truth_background)
    if truth_masks:
        write_stack(truth_masks, sim.masks.astype(np.uint8) * 255, description="exact masks")
        wrote.append(truth_masks)
    if emitters:
        np.savetxt(
            emitters,
            sim.emitters,
            delimiter=",",
            fmt=["%d", "%.3f", "%.3f", "%.1f"],
            header="frame,y,x,photons",
            comments="",
        )
        wrote.append(emitters)
    stderr_console().print(f"wrote {len(sim.raw)} frames of {w}x{h}: {', '.join(wrote)}")
    return EXIT_OK


@microscopy_group.command("list")
@click.argument("method", metavar="[METHOD]", required=False, type=StackMethod())
def list_stack_cmd(method: str | None) -> int:
    """The stack methods; with METHOD, each of its parameters."""
    import inspect

    from streamseg.cli.tables import parameters_table
    from streamseg.params import describe_config
    from streamseg.segmenters.stack import stack_method_class, stack_methods

    console = stdout_console()
    for name in [method] if method else stack_methods():
        cls = stack_method_class(name)
        about = " ".join(inspect.cleandoc(cls.__doc__ or "").split("\n\n")[0].split())
        about = about.replace("``", "")
        if method:
            console.print(parameters_table(f"{name}: {about}", describe_config(cls.Config)))
            console.print(
                f"set one with --set KEY=VALUE, e.g. streamseg microscopy run STACK "
                f"--method {name} --set {describe_config(cls.Config)[0][0]}=..."
            )
        else:
            console.print(f"{name:14} {about}")
    return EXIT_OK


def _checked(outputs: Any, words: dict[str, str]) -> None:
    """``check_stack_outputs``, its messages naming the command's options."""
    from streamseg.cli._common import in_option_words
    from streamseg.errors import ConfigError, SinkError
    from streamseg.stacks import check_stack_outputs

    try:
        check_stack_outputs(None, outputs)
    except (ConfigError, SinkError) as err:
        raise type(err)(in_option_words(str(err), words)) from None
