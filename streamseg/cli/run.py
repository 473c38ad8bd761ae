"""``streamseg run``: segment a source with one or more methods, write masks and videos."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from streamseg.cli._common import (
    Stopper,
    in_option_words,
    show_progress,
    split_methods,
    stderr_console,
)

if TYPE_CHECKING:
    from streamseg.config import RunConfig
    from streamseg.evaluation.agreement import Agreement
    from streamseg.pipeline import RunStats

#: The run's output fields as ``run`` names them on its command line.
OPTION_WORDS = {
    "set outputs.overwrite": "--overwrite",
    "outputs.masks": "--masks",
    "outputs.video": "--video",
    "outputs.overlay": "--overlay",
    "outputs.mask_video": "--mask-video",
    "outputs.events": "--events",
    "outputs.zones": "--zones",
    "outputs.webhook": "--webhook",
    "outputs.mqtt": "--mqtt",
}


@click.command("run")
@click.option(
    "--source",
    "-s",
    metavar="SRC",
    help="Video file, image folder, webcam index, rtsp:// URL or 'synthetic'.",
)
@click.option("--method", "-m", metavar="NAME[,NAME...]", help="Registered method(s).")
@click.option(
    "--masks",
    metavar="DIR",
    help="Write CDnet masks DIR/binNNNNNN.png (DIR/<method>/ for several methods).",
)
@click.option("--video", metavar="FILE", help="Write a labelled mosaic video (input | methods).")
@click.option("--overlay", metavar="FILE", help="Write an overlay video per method.")
@click.option("--mask-video", metavar="FILE", help="Write a mask video per method.")
@click.option(
    "--web",
    metavar="[HOST:]PORT",
    help="Show the mosaic live in a browser at http://HOST:PORT/ (MJPEG; host 127.0.0.1 "
    "unless given, 0.0.0.0 for the network).",
)
@click.option(
    "--events",
    metavar="FILE",
    help="Raise events (objects in zones) and append them to FILE, one JSON line each; "
    "snapshots and clips go to FILE's name + -media/.",
)
@click.option(
    "--zones",
    metavar="FILE",
    help="Zones file (YAML: zones: polygons, events: detector parameters); without it the "
    "whole frame is one zone.",
)
@click.option("--webhook", metavar="URL", help="POST each event as JSON to URL.")
@click.option(
    "--mqtt",
    metavar="HOST[:PORT]",
    help="Publish events and motion ON/OFF to an MQTT broker (topics streamseg/CAMERA/...).",
)
@click.option("--camera", metavar="NAME", help="The camera's name in events and MQTT topics.")
@click.option("--max-frames", type=click.IntRange(min=1), metavar="N", help="Stop after N frames.")
@click.option(
    "--config",
    "-c",
    metavar="FILE|NAME",
    help="YAML run configuration: a file, or the name of a shipped one (streamseg config list).",
)
@click.option(
    "--set",
    "overrides",
    multiple=True,
    metavar="KEY=VALUE",
    help="Override a value (repeatable): METHOD.KEY=VALUE for a method's parameter, e.g. "
    "mog2.history=200 (KEY=VALUE with one method), or source.KEY, outputs.KEY, max_frames, seed.",
)
@click.option(
    "--model",
    metavar="FILE",
    help="Trained model for deepls/slnet (.pt from streamseg train, or .onnx).",
)
@click.option(
    "--resume",
    metavar="CKPT",
    help="Online deepls/slnet: start from this checkpoint (see --save-checkpoint).",
)
@click.option(
    "--save-checkpoint",
    metavar="CKPT",
    help="Online deepls/slnet: write the learned model here on exit (also on Ctrl-C).",
)
@click.option("--gray", is_flag=True, help="Decode to gray (the Y plane).")
@click.option(
    "--overwrite",
    is_flag=True,
    help="Replace the masks an earlier run left in the --masks folder (else it is refused).",
)
@click.option(
    "--progress/--no-progress",
    default=None,
    help="Progress bar (default: when stderr is a terminal).",
)
def run_cmd(
    source: str | None,
    method: str | None,
    masks: str | None,
    video: str | None,
    overlay: str | None,
    mask_video: str | None,
    web: str | None,
    events: str | None,
    zones: str | None,
    webhook: str | None,
    mqtt: str | None,
    camera: str | None,
    max_frames: int | None,
    config: str | None,
    overrides: tuple[str, ...],
    model: str | None,
    resume: str | None,
    save_checkpoint: str | None,
    gray: bool,
    overwrite: bool,
    progress: bool | None,
) -> int:
    """Segment a source with one or more methods and write masks and videos.

    \b
    Examples:
      streamseg run --source ../shared/data/cdnet_highway/input --method mog2 --masks out/
      streamseg run --source rtsp://cam/stream --method mog2,knn --video mosaic.mp4
      streamseg run --source 0 --method deepls --web 8080    # watch http://127.0.0.1:8080/
      streamseg run --source 0 --method mog2 --events events.jsonl --zones zones.yaml
      streamseg run --config configs/cdnet.yaml --set mog2.history=200
    """
    outputs = {"masks": masks, "video": video, "overlay": overlay, "mask_video": mask_video}
    events_out = {"events": events, "zones": zones, "webhook": webhook, "mqtt": mqtt}
    outputs.update(events_out, web=web, camera=camera)
    args = (config, source, method, outputs, max_frames, gray, overwrite)
    cfg = _resolve_run(*args, overrides)
    flags = {"weights": model, "start": resume, "save": save_checkpoint}
    if any(v is not None for v in flags.values()):
        cfg = _resolve_run(*args, (*overrides, *_checkpoint_sets(cfg, flags)))
    _check_checkpoints(cfg)
    return _run(cfg, show_progress(progress))


def _resolve_run(
    config: str | None,
    source: str | None,
    method: str | None,
    outputs: dict[str, str | None],
    max_frames: int | None,
    gray: bool,
    overwrite: bool,
    overrides: Sequence[str],
) -> RunConfig:
    """Merge a config file, the command-line options and ``--set`` into one RunConfig.

    ``outputs``: the output options given (``masks``, ``video``, ...; None: not given).
    """
    from streamseg.config import find_config, read_yaml_file, run_config_from_dict, run_sections
    from streamseg.errors import ConfigError

    data = run_sections(read_yaml_file(find_config(config))) if config else {}
    data["source"] = data.get("source") or {}  # `source:` left empty is None in YAML
    data["outputs"] = data.get("outputs") or {}
    if source is not None:
        data["source"] = {**data["source"], "uri": source}
    if gray:
        data["source"]["gray"] = True
    names = split_methods(method)
    if names:
        existing = {m["name"]: m for m in data.get("methods") or [] if isinstance(m, dict)}
        data["methods"] = [existing.get(n, {"name": n}) for n in names]
    if not data.get("methods"):
        raise ConfigError("no method given: use --method NAME[,NAME...] (see streamseg list)")
    if not data["source"].get("uri"):
        raise ConfigError("no source given: use --source FILE|FOLDER|URL|WEBCAM|synthetic")
    data["outputs"] = {**data["outputs"], **{k: v for k, v in outputs.items() if v}}
    if overwrite:
        data["outputs"]["overwrite"] = True
    if max_frames is not None:
        data["max_frames"] = max_frames
    return run_config_from_dict(data, overrides)


def _checkpoint_sets(cfg: RunConfig, flags: dict[str, str | None]) -> list[str]:
    """``--model``, ``--resume``, ``--save-checkpoint`` as ``--set`` items of the one
    method of the run (from --method or the config) that keeps a checkpoint."""
    from streamseg.errors import ConfigError
    from streamseg.registry import method_class

    deep = [m.name for m in cfg.methods if method_class(m.name).checkpointable]
    if len(deep) != 1:
        raise ConfigError(
            "--model, --resume and --save-checkpoint need exactly one deepls or slnet "
            f"method in the run, not {len(deep)}; with several, set "
            "methods.NAME.weights/start/save for each"
        )
    return [f"methods.{deep[0]}.{key}={v}" for key, v in flags.items() if v is not None]


def _check_checkpoints(cfg: RunConfig) -> None:
    """Refuse checkpoint settings that would fail or be dropped, before the run starts."""
    from streamseg.errors import ConfigError
    from streamseg.fileio import ensure_writable_dir
    from streamseg.registry import method_class

    for spec in cfg.methods:
        if not method_class(spec.name).checkpointable:
            continue
        if spec.config.weights and spec.config.start not in ("builtin", "random"):
            # A frozen model never reads the checkpoint: the resume would be dropped unsaid.
            raise ConfigError(
                f"{spec.name}: --model (weights) runs a trained model frozen, --resume (start) "
                "goes on learning from a checkpoint: give one of them"
            )
        # A checkpoint is written when the run ends: a bad path must fail before it starts.
        save = spec.config.save
        if save:
            if Path(save).is_dir():
                raise ConfigError(f"{spec.name}.save: {save} is a folder, not a file (model.pt)")
            ensure_writable_dir(Path(save).resolve().parent)


def _run(cfg: RunConfig, progress: bool) -> int:
    """Run ``cfg`` with a progress bar and a stop on a signal; report; the exit code."""
    from streamseg.cli.progress import frame_bar
    from streamseg.errors import SinkError
    from streamseg.evaluation.agreement import Agreement
    from streamseg.pipeline import run_config

    agreement = Agreement() if len(cfg.methods) > 1 else None
    with Stopper() as stopper, frame_bar(cfg, progress) as bar:
        try:
            stats = run_config(
                cfg,
                stop=stopper.event,
                on_progress=bar,
                on_frame=agreement,
                on_open=stopper.on_open,
            )
        except SinkError as err:
            raise SinkError(in_option_words(str(err), OPTION_WORDS)) from err
    console = stderr_console()
    if stopper.stopped and not stats.methods:
        console.print("stopped by signal while the source was opening; nothing was written")
        return stopper.exit_code
    _report(console, cfg, stats, agreement)
    if stopper.stopped:
        console.print(f"stopped by signal after {stats.frames} frames; outputs are complete")
    return stopper.exit_code


def events_line(events: dict[str, Any]) -> str:
    """What a run's events came to, in one line (``RunStats.events``)."""
    zones = ", ".join(
        f"{zone}: {c['starts']} started, {c['ends']} ended" for zone, c in events["zones"].items()
    )
    line = f"events: {events['events']} ({zones})"
    if events.get("guarded"):
        line += f"; {events['guarded']} frames dropped by the lighting guard"
    for name, c in events["outputs"].items():
        lost = c.get("failed", 0) + c.get("dropped", 0)
        line += f"; {name}: {c.get('sent', 0)} sent" + (f", {lost} lost" if lost else "")
    return line


def _report(console: Any, cfg: RunConfig, stats: RunStats, agreement: Agreement | None) -> None:
    """The run's speed, the methods' agreement, and what the user should know."""
    from streamseg.cli.tables import agreement_table, stats_table

    console.print(
        stats_table(
            stats,
            f"{stats.frames} frames in {stats.seconds:.1f} s, "
            f"{stats.fps:.1f} fps end to end, "
            f"{stats.dropped} dropped, {stats.reconnects} reconnects",
        )
    )
    if agreement is not None and agreement.result():
        console.print(agreement_table(agreement.result()))
    if stats.events:
        console.print(events_line(stats.events))
    wanted = cfg.outputs
    videos = (wanted.masks, wanted.video, wanted.overlay, wanted.mask_video, wanted.web)
    if not any(videos) and not wanted.raises_events:
        # A statistics run is legitimate; a forgotten --masks is not, and a run that
        # ends in silence hides it.
        console.print(
            "no output was asked for, so nothing was written (add --masks DIR, --video "
            "FILE, --overlay FILE, --mask-video FILE, --web PORT or --events FILE)"
        )
    if stats.warning:
        from rich.text import Text

        console.print(Text.assemble(("warning:", "yellow"), f" {stats.warning}"))
