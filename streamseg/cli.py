"""The ``streamseg`` command.

Each subcommand is a small function that imports what it needs, so
``streamseg --help`` answers at once (no torch). Exit codes: 0 done, 1 runtime
failure, 2 usage or input error (one line on stderr, no traceback; ``--debug``
shows it), 130 stopped by SIGINT, 143 stopped by SIGTERM (outputs finalised).
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import re
import signal
import sys
import threading
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, NoReturn

import click

__all__ = ["entry", "main"]

log = logging.getLogger("streamseg")

EXIT_OK, EXIT_RUNTIME, EXIT_USAGE, EXIT_SIGINT, EXIT_SIGTERM = 0, 1, 2, 130, 143


#: Width of tables written to a file or pipe (a log, systemd's journal): rich's 80 columns
#: cut a stream's error to one word per row, and nothing there wraps lines anyway.
_FILE_WIDTH = 200


#: -q: no summaries, progress or notes on stderr (errors are written by main(), not here).
_QUIET = False


def _stderr_console() -> Any:
    from rich.console import Console

    width = None if sys.stderr.isatty() else _FILE_WIDTH
    # Text as it is, here and on stdout: rich's markup would read a path's or a message's
    # "[word]" as a style ("pip install 'streamseg[baselines]'" lost its extra) and fail
    # on "[/]", its emoji codes turn ":name:" into a picture. Styles are given explicitly
    # (rich.text.Text), progress descriptions escaped (rich.markup.escape).
    return Console(stderr=True, width=width, quiet=_QUIET, markup=False, emoji=False)


def _show_progress() -> bool:
    """Progress bars by default: on a terminal, unless -q."""
    return sys.stderr.isatty() and not _QUIET


def _stdout_console() -> Any:
    from rich.console import Console

    width = None if sys.stdout.isatty() else _FILE_WIDTH
    return Console(width=width, markup=False, emoji=False)  # text as it is: see above


class _FrameBar:
    """A run's progress bar on stderr, drawn from its ``on_progress`` callback.

    Made at the run's first report, when the number of frames is known; closed on exit.
    """

    def __init__(self, description: str) -> None:
        self.description = description
        self._bar: Any = None
        self._task: Any = None

    def __call__(self, done: int, total: int | None, seconds: float) -> None:
        if self._bar is None:
            self._start(total)
        if done % 10 == 0 or done == total:
            fps = f"{done / seconds:.1f} fps" if seconds > 0 else ""
            self._bar.update(self._task, completed=done, fps=fps)

    def _start(self, total: int | None) -> None:
        from rich.console import Console
        from rich.markup import escape
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            SpinnerColumn,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        columns: list[Any] = [
            SpinnerColumn(),
            TextColumn("[progress.description]{task.description}"),
        ]
        if total:
            columns += [BarColumn(), MofNCompleteColumn(), TimeRemainingColumn()]
        else:
            columns += [TextColumn("{task.completed} frames"), TimeElapsedColumn()]
        columns.append(TextColumn("{task.fields[fps]}"))
        # On stderr, like every message: stdout carries the results (tables, JSON).
        self._bar = Progress(*columns, console=Console(stderr=True), transient=False)
        self._bar.start()
        # The description names the source file, whose "[...]" rich reads as markup.
        self._task = self._bar.add_task(escape(self.description), total=total, fps="")

    def __enter__(self) -> _FrameBar:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.stop()


def _frame_bar(cfg: Any, enabled: bool) -> Any:
    """The progress bar of run ``cfg`` (a context manager; ``None`` inside when disabled)."""
    if not enabled:
        return contextlib.nullcontext(None)
    names = ", ".join(m.name for m in cfg.methods)
    return _FrameBar(f"{names} on {Path(cfg.source.uri).name}")


def _refuse_input_as_output(out: str, *inputs: str | None) -> None:
    """Refuse ``--out`` when it is one of the command's input files (it would be destroyed)."""
    from streamseg.outputs import check_outputs

    for given in inputs:
        if given:
            check_outputs(given, [], [("--out", Path(out).expanduser())])


class _Stop(BaseException):
    """A SIGINT or SIGTERM outside a command's orderly stop (start-up imports, set-up).

    A ``BaseException`` rather than a ``KeyboardInterrupt``: click turns the latter into an
    ``Abort`` after printing a blank line, and ``except Exception`` lets neither through.
    """

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def _raise_stop(signum: int, _frame: Any) -> None:
    raise _Stop(signum)


