"""One loop: a source through several segmenters into sinks, with statistics.

:func:`run` is the loop for library users (they build the parts); :func:`run_config`
builds the parts from a :class:`~streamseg.config.RunConfig`, runs them, and
writes the resolved configuration and the statistics beside the outputs (the
CLI and the Ray actors use it).

Shutdown: :func:`run` stops between frames when its ``stop`` event is set (the
CLI sets it from SIGINT/SIGTERM) or on ``KeyboardInterrupt``; every part is
closed by the caller's ``with`` block, so videos are finalised and PNG masks are
complete.

Example:
    >>> import streamseg as ss
    >>> with ss.open_source("synthetic:frames=5,size=64x48") as src, ss.create("mog2") as seg:
    ...     stats = ss.run(src, {"mog2": seg}, [])
    >>> stats.frames
    5
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from streamseg.config import RunConfig, dump_config
from streamseg.frame import Frame
from streamseg.outputs import check_run_outputs, earlier_policy, open_outputs
from streamseg.segmenters.base import Segmenter
from streamseg.sinks.base import Sink
from streamseg.sources.base import FrameSource
from streamseg.timings import Timings

__all__ = ["MethodStats", "RunStats", "run", "run_config"]

log = logging.getLogger(__name__)


@dataclass
class MethodStats:
    """Timing of one method over a run."""

    name: str
    ms: Timings = field(default_factory=Timings, repr=False)
    warm_up: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ms_mean(self) -> float:
        return self.ms.mean

    @property
    def fps(self) -> float:
        return 1000.0 / self.ms_mean if len(self.ms) and self.ms_mean > 0 else float("nan")

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "frames": len(self.ms),
            "ms_mean": self.ms_mean,
            "ms_p50": self.ms.percentile(50),
            "ms_p99": self.ms.percentile(99),
            "fps": self.fps,
            "warm_up_frames": self.warm_up,
            **self.extra,
        }


@dataclass
class RunStats:
    """What a run did and how fast.

    Attributes:
        frames: frames segmented.
        dropped: frames the source dropped (live sources keep only the newest).
        reconnects: times a live source reconnected.
        seconds: wall time of the loop.
        latency_ms: per frame, from arrival (live) or the start of decoding (files)
            to the last sink written.
        methods: per-method timings.
        interrupted: the run was stopped before the source ended.
        warning: why the source ended early, if it did.
        error: the error that ended the run, if one did (e.g. a stream lost for good).
    """

    frames: int = 0
    dropped: int = 0
    reconnects: int = 0
    seconds: float = 0.0
    latency_ms: Timings = field(default_factory=Timings, repr=False)
    methods: dict[str, MethodStats] = field(default_factory=dict)
    interrupted: bool = False
    warning: str | None = None
    error: str | None = None

    @property
    def fps(self) -> float:
        """End-to-end frames per second (decode, segment, write)."""
        return self.frames / self.seconds if self.seconds > 0 else float("nan")

    def as_dict(self) -> dict[str, Any]:
        return {
            "frames": self.frames,
            "dropped": self.dropped,
            "reconnects": self.reconnects,
            "seconds": self.seconds,
            "fps": self.fps,
            "latency_ms_p50": self.latency_ms.percentile(50),
            "latency_ms_p99": self.latency_ms.percentile(99),
            "interrupted": self.interrupted,
            "warning": self.warning,
            "error": self.error,
            "methods": {n: m.as_dict() for n, m in self.methods.items()},
        }


def _progress(total: int | None, enabled: bool) -> Any:
    if not enabled:
        return contextlib.nullcontext(None)
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    columns: list[Any] = [SpinnerColumn(), TextColumn("[progress.description]{task.description}")]
    if total:
        columns += [BarColumn(), MofNCompleteColumn(), TimeRemainingColumn()]
    else:
        columns += [TextColumn("{task.completed} frames"), TimeElapsedColumn()]
    columns.append(TextColumn("{task.fields[fps]}"))
    from rich.console import Console

    # On stderr, like every message: stdout carries the results (tables, JSON).
    return Progress(*columns, console=Console(stderr=True), transient=False)


def run(
    source: FrameSource,
    segmenters: Mapping[str, Segmenter],
    sinks: Sequence[Sink],
    *,
    max_frames: int | None = None,
    stop: threading.Event | None = None,
    progress: bool = False,
    description: str = "segmenting",
    on_frame: Callable[[Frame, Mapping[str, np.ndarray]], None] | None = None,
    before_frame: Callable[[Frame], None] | None = None,
    realtime: bool = False,
    stats: RunStats | None = None,
) -> RunStats:
    """Run ``source`` through every segmenter and write the masks to every sink.

    Args:
        source: an opened (or openable) source.
        segmenters: name → segmenter; each frame goes to all of them.
        sinks: where the masks go; each receives all masks of a frame.
        max_frames: stop after this many frames.
        stop: set it (from another thread or a signal handler) to stop between frames.
        progress: show a progress bar on stderr.
        description: the progress bar's label.
        on_frame: called with each frame and its masks after the sinks.
        before_frame: called with each frame before the segmenters see it (untimed).
        realtime: pace a file at its frame rate, as a camera would deliver it (frames
            are never read before their timestamp; a slow pipeline just falls behind).
        stats: filled in place (the caller keeps what was counted if the run fails).

    Returns:
        The run's statistics; ``interrupted`` is set if it stopped early.
    """
    if stats is None:
        stats = RunStats()
    stats.methods = {name: MethodStats(name) for name in segmenters}
    source.open()
    total = source.info.frame_count
    if max_frames is not None:
        total = min(total, max_frames) if total else max_frames
    started = time.perf_counter()
    first_stamp: tuple[float, float] | None = None
    with _progress(total, progress) as bar:
        task = None
        if bar is not None:
            from rich.markup import escape

            # The description names the source file, whose "[...]" rich reads as markup.
            task = bar.add_task(escape(description), total=total, fps="")
        try:
            while max_frames is None or stats.frames < max_frames:
                if stop is not None and stop.is_set():
                    stats.interrupted = True
                    break
                t0 = time.perf_counter()
                frame = source.read()
                if frame is None:
                    # A stop cancels the source's reads, which then end like a stream
                    # (a file that ended as the stop came was read to its end).
                    stopped = stop is not None and stop.is_set()
                    stats.interrupted = stopped and (source.info.is_live or source.cancelled)
                    break
                if realtime and not source.info.is_live:
                    if first_stamp is None:
                        first_stamp = (frame.timestamp, t0)
                    due = first_stamp[1] + frame.timestamp - first_stamp[0]
                    if due > t0:
                        if stop is not None:
                            if stop.wait(due - t0):  # a stop ends the wait and the run
                                stats.interrupted = True
                                break
                        else:
                            time.sleep(due - t0)
                        t0 = time.perf_counter()
                arrived = frame.timestamp if source.info.is_live else None
                if before_frame is not None:
                    t_before = time.perf_counter()
                    before_frame(frame)
                    t0 += time.perf_counter() - t_before  # untimed: not in the latency
                masks: dict[str, np.ndarray] = {}
                for name, seg in segmenters.items():
                    method = stats.methods[name]
                    if not seg.ready:
                        method.warm_up += 1
                    t1 = time.perf_counter()
                    masks[name] = seg.apply(frame.image, timestamp=frame.timestamp)
                    method.ms.add(1000.0 * (time.perf_counter() - t1))
                delivered = False
                try:
                    for sink in sinks:
                        sink.write(frame, masks)
                        delivered = True
                except BaseException:
                    # A frame an output holds is counted (its mask written, the next
                    # output's disk full): run_stats.json agrees with what is on disk.
                    if delivered:
                        stats.frames += 1
                    raise
                if on_frame is not None:
                    on_frame(frame, masks)
                done = time.perf_counter()
                start = t0 if arrived is None else done - (time.monotonic() - arrived)
                stats.latency_ms.add(1000.0 * (done - start))
                stats.frames += 1
                if bar is not None and (stats.frames % 10 == 0 or stats.frames == total):
                    fps = stats.frames / (done - started)
                    bar.update(task, completed=stats.frames, fps=f"{fps:.1f} fps")
        except KeyboardInterrupt:
            stats.interrupted = True
            log.warning("interrupted after %d frames", stats.frames)
        finally:
            stats.seconds = time.perf_counter() - started
            stats.dropped, stats.reconnects = source.dropped, source.reconnects
            stats.warning = source.warning
            for name, seg in segmenters.items():
                stats.methods[name].extra.update(seg.stats())
    return stats


def _absolute(config: RunConfig) -> RunConfig:
    """``config`` with its local paths made absolute, so ``run.yaml`` repeats the run
    from any working directory."""

    def absolute(value: str | None) -> str | None:
        return None if value is None else str(Path(value).absolute())

    from streamseg.sources import local_path

    source = config.source
    path = local_path(source.uri)
    if path is not None and path.exists():
        source = dataclasses.replace(source, uri=str(path.absolute()))
    o = config.outputs
    outputs = dataclasses.replace(
        o,
        masks=absolute(o.masks),
        video=absolute(o.video),
        overlay=absolute(o.overlay),
        mask_video=absolute(o.mask_video),
    )
    return dataclasses.replace(config, source=source, outputs=outputs)


def _with_source_fps(config: RunConfig, source_fps: float | None) -> RunConfig:
    """Methods whose ``fps`` is 0 ("the source's") get the source's frame rate (or 25)."""
    from streamseg.registry import method_class

    methods = []
    for m in config.methods:
        if method_class(m.name).wants_source_fps and m.config.fps == 0:
            m = dataclasses.replace(m, config=dataclasses.replace(m.config, fps=source_fps or 25.0))
        methods.append(m)
    return dataclasses.replace(config, methods=tuple(methods))


def run_config(
    config: RunConfig,
    *,
    stop: threading.Event | None = None,
    progress: bool = False,
    sinks: Sequence[Sink] = (),
    on_frame: Callable[[Frame, Mapping[str, np.ndarray]], None] | None = None,
    on_open: Callable[[FrameSource], None] | None = None,
    segmenters_out: dict[str, Segmenter] | None = None,
    resume_outputs: bool = False,
) -> RunStats:
    """Build the source, methods and sinks of ``config``, run them, write ``run.yaml``.

    The resolved configuration (``run.yaml``) and the statistics
    (``run_stats.json``) are written to every output folder.

    Args:
        config: the resolved run configuration.
        stop: an event that stops the run between frames.
        progress: show a progress bar.
        sinks: extra sinks (e.g. a callback) besides those of ``config.outputs``.
        on_frame: called with each frame and its masks.
        on_open: called with the opened source (e.g. to let a signal handler cancel it).
        segmenters_out: filled with the created segmenters (for callers that checkpoint
            or inspect them while the run goes on).
        resume_outputs: go on writing into outputs this stream wrote before (a restarted
            ``serve`` stream): its earlier masks are neither refused nor replaced.

    Raises:
        StreamsegError: bad source, method, output or model (nothing is left half-written).
    """
    from streamseg.fileio import atomic_write, ensure_writable_dir
    from streamseg.registry import create
    from streamseg.sources import open_source

    methods = [m.name for m in config.methods]
    check_run_outputs(config, resume=resume_outputs)
    policy = earlier_policy(config.outputs, resume=resume_outputs)
    dirs: list[Path] = []  # known once the outputs opened: where the statistics go
    stats = RunStats()
    try:
        with contextlib.ExitStack() as stack:
            source = open_source(config.source.uri, config.source)
            if not _open_unless_stopped(source, stop):
                stats.interrupted = True  # stopped while connecting: nothing was written
                return stats
            stack.enter_context(source)
            if on_open is not None:
                on_open(source)
            fps = config.outputs.fps or source.info.fps or 25.0
            config = _with_source_fps(config, source.info.fps)
            segmenters = {
                m.name: stack.enter_context(create(m.name, m.config)) for m in config.methods
            }
            if segmenters_out is not None:
                segmenters_out.update(segmenters)
            live = source.info.is_live
            opened = open_outputs(
                stack, config.outputs, methods, fps, policy=policy, live=live, extra=sinks
            )
            config = dataclasses.replace(config, outputs=opened.outputs)
            dirs = opened.dirs
            resolved = dump_config(_absolute(config)).encode()
            for d in dirs:
                ensure_writable_dir(d)
                atomic_write(d / "run.yaml", resolved)
            run(
                source,
                segmenters,
                opened.sinks,
                max_frames=config.max_frames,
                stop=stop,
                progress=progress,
                on_frame=on_frame,
                realtime=config.source.realtime,
                description=f"{', '.join(methods)} on {Path(config.source.uri).name}",
                stats=stats,
            )
    except Exception as err:
        # After the methods and outputs closed (a trainer failing after the last frame, a
        # checkpoint or a video that cannot be finalised end the run too). A stream lost
        # for good still leaves its outputs and their statistics; a failure to write
        # those must not hide the error itself.
        if dirs:
            stats.error = str(err)
            with contextlib.suppress(Exception):
                _write_stats(dirs, stats)
        raise
    _write_stats(dirs, stats)
    return stats