class _Stopper:
    """Turns SIGINT/SIGTERM into a stop between frames; a second SIGINT aborts at once.

    The handler runs on the main thread between two bytecodes, possibly while that
    thread holds a lock that ``Event.set``, ``Thread.start`` or a source's ``cancel``
    also take (inside ``stop.wait()``, say): calling them there could deadlock. So the
    handler only records the signal and puts it on a ``SimpleQueue`` (reentrant by
    design); a watcher thread started on entry does the rest.
    """

    def __init__(self) -> None:
        self.event = threading.Event()
        self.signum: int | None = None
        self.source: Any = None
        self._previous: dict[int, Any] = {}
        self._queue: queue.SimpleQueue[int | None] = queue.SimpleQueue()
        self._watcher: threading.Thread | None = None

    def _handle(self, signum: int, _frame: Any) -> None:
        if self.signum is not None and signum == signal.SIGINT:
            # At once, without finalisers: a KeyboardInterrupt raised in the middle of the
            # orderly stop left the trainer's torch thread running at interpreter exit, and
            # the C++ runtime aborted (exit 134). Masks are written atomically and an MP4 is
            # fragmented, so what was written stays valid; no checkpoint is saved.
            if os.isatty(2):
                os.write(2, b"\x1b[?25h")  # the progress bar hid the cursor; nothing restores it
            os.write(2, b"aborted at once: outputs written so far are kept, no checkpoint\n")
            os._exit(EXIT_SIGINT)
        self.signum = signum
        self._queue.put(signum)

    def _watch(self) -> None:
        while self._queue.get() is not None:
            self.event.set()
            if self.source is not None:
                self.source.cancel()

    def __enter__(self) -> _Stopper:
        if threading.current_thread() is threading.main_thread():
            self._watcher = threading.Thread(target=self._watch, name="streamseg-stop", daemon=True)
            self._watcher.start()
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        for sig, handler in self._previous.items():
            # After a stop the outputs are complete and the command only reports: a second
            # Ctrl-C then would cut the report short (or, at interpreter exit, raise inside
            # a finaliser), so it is ignored. main() restores the caller's handlers.
            signal.signal(sig, signal.SIG_IGN if self.stopped else handler)
        if self._watcher is not None:
            self._queue.put(None)
            self._watcher.join(timeout=5)

    @property
    def stopped(self) -> bool:
        """A stop signal arrived (the event may be set a moment later)."""
        return self.signum is not None

    @property
    def exit_code(self) -> int:
        if self.signum == signal.SIGTERM:
            return EXIT_SIGTERM
        return EXIT_SIGINT if self.stopped else EXIT_OK


def _setup_logging(verbose: int, quiet: bool) -> None:
    level = (
        logging.ERROR
        if quiet
        else (logging.DEBUG if verbose > 1 else logging.INFO if verbose else logging.WARNING)
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("streamseg: %(levelname)s: %(message)s"))
    root = logging.getLogger("streamseg")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False
    # The live view's address is what --web asked for: say it (once it listens) unless -q.
    web = logging.getLogger("streamseg.sinks.web")
    web.setLevel(logging.NOTSET if quiet else min(level, logging.INFO))


@contextlib.contextmanager
def _logs_above_live() -> Iterator[None]:
    """Write the package's log lines to ``sys.stderr`` as it is inside the block.

    A rich live display on a terminal swaps sys.stderr for a proxy that prints above
    it; a line written to the stderr of before lands inside the display and its next
    refresh overwrites it (serve's table ate the warning of a stream given up).
    """
    handlers = [
        h
        for h in logging.getLogger("streamseg").handlers
        if isinstance(h, logging.StreamHandler) and not isinstance(h, logging.FileHandler)
    ]
    before = [h.setStream(sys.stderr) for h in handlers]
    try:
        yield
    finally:
        for handler, stream in zip(handlers, before, strict=True):
            if stream is not None:  # None: it wrote there already
                handler.setStream(stream)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debug).")
@click.option("-q", "--quiet", is_flag=True, help="Only errors.")
@click.option("--debug", is_flag=True, help="Show tracebacks of errors.")
@click.version_option(package_name="streamseg")
@click.pass_context
def cli(ctx: click.Context, verbose: int, quiet: bool, debug: bool) -> None:
    """Unsupervised foreground segmentation of live video.

    \b
    Quick start (no data needed):
      streamseg demo                      synthetic scene through every method
      streamseg run --source video.mp4 --method mog2 --masks out/
      streamseg eval SEQUENCE out/        CDnet recall/precision/F/PWC
    """
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug
    global _QUIET
    _QUIET = quiet
    _setup_logging(verbose, quiet)


def _split_methods(value: str | None) -> list[str]:
    return [m.strip() for m in value.split(",") if m.strip()] if value else []


def _resolve_run(
    config: str | None,
    source: str | None,
    method: str | None,
    outputs: dict[str, str | None],
    max_frames: int | None,
    gray: bool,
    overwrite: bool,
    overrides: Sequence[str],
) -> Any:
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
    names = _split_methods(method)
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


#: The run's output fields as ``run`` names them on its command line.
_OPTION_WORDS = {
    "set outputs.overwrite": "--overwrite",
    "outputs.masks": "--masks",
    "outputs.video": "--video",
    "outputs.overlay": "--overlay",
    "outputs.mask_video": "--mask-video",
}


def _in_option_words(message: str) -> str:
    """A library message about a run's outputs, naming them by ``run``'s options."""
    for words, option in _OPTION_WORDS.items():
        message = re.sub(rf"\b{re.escape(words)}\b", option, message)
    return message


def _stats_table(stats: Any, title: str) -> Any:
    from rich.table import Table

    # As wide as its title at least: rich wraps a title at the table's width.
    table = Table(title=title, title_justify="left", min_width=len(title))
    for col in ("method", "ms/frame", "fps", "p99 ms", "warm-up"):
        table.add_column(col, justify="right" if col != "method" else "left")
    for m in stats.methods.values():
        d = m.as_dict()
        table.add_row(
            m.name, f"{d['ms_mean']:.2f}", f"{d['fps']:.1f}", f"{d['ms_p99']:.2f}", str(m.warm_up)
        )
    return table


def _agreement_table(masks_iou: dict[tuple[str, str], float]) -> Any:
    from rich.table import Table

    names = sorted({a for a, _ in masks_iou} | {b for _, b in masks_iou})
    title = "agreement (mean IoU of masks)"
    table = Table(title=title, title_justify="left", min_width=len(title))
    table.add_column("")
    for n in names:
        table.add_column(n, justify="right")
    for a in names:
        row = [a]
        for b in names:
            key = (a, b) if (a, b) in masks_iou else (b, a)
            row.append("1.000" if a == b else f"{masks_iou.get(key, float('nan')):.3f}")
        table.add_row(*row)
    return table