def _open_unless_stopped(source: FrameSource, stop: threading.Event | None) -> bool:
    """Open ``source``; ``False`` if ``stop`` is set first.

    A camera that does not answer holds ``open()`` for up to ``source.open_timeout`` in
    FFmpeg, where no signal reaches it: the open runs on a thread of its own, and a stop
    leaves it behind. The abandoned source closes itself once its open returns.
    """
    if stop is None:
        source.open()
        return True
    done = threading.Event()
    lock = threading.Lock()
    failure: list[BaseException] = []
    abandoned = False

    def opening() -> None:
        try:
            source.open()
        except BaseException as err:  # re-raised on the caller's thread
            failure.append(err)
        with lock:
            if abandoned:
                with contextlib.suppress(Exception):
                    source.close()
            done.set()

    def abandon() -> bool:
        """Leave the open behind (True), unless it has just finished."""
        nonlocal abandoned
        with lock:
            if done.is_set():
                return False
            abandoned = True
        source.cancel()  # a named pipe's wait ends at once; FFmpeg's at its timeout
        return True

    threading.Thread(target=opening, name="streamseg-open", daemon=True).start()
    try:
        while not done.wait(0.05):
            if stop.is_set() and abandon():
                return False
    except BaseException:  # KeyboardInterrupt: the source must not stay open unowned
        if not abandon():
            source.close()
        raise
    if failure:
        raise failure[0]
    return True


def _write_stats(dirs: Sequence[Path], stats: RunStats) -> None:
    from streamseg.fileio import atomic_write
    from streamseg.jsonout import dumps

    report = dumps(stats.as_dict(), indent=2).encode()
    for d in dirs:
        atomic_write(d / "run_stats.json", report)