class _Agreement:
    """Running mean IoU of every pair of methods' masks (over frames where either has any)."""

    def __init__(self) -> None:
        self.sums: dict[tuple[str, str], float] = {}
        self.counts: dict[tuple[str, str], int] = {}

    def __call__(self, _frame: Any, masks: Mapping[str, Any]) -> None:
        names = list(masks)
        for i, a in enumerate(names):
            for b in names[i + 1 :]:
                fa, fb = masks[a] > 0, masks[b] > 0
                union = int((fa | fb).sum())
                if union:
                    self.sums[(a, b)] = self.sums.get((a, b), 0.0) + int((fa & fb).sum()) / union
                    self.counts[(a, b)] = self.counts.get((a, b), 0) + 1

    def result(self) -> dict[tuple[str, str], float]:
        return {k: self.sums[k] / self.counts[k] for k in self.sums}


@cli.command("run")
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
@click.pass_context
def run_cmd(
    ctx: click.Context,
    source: str | None,
    method: str | None,
    masks: str | None,
    video: str | None,
    overlay: str | None,
    mask_video: str | None,
    web: str | None,
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
      streamseg run --config configs/cdnet.yaml --set mog2.history=200
    """
    from streamseg.errors import ConfigError, SinkError
    from streamseg.pipeline import run_config
    from streamseg.registry import method_class

    outputs = {"masks": masks, "video": video, "overlay": overlay, "mask_video": mask_video}
    args = (config, source, method, {**outputs, "web": web}, max_frames, gray, overwrite)
    cfg = _resolve_run(*args, overrides)
    flags = {"weights": model, "start": resume, "save": save_checkpoint}
    if any(v is not None for v in flags.values()):
        # The run's methods that keep a checkpoint (from --method or the config) take them.
        deep = [m.name for m in cfg.methods if method_class(m.name).checkpointable]
        if len(deep) != 1:
            raise ConfigError(
                "--model, --resume and --save-checkpoint need exactly one deepls or slnet "
                f"method in the run, not {len(deep)}; with several, set "
                "methods.NAME.weights/start/save for each"
            )
        sets = [f"methods.{deep[0]}.{key}={v}" for key, v in flags.items() if v is not None]
        cfg = _resolve_run(*args, (*overrides, *sets))
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
            from streamseg.fileio import ensure_writable_dir

            if Path(save).is_dir():
                raise ConfigError(f"{spec.name}.save: {save} is a folder, not a file (model.pt)")
            ensure_writable_dir(Path(save).resolve().parent)
    if progress is None:
        progress = _show_progress()
    agreement = _Agreement() if len(cfg.methods) > 1 else None
    with _Stopper() as stopper, _frame_bar(cfg, progress) as bar:

        def on_open(src: Any) -> None:
            stopper.source = src

        try:
            stats = run_config(
                cfg, stop=stopper.event, on_progress=bar, on_frame=agreement, on_open=on_open
            )
        except SinkError as err:
            raise SinkError(_in_option_words(str(err))) from err
    console = _stderr_console()
    if stopper.stopped and not stats.methods:
        console.print("stopped by signal while the source was opening; nothing was written")
        return stopper.exit_code
    console.print(
        _stats_table(
            stats,
            f"{stats.frames} frames in {stats.seconds:.1f} s, "
            f"{stats.fps:.1f} fps end to end, "
            f"{stats.dropped} dropped, {stats.reconnects} reconnects",
        )
    )
    if agreement is not None and agreement.result():
        console.print(_agreement_table(agreement.result()))
    wanted = cfg.outputs
    if not any((wanted.masks, wanted.video, wanted.overlay, wanted.mask_video, wanted.web)):
        # A statistics run is legitimate; a forgotten --masks is not, and a run that
        # ends in silence hides it.
        console.print(
            "no output was asked for, so nothing was written (add --masks DIR, --video "
            "FILE, --overlay FILE, --mask-video FILE or --web PORT)"
        )
    if stats.warning:
        from rich.text import Text

        console.print(Text.assemble(("warning:", "yellow"), f" {stats.warning}"))
    if stopper.stopped:
        console.print(f"stopped by signal after {stats.frames} frames; outputs are complete")
    return stopper.exit_code


@cli.command("demo")
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
    from streamseg.config import run_config_from_dict
    from streamseg.evaluation.metrics import Confusion
    from streamseg.fileio import atomic_write
    from streamseg.jsonout import dumps
    from streamseg.pipeline import run_config
    from streamseg.registry import available
    from streamseg.sources import parse_synthetic

    uri = f"synthetic:frames={frames},size={size}"
    scene = parse_synthetic(uri)
    names = _split_methods(method) or available(experimental=False)
    cfg = run_config_from_dict(
        {
            # Watched live, the scene plays at its frame rate, not as fast as it renders.
            "source": {"uri": uri, "realtime": web is not None},
            "methods": [{"name": n} for n in names],
            "outputs": {
                "masks": str(Path(out) / "masks"),
                "video": str(Path(out) / "mosaic.mp4"),
                "web": web,
                "overwrite": True,  # the demo's own folder: a second demo replaces the first
            },
        }
    )
    confusions = {n: Confusion() for n in names}
    # Frames before this are the methods' warm-up; CDnet likewise scores only after a start frame.
    first_scored = min(50, frames // 5)

    def score(frame: Any, masks: Mapping[str, Any]) -> None:
        if frame.index >= first_scored:
            truth = scene.render(frame.index)[1]
            for n, m in masks.items():
                confusions[n].update(m, truth)

    show = _show_progress() if progress is None else progress
    with _Stopper() as stopper, _frame_bar(cfg, show) as bar:

        def on_open(src: Any) -> None:
            stopper.source = src

        stats = run_config(
            cfg, stop=stopper.event, on_progress=bar, on_frame=score, on_open=on_open
        )
    rows: list[dict[str, Any]] = []
    for n in names:
        s = confusions[n].compute()
        ms = stats.methods[n]
        rows.append(
            {
                "method": n,
                "f_measure": s.f_measure,
                "recall": s.recall,
                "precision": s.precision,
                "pwc": s.pwc,
                "ms_per_frame": ms.ms_mean,
                "fps": ms.fps,
            }
        )
    from rich.table import Table

    table = Table(
        title=f"synthetic scene {size}, {stats.frames} frames (scored from frame {first_scored})",
        title_justify="left",
    )
    for col in ("method", "F", "recall", "precision", "PWC", "ms/frame", "fps"):
        table.add_column(col, justify="left" if col == "method" else "right")
    for r in rows:
        table.add_row(
            r["method"],
            f"{r['f_measure']:.3f}",
            f"{r['recall']:.3f}",
            f"{r['precision']:.3f}",
            f"{r['pwc']:.2f}",
            f"{r['ms_per_frame']:.2f}",
            f"{r['fps']:.1f}",
        )
    _stdout_console().print(table)
    md = [
        "| method | F | recall | precision | PWC | ms/frame | fps |",
        "|---|---|---|---|---|---|---|",
    ]
    md += [
        f"| {r['method']} | {r['f_measure']:.3f} | {r['recall']:.3f} | {r['precision']:.3f} "
        f"| {r['pwc']:.2f} | {r['ms_per_frame']:.2f} | {r['fps']:.1f} |"
        for r in rows
    ]
    atomic_write(Path(out) / "metrics.md", ("\n".join(md) + "\n").encode())
    atomic_write(Path(out) / "metrics.json", dumps(rows, indent=2).encode())
    _stderr_console().print(f"wrote {out}/mosaic.mp4, {out}/masks/, {out}/metrics.md")
    return stopper.exit_code


@cli.command("synth")
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

    scene = parse_synthetic(
        f"synthetic:frames={frames},size={size},seed={seed},noise={noise}"
        + (
            f",illumination_jump_at={illumination_jump_at}"
            if illumination_jump_at is not None
            else ""
        )
    )
    clear_earlier(earlier, policy)
    write_sequence(scene, Path(out), warm_up=warm_up, video=video)
    _stderr_console().print(
        f"wrote {frames} frames to {out}/ (input/, groundtruth/, ROI.bmp, "
        f"temporalROI.txt{', synthetic.mp4' if video else ''})"
    )
    return EXIT_OK


@cli.command("eval")
@click.argument("path", metavar="PATH")
@click.argument("results", metavar="[RESULTS]", required=False)
@click.option(
    "--method",
    "-m",
    metavar="NAME[,NAME...]",
    help="Run these methods causally on PATH and score them (instead of RESULTS).",
)
@click.option(
    "--out",
    "-o",
    metavar="REPORT",
    help="Report folder: CSV, JSON, Markdown, plots (and masks/ with --method, which needs it).",
)
@click.option(
    "--set",
    "overrides",
    multiple=True,
    metavar="METHOD.KEY=VALUE",
    help="Method parameter for the run, e.g. deepls.window=16 (KEY=VALUE with one method; "
    "repeatable).",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.option(
    "--allow-missing",
    is_flag=True,
    help="Score missing result frames as all background instead of failing.",
)
@click.option(
    "--offset",
    type=int,
    default=0,
    metavar="N",
    help="RESULTS are numbered N below the frames: binK.png scores frame K+N (masks of a "
    "video count from 1; a sequence whose input starts at frame 301 needs 300).",
)
@click.option("--plots/--no-plots", default=True, show_default=True, help="Write PNG plots.")
@click.option("--progress/--no-progress", default=None, help="Progress bar.")
def eval_cmd(
    path: str,
    results: str | None,
    method: str | None,
    out: str | None,
    overrides: tuple[str, ...],
    as_json: bool,
    allow_missing: bool,
    offset: int,
    plots: bool,
    progress: bool | None,
) -> int:
    """Score segmentation on CDnet-layout data with CDnet 2014's rules.

    \b
    PATH is a sequence, a folder of sequences or CDnet's category/sequence tree.
      streamseg eval SEQUENCE RESULTS          score existing binNNNNNN.png masks
      streamseg eval PATH RESULTS              RESULTS/<sequence>/binNNNNNN.png
      streamseg eval PATH --method deepls,rpca,mog2,knn --out REPORT
                                               run each method causally, score, report
    Per sequence, per category and overall (mean over categories, as CDnet reports):
    recall, specificity, FPR, FNR, PWC, precision, F-measure, and ms/frame; and the
    ceilings no single setting is owed (chosen with the ground truth per sequence): F at
    each scoring method's best threshold, and the best method's F.
    """
    from streamseg.errors import ConfigError
    from streamseg.evaluation.benchmark import benchmark, score_results
    from streamseg.evaluation.report import markdown, write_report
    from streamseg.jsonout import dumps

    if (results is None) == (method is None):
        raise ConfigError("give either RESULTS (masks to score) or --method (methods to run)")
    if method is not None and out is None:
        raise ConfigError("--method needs --out REPORT (where masks and the report go)")
    if overrides and method is None:
        raise ConfigError("--set sets parameters of the methods --method runs: give --method")
    exit_code = EXIT_OK
    if offset and results is None:
        raise ConfigError("--offset renumbers RESULTS; --method numbers its masks as the frames")
    if results is not None:
        report = score_results(path, results, allow_missing=allow_missing, offset=offset)
    else:
        from streamseg.registry import method_class, method_overrides

        names = _split_methods(method)
        reproducible = {n: dict(method_class(n).reproducible) for n in names}
        params = method_overrides(overrides, names, reproducible)
        show = _show_progress() if progress is None else progress
        from rich.markup import escape
        from rich.progress import Progress

        with (
            _Stopper() as stopper,
            Progress(console=_stderr_console(), disable=not show) as bar,
        ):
            task = bar.add_task("evaluating", total=None)

            def on_progress(label: str, index: int, total: int | None) -> None:
                bar.update(task, description=escape(label), advance=1)  # a folder's name

            assert out is not None
            report = benchmark(
                path,
                names,
                out,
                params=params,
                allow_missing=allow_missing,
                on_progress=on_progress,
                stop=stopper.event,
            )
        if report.meta.get("interrupted"):
            # A report over the sequences that happened to finish would read as the whole.
            _stderr_console().print(
                f"interrupted: the report was not written; masks so far are in {out}/masks/"
            )
            return stopper.exit_code
        # A stop that came after the last frame interrupted nothing: the report is whole.
        exit_code = stopper.exit_code
    if out is not None:
        write_report(report, out, plots=plots)
    if as_json:
        click.echo(dumps(report.as_dict(), indent=2))
    else:
        click.echo(markdown(report))
        if out is not None:
            _stderr_console().print(f"wrote the report to {out}/")
    return exit_code


class _TrainableMethod(click.ParamType):
    """A method ``streamseg train`` trains (its class's ``trains_on_clip``).

    The names are looked up when click needs them (the help, the parsing), not when this
    module loads: the registry imports every method, too slow for each command's start.
    """

    name = "method"

    @staticmethod
    def names(*, experimental: bool = True) -> list[str]:
        from streamseg.registry import available, method_class

        found = available(experimental=experimental)
        return [n for n in found if method_class(n).trains_on_clip]

    def get_metavar(self, param: click.Parameter, ctx: click.Context) -> str:
        return f"[{'|'.join(self.names())}]"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        names = self.names()
        if value not in names:
            self.fail(f"{value!r} is not one of {', '.join(map(repr, names))}.", param, ctx)
        return str(value)


@cli.command("train")
@click.argument("source", metavar="SOURCE")
@click.option("--out", "-o", required=True, metavar="MODEL", help="Checkpoint to write (.pt).")
@click.option(
    "--method",
    "-m",
    type=_TrainableMethod(),
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
    import dataclasses

    from streamseg.errors import ConfigError
    from streamseg.fileio import ensure_writable_dir
    from streamseg.registry import method_config, method_overrides
    from streamseg.segmenters.deepls.checkpoint import Checkpoint, save_checkpoint
    from streamseg.segmenters.deepls.train import collect_clip, rpca_gap, train_frames
    from streamseg.segmenters.preprocess import processing_size
    from streamseg.sources import open_source

    method = method or _TrainableMethod.names(experimental=False)[0]
    params = method_overrides(overrides, [method])[method]
    cfg = method_config(method, params)
    # Nothing segments beside two-pass training: every core, unless asked otherwise
    # (trainer_threads' default of 1 leaves the other core to online inference).
    threads = cfg.trainer_threads if "trainer_threads" in params else 0
    tc = cfg.train
    if tc.steps < 1:
        raise ConfigError("train.steps must be >= 1 for `streamseg train` (it trains that many)")
    if tc.frames < cfg.net.min_batch:
        raise ConfigError(
            f"train.frames must be >= net.stack ({cfg.net.stack}) for slnet: a batch holds a stack"
        )
    _refuse_input_as_output(out, source)
    ensure_writable_dir(Path(out).resolve().parent)
    show = _show_progress() if progress is None else progress
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    console = _stderr_console()
    columns = [
        TextColumn("{task.description}", markup=False),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[info]}", markup=False),
        TimeElapsedColumn(),
    ]
    with (
        _Stopper() as stopper,
        open_source(source) as src,
        Progress(*columns, console=console, disable=not show) as bar,
    ):
        stopper.source = src
        if src.info.is_live and max_frames is None:
            raise ConfigError(
                f"{source} is a live stream, which never ends: give --max-frames N "
                "(the frames to record and train on)"
            )
        total = src.info.frame_count
        if total and max_frames is not None:
            total = min(total, max_frames)
        task = bar.add_task("decoding", total=total or max_frames, info="")
        decoded = [0]

        def on_frame(i: int) -> None:
            decoded[0] = i + 1
            bar.update(task, completed=i + 1)

        frames, indices = collect_clip(
            src,
            max(tc.pool, tc.frames),
            cfg.area,
            cfg.net.colour,
            on_frame=on_frame,
            max_frames=max_frames,
        )
        bar.update(task, total=decoded[0], completed=decoded[0])  # what there was to decode
        # The loss is a nuclear norm over frames: it needs a batch of them (SLNet: a stack).
        least = cfg.net.min_batch
        if len(frames) < least:
            raise ConfigError(
                f"{source}: {len(frames)} frame(s); training {method} needs at least {least}"
            )
        size = processing_size(src.info.height, src.info.width, cfg.area)
        steps = bar.add_task("training", total=tc.steps, info="")

        def on_step(step: int, loss: float) -> None:
            bar.update(steps, completed=step + 1, info=f"loss {loss:.4f}")

        trainer, report = train_frames(
            frames,
            cfg.net,
            tc,
            seed=cfg.seed,
            threads=threads,
            on_step=on_step,
            should_stop=stopper.event.is_set,
        )
    if stopper.stopped:
        console.print("stopped by signal before training finished; no model written")
        return stopper.exit_code
    if rpca:
        rpca_gap(trainer, frames[: tc.frames], report)
    meta = {
        "source": source,
        "frames": indices,
        "train": dataclasses.asdict(tc),
        "seed": cfg.seed,
        "seconds": report.seconds,
        "steps": report.steps,
        "rollbacks": report.rollbacks,
        "history": report.history,
        "objective_net": report.objective_net,
        "objective_rpca": report.objective_rpca,
    }
    if report.context is not None:
        import torch

        # Two-pass: frames are segmented against the clip's own median/MAD, as in training.
        meta["context"] = torch.from_numpy(report.context)
    save_checkpoint(
        Checkpoint(
            dataclasses.asdict(cfg.net), size, cfg.mask, trainer.eval_model().state_dict(), meta
        ),
        out,
    )
    line = (
        f"trained {method} ({cfg.net.family}, width {cfg.net.width}, {size[1]}x{size[0]}) "
        f"on {len(frames)} frames: {report.steps} steps in {report.seconds:.1f} s, "
        f"final loss {trainer.last_loss:.4f}"
    )
    console.print(line)
    if report.rpca_ratio is not None:
        console.print(
            f"RPCA objective on {min(tc.frames, len(frames))} of those frames: net "
            f"{report.objective_net:.2f}, convex optimum {report.objective_rpca:.2f} "
            f"(ratio {report.rpca_ratio:.3f}; 1.0 is optimal)"
        )
    console.print(f"wrote {out}")
    return EXIT_OK


@cli.command("export")
@click.argument("model", metavar="MODEL")
@click.option("--out", "-o", required=True, metavar="FILE.onnx", help="ONNX file to write.")
@click.option(
    "--int8",
    is_flag=True,
    help="Quantize for CPUs: int8 weights and activations, calibrated on --calibrate.",
)
@click.option(
    "--calibrate",
    metavar="SOURCE",
    help="Frames of the camera the model will watch, to measure int8 ranges on "
    "(spread over its first 3000 frames) [default: the clip the model was trained on].",
)
def export_cmd(model: str, out: str, int8: bool, calibrate: str | None) -> int:
    """Export a trained checkpoint (.pt) to a self-describing ONNX file.

    Opset 17, dynamic height and width, checked with onnx.checker; the metadata names the
    model family, input format, processing size and mask rule. Run it with
    `streamseg run --method deepls --model FILE.onnx` (no torch needed).

    With --int8 the convolutions run in int8 (ONNX Runtime's static quantization,
    per-channel weights): calibrate on footage like the camera's, e.g.
    streamseg export model.pt --out model.onnx --int8 --calibrate clip.mp4
    """
    from streamseg.errors import ConfigError, StreamsegError
    from streamseg.fileio import ensure_writable_dir
    from streamseg.segmenters.deepls.checkpoint import load_checkpoint
    from streamseg.segmenters.deepls.model import model_from_checkpoint
    from streamseg.segmenters.deepls.onnx import checkpoint_bytes, write_onnx

    if calibrate is not None and not int8:
        raise ConfigError("--calibrate only applies with --int8")
    _refuse_input_as_output(out, model, calibrate)
    ckpt = load_checkpoint(model)
    net, torch_model = model_from_checkpoint(ckpt, model)
    inputs = None
    if int8:
        # The calibration clip first: a bad one fails before the export's seconds of tracing.
        from streamseg.segmenters.deepls.quantize import calibrate_on

        given = calibrate is not None
        calibrate = calibrate or ckpt.meta.get("source") or None
        if calibrate is None:
            raise ConfigError(
                f"{model} does not say which clip it was trained on: "
                "pass --calibrate SOURCE (frames of the camera it will watch)"
            )
        try:
            inputs = calibrate_on(calibrate, net, ckpt.size, ckpt.context)
        except StreamsegError as err:
            if given:
                raise
            raise ConfigError(
                f"the clip {model} was trained on, {err} (pass --calibrate SOURCE)"
            ) from None
        _refuse_input_as_output(out, calibrate)  # the clip the checkpoint names
    ensure_writable_dir(Path(out).resolve().parent)
    data = checkpoint_bytes(ckpt, net, torch_model)
    if inputs is not None:
        from streamseg.segmenters.deepls.quantize import quantize_int8

        data = quantize_int8(data, inputs, calibrate or "")
    write_onnx(data, out)
    _stderr_console().print(
        f"wrote {out} ({Path(out).stat().st_size / 1e6:.2f} MB, opset 17, {net.family}"
        f"{f', int8 calibrated on {len(inputs)} frames of {calibrate}' if inputs else ''}, "
        f"processing size {ckpt.size[1]}x{ckpt.size[0]})"
    )
    return EXIT_OK


def _status_table(statuses: Sequence[Mapping[str, Any]]) -> Any:
    """A rich table of stream statuses (the terminal view of ``streamseg serve``)."""
    from rich.table import Table

    table = Table(title="streams", title_justify="left")
    for col in (
        "stream",
        "state",
        "frames",
        "fps",
        "p99 ms",
        "dropped",
        "reconnects",
        "model",
        "restarts",
        "error",
    ):
        table.add_column(col, justify="left" if col in ("stream", "state", "error") else "right")
    for s in statuses:
        p99 = s.get("latency_ms_p99")
        table.add_row(
            str(s.get("name")),
            str(s.get("state")),
            str(s.get("frames", 0)),
            f"{s.get('fps', 0):.1f}",
            "–" if p99 is None or p99 != p99 else f"{p99:.1f}",  # none yet, or NaN
            str(s.get("dropped", 0)),
            str(s.get("reconnects", 0)),
            "–" if s.get("model_version") is None else f"v{s['model_version']}",
            str(s.get("restarts", 0)),
            str(s.get("error") or ""),
        )
    return table


@cli.command("serve")
@click.argument("config", metavar="CONFIG")
@click.option(
    "--out",
    "-o",
    metavar="DIR",
    help="Outputs of streams without their own: DIR/<stream>/masks, mosaic.mp4.",
)
@click.option(
    "--max-frames", type=click.IntRange(min=1), metavar="N", help="Stop each stream after N frames."
)
@click.option(
    "--address",
    metavar="ADDR",
    help="Join an existing Ray cluster (default: start one on loopback).",
)
@click.option(
    "--num-cpus",
    type=click.IntRange(min=1),
    metavar="N",
    help="CPUs of the local Ray instance (default: all).",
)
@click.option("--status-json", metavar="FILE", help="Keep the status table here as JSON.")
@click.option(
    "--overwrite",
    is_flag=True,
    help="Replace the masks an earlier serve left in the streams' masks folders.",
)
@click.option(
    "--live/--no-live",
    default=None,
    help="Refresh the status table in place (default: when stderr is a terminal).",
)
def serve_cmd(
    config: str,
    out: str | None,
    max_frames: int | None,
    address: str | None,
    num_cpus: int | None,
    status_json: str | None,
    overwrite: bool,
    live: bool | None,
) -> int:
    """Run every stream of CONFIG (a file, or a shipped name) as a supervised Ray actor.

    A stream whose actor dies, hangs or fails past its reconnect budget is restarted
    (its online model resumes from its checkpoint); the others keep running. CONFIG holds
    a top-level `streams:` list; `streamseg config show cameras` prints an example. Needs
    the [ray] extra.
    """
    from rich.live import Live

    from streamseg.config import find_config
    from streamseg.fileio import atomic_write
    from streamseg.jsonout import dumps
    from streamseg.serve import Cluster, load_serve_config

    cfg = load_serve_config(
        find_config(config), out=out, max_frames=max_frames, overwrite=overwrite
    )
    show = _show_progress() if live is None else live
    console = _stderr_console()
    for stream in cfg.streams:
        if stream.run.outputs.web:
            # The actors' own log lines stay in Ray's logs: say here where to look.
            from streamseg.sinks.web import WebSink

            console.print(f"{stream.name}: live view at {WebSink(stream.run.outputs.web).url}")
    statuses: list[dict[str, Any]] = []
    with _Stopper() as stopper, Cluster(cfg, address=address, num_cpus=num_cpus) as cluster:
        with (
            Live(_status_table([]), console=console, refresh_per_second=2, transient=False)
            if show
            else contextlib.nullcontext() as view,
            _logs_above_live(),
        ):

            def on_status(current: list[dict[str, Any]]) -> None:
                statuses[:] = current
                if view is not None:
                    view.update(_status_table(current))
                if status_json:
                    atomic_write(Path(status_json), dumps(current, indent=2).encode())

            cluster.wait(on_status=on_status, stop=stopper.event)
            cluster.stop()  # every stream finalised: the statuses say how each ended
            on_status(cluster.statuses or statuses)
    if not show:
        console.print(_status_table(statuses))
    if stopper.stopped:
        return stopper.exit_code
    return EXIT_OK if all(s["state"] == "done" for s in statuses) else EXIT_RUNTIME


@cli.command("list")
@click.argument("method", metavar="[METHOD]", required=False)
def list_cmd(method: str | None) -> int:
    """Registered methods with their parameters, and the source and output kinds.

    With METHOD: each of its parameters with its type, default and meaning.
    """
    from rich.table import Table

    from streamseg.params import config_fields
    from streamseg.registry import available, method_class

    if method is not None:
        return _describe_method(method)
    table = Table(title="methods", title_justify="left", show_lines=True)
    table.add_column("name")
    table.add_column("parameters (default)")
    table.add_column("about")
    for name in available(installed_only=False):
        try:
            cls = method_class(name)
        except Exception as err:  # a method whose extra is missing: say how to get it
            table.add_row(name, "", str(err))
            continue
        params = ", ".join(f"{k}={v[1]!r}" for k, v in config_fields(cls.Config).items())
        doc = _about(cls)
        table.add_row(name, params, f"experimental: {doc}" if cls.experimental else doc)
    console = _stdout_console()
    console.print(table)
    console.print("streamseg list METHOD describes each parameter of METHOD")
    console.print(
        "sources: video file (PyAV, OpenCV fallback), image folder / CDnet sequence, "
        "webcam index or /dev/videoN, rtsp:// http(s):// streams, synthetic[:k=v,...]"
    )
    console.print(
        "outputs: --masks DIR (binNNNNNN.png), --video (mosaic), --overlay, --mask-video, "
        "--web (live view)"
    )
    return EXIT_OK


def _about(cls: type) -> str:
    """The first paragraph of a method's docstring, on one line, without Sphinx quotes."""
    import inspect

    paragraph = inspect.cleandoc(cls.__doc__ or "").split("\n\n")[0]
    return " ".join(paragraph.split()).replace("``", "")


def _describe_method(name: str) -> int:
    """``streamseg list METHOD``: a table of the method's parameters."""
    from rich.table import Table

    from streamseg.params import describe_config
    from streamseg.registry import method_class

    cls = method_class(name)
    about = _about(cls)
    title = f"{name}: {about}" if about else name
    table = Table(title=title, title_justify="left")
    for column in ("parameter", "type", "default", "meaning"):
        table.add_column(column, overflow="fold" if column != "meaning" else "ellipsis")
    rows = describe_config(cls.Config)
    for row in rows:
        table.add_row(*row)
    console = _stdout_console()
    if rows:
        console.print(table)
        example = next((r for r in rows if r[1] in ("int", "float")), rows[0])
        console.print(
            f"set one with --set {name}.PARAMETER=VALUE (e.g. --set {name}.{example[0]}="
            f"{example[2]}), or under its name in a config file's methods: list"
        )
    else:
        console.print(f"{title}\n{name} takes no parameters")
    return EXIT_OK


@cli.group("config")
def config_group() -> None:
    """The example configurations shipped with streamseg.

    \b
    Each is usable by name wherever a configuration file is:
      streamseg run --config cpu-small
      streamseg config show cdnet > my-run.yaml     a start for your own
    """


@config_group.command("list")
def config_list_cmd() -> int:
    """The shipped configurations, each with what it is for."""
    from streamseg.config import shipped_configs

    console = _stdout_console()
    for name, path in shipped_configs().items():
        lines = path.read_text(encoding="utf-8").splitlines()
        about = lines[0].lstrip("# ").strip() if lines and lines[0].startswith("#") else ""
        console.print(f"{name:<10} {about}")
    return EXIT_OK


@config_group.command("show")
@click.argument("name", metavar="NAME")
def config_show_cmd(name: str) -> int:
    """Print the shipped configuration NAME (YAML, with its comments)."""
    from streamseg.config import shipped_configs
    from streamseg.errors import ConfigError

    shipped = shipped_configs()
    if name.removesuffix(".yaml") not in shipped:
        raise ConfigError(f"no shipped configuration {name!r} (shipped: {', '.join(shipped)})")
    click.echo(shipped[name.removesuffix(".yaml")].read_text(encoding="utf-8"), nl=False)
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI and return its exit code; the caller's signal handlers are kept."""
    if threading.current_thread() is not threading.main_thread():
        return _main(argv)
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        return _main(argv)
    finally:
        for sig, handler in saved.items():
            signal.signal(sig, handler)


def _main(argv: Sequence[str] | None) -> int:
    """:func:`main` without restoring signal handlers (the process may be ending)."""
    from streamseg.errors import StreamsegError

    args = list(sys.argv[1:] if argv is None else argv)
    cut = args.index("--") if "--" in args else len(args)
    debug = "--debug" in args[:cut]
    if debug:
        # The error message says "run with --debug": wherever the user adds it (usually
        # at the end, after the subcommand's options), it means the group's flag. No
        # option takes a value that could be "--debug"; after "--" it is an argument.
        args = ["--debug", *(a for a in args[:cut] if a != "--debug"), *args[cut:]]
    try:
        result = cli.main(args=args, prog_name="streamseg", standalone_mode=False)
    except click.exceptions.Exit as err:
        return int(err.exit_code)
    except click.ClickException as err:
        err.show()
        return err.exit_code
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        return EXIT_SIGINT
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        return EXIT_SIGINT
    except _Stop as stop:
        return _stopped(stop)
    except StreamsegError as err:
        if debug:
            raise
        click.echo(f"streamseg: error: {err}", err=True)
        return err.exit_code
    except Exception as err:
        if debug:
            raise
        click.echo(
            f"streamseg: unexpected error: {type(err).__name__}: {err} "
            "(run with --debug for the traceback)",
            err=True,
        )
        return EXIT_RUNTIME
    return int(result) if isinstance(result, int) else EXIT_OK


def _stopped(stop: _Stop) -> int:
    """Say that a :class:`_Stop` ended the command; its exit code.

    A command's own work stops through :class:`_Stopper`, its outputs finalised; this
    is the rest: start-up imports, set-up, and the short commands without a stopper.
    """
    click.echo(f"streamseg: stopped by {signal.Signals(stop.signum).name}", err=True)
    return EXIT_SIGTERM if stop.signum == signal.SIGTERM else EXIT_SIGINT


def entry() -> NoReturn:
    """The ``streamseg`` process (console script and ``python -m streamseg``): run
    :func:`main` and exit with its code."""
    # First of all, before the imports that take most of a start-up: a stop signal from
    # here on is one line and exit code 130/143, wherever it lands. A signal the parent
    # set to be ignored (nohup, a background job) stays ignored.
    for sig in (signal.SIGINT, signal.SIGTERM):
        if signal.getsignal(sig) in (signal.SIG_DFL, signal.default_int_handler):
            signal.signal(sig, _raise_stop)
    try:
        code = _main(None)
    except _Stop as stop:  # between two of _main's own lines
        code = _stopped(stop)
    if code in (EXIT_SIGINT, EXIT_SIGTERM):
        # The user asked to stop and every output is closed by now (sinks, run_stats.json,
        # Ray: nothing is left to atexit hooks). Interpreter finalisation (torch's atexit
        # hooks, OpenMP teardown) still takes about a second; a second Ctrl-C in it became
        # a traceback from a finaliser, or, once Python had reset its signal handlers,
        # killed the process by SIGINT. So leave at once, ignoring further signals (the
        # stopper already does after a stop; a 130 from a KeyboardInterrupt had none).
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, signal.SIG_IGN)
        sys.stdout.flush()
        sys.stderr.flush()
        logging.shutdown()
        os._exit(code)
    sys.exit(code)


if __name__ == "__main__":
    entry()
