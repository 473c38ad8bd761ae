"""One loop: a source through several segmenters into sinks, with statistics.

:func:`run` is the loop for library users (they build the parts); :func:`run_config`
builds the parts from a :class:`~streamseg.config.RunConfig`, runs them, and
writes the resolved configuration and the statistics beside the outputs (the
CLI and the Ray actors use it).

Shutdown: :func:`run` stops between frames when its ``stop`` event is set (the
CLI sets it from SIGINT/SIGTERM) or on ``KeyboardInterrupt``; a segmenter that holds
the frame meanwhile (a DeepLS model still loading) is closed, so the run ends at
once. Every part is closed by the caller's ``with`` block, so videos are finalised
and PNG masks are complete. Progress is reported to a callback (the CLI draws it).

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
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from streamseg.config import RunConfig, dump_config
from streamseg.errors import ClosedError
from streamseg.frame import Frame
from streamseg.outputs import check_run_outputs, earlier_policy, open_outputs
from streamseg.segmenters.base import Segmenter
from streamseg.sinks.base import Sink
from streamseg.sources.base import FrameSource
from streamseg.timings import Timings

__all__ = ["MethodStats", "RunStats", "run", "run_config", "run_status", "watch"]

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
        events: the events raised (per zone) and their deliveries, when the run raised
            events (see :meth:`~streamseg.sinks.events.EventSink.stats`).
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
    events: dict[str, Any] = field(default_factory=dict)
    #: Reads the events' counts while the run goes on (a run that raises events sets it).
    live_events: Callable[[], dict[str, Any]] | None = field(default=None, repr=False)

    def event_counts(self) -> dict[str, Any]:
        """The events' counts: final once the run ended, else as they are now."""
        if self.events or self.live_events is None:
            return self.events
        return self.live_events()

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
            **({"events": self.events} if self.events else {}),
        }


#: Told of the run's progress before the first frame and after each: ``(frames done,
#: frames in all or None, seconds since the loop started)``.
ProgressCallback = Callable[[int, int | None, float], None]


class _StopCloses:
    """Closes the segmenter a run is waiting on when its ``stop`` is set.

    A stop is read between frames, but a segmenter may hold a frame for seconds: DeepLS
    loads its model on a thread when the first frame comes, and the frame waits for it.
    Closed from another thread, a segmenter ends such a wait at once (the call raises
    :class:`~streamseg.errors.ClosedError`, which :func:`run` counts as the stop); its
    release completes on the run's thread as that call returns. A watcher thread does the
    closing; :meth:`end` joins it and raises what a close raised there.
    """

    def __init__(self, stop: threading.Event | None) -> None:
        self._stop = stop
        self._lock = threading.Lock()
        self._busy: Segmenter | None = None
        self._done = threading.Event()
        self._error: BaseException | None = None
        self._thread: threading.Thread | None = None
        if stop is not None:
            self._thread = threading.Thread(
                target=self._watch, args=(stop,), name="streamseg-stop", daemon=True
            )
            self._thread.start()

    @contextlib.contextmanager
    def waiting_on(self, segmenter: Segmenter) -> Iterator[None]:
        """Mark the block as the run waiting on ``segmenter``."""
        with self._lock:
            self._busy = segmenter
        try:
            yield
        finally:
            with self._lock:
                self._busy = None

    def _watch(self, stop: threading.Event) -> None:
        while not self._done.is_set():
            if not stop.wait(0.05):
                continue
            # The lock holds the run at the end of its call: the close completes there.
            with self._lock:
                try:
                    if self._busy is not None:
                        self._busy.close()
                except BaseException as err:  # raised again on the run's thread
                    self._error = err
                    return
            self._done.wait(0.05)  # the next segmenter of the frame may start meanwhile

    def end(self) -> BaseException | None:
        """Stop watching; what a close on the watcher's thread raised, if one did."""
        self._done.set()
        if self._thread is not None:
            self._thread.join()
        return self._error


@dataclass
class _Parts:
    """What each frame of a run goes through, and where it is counted."""

    segmenters: Mapping[str, Segmenter]
    sinks: Sequence[Sink]
    stats: RunStats
    guard: _StopCloses
    before_frame: Callable[[Frame], None] | None
    on_frame: Callable[[Frame, Mapping[str, np.ndarray]], None] | None

    def process(self, frame: Frame, t0: float, live: bool) -> None:
        """Segment ``frame`` (read at ``t0``), write its masks, count it."""
        if self.before_frame is not None:
            t_before = time.perf_counter()
            self.before_frame(frame)
            t0 += time.perf_counter() - t_before  # untimed: not in the latency
        masks = self._segment(frame)
        self._deliver(frame, masks)
        if self.on_frame is not None:
            self.on_frame(frame, masks)
        done = time.perf_counter()
        # A live frame's latency counts from its arrival, a file's from its decoding.
        start = done - (time.monotonic() - frame.timestamp) if live else t0
        self.stats.latency_ms.add(1000.0 * (done - start))
        self.stats.frames += 1

    def _segment(self, frame: Frame) -> dict[str, np.ndarray]:
        masks: dict[str, np.ndarray] = {}
        for name, seg in self.segmenters.items():
            method = self.stats.methods[name]
            if not seg.ready:
                method.warm_up += 1
            t1 = time.perf_counter()
            with self.guard.waiting_on(seg):
                masks[name] = seg.apply(frame.image, timestamp=frame.timestamp)
            method.ms.add(1000.0 * (time.perf_counter() - t1))
        return masks

    def _deliver(self, frame: Frame, masks: Mapping[str, np.ndarray]) -> None:
        delivered = False
        try:
            for sink in self.sinks:
                sink.write(frame, masks)
                delivered = True
        except BaseException:
            # A frame an output holds is counted (its mask written, the next output's
            # disk full): run_stats.json agrees with what is on disk.
            if delivered:
                self.stats.frames += 1
            raise


class _Pacer:
    """Holds each frame of a file until its timestamp, as a camera would deliver it.

    Frames are never read before their time; a slow pipeline just falls behind.
    """

    def __init__(self, stop: threading.Event | None) -> None:
        self._stop = stop
        self._first: tuple[float, float] | None = None  # (timestamp, perf_counter)

    def wait(self, timestamp: float, now: float) -> float | None:
        """Wait for the frame stamped ``timestamp`` (read at ``now``); the time it is
        released, or ``None`` if a stop came first."""
        if self._first is None:
            self._first = (timestamp, now)
        due = self._first[1] + timestamp - self._first[0]
        if due <= now:
            return now
        if self._stop is None:
            time.sleep(due - now)
        elif self._stop.wait(due - now):  # a stop ends the wait and the run
            return None
        return time.perf_counter()


def run(
    source: FrameSource,
    segmenters: Mapping[str, Segmenter],
    sinks: Sequence[Sink],
    *,
    max_frames: int | None = None,
    stop: threading.Event | None = None,
    on_progress: ProgressCallback | None = None,
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
        stop: set it (from another thread or a signal handler) to stop between frames; a
            segmenter the run is waiting on (a DeepLS model still loading) is closed.
        on_progress: told the frames done (see :data:`ProgressCallback`).
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
    total = _expected_frames(source.info.frame_count, max_frames)
    live = source.info.is_live
    pacer = _Pacer(stop) if realtime and not live else None
    started = time.perf_counter()
    parts = _Parts(segmenters, sinks, stats, _StopCloses(stop), before_frame, on_frame)
    if on_progress is not None:
        on_progress(0, total, 0.0)
    try:
        while max_frames is None or stats.frames < max_frames:
            if stop is not None and stop.is_set():
                stats.interrupted = True
                break
            t0 = time.perf_counter()
            frame = source.read()
            if frame is None:
                # A stop cancels the source's reads, which then end like a stream (a
                # file that ended as the stop came was read to its end).
                stopped = stop is not None and stop.is_set()
                stats.interrupted = stopped and (live or source.cancelled)
                break
            if pacer is not None:
                released = pacer.wait(frame.timestamp, t0)
                if released is None:
                    stats.interrupted = True
                    break
                t0 = released
            parts.process(frame, t0, live)
            if on_progress is not None:
                on_progress(stats.frames, total, time.perf_counter() - started)
    except KeyboardInterrupt:
        stats.interrupted = True
        log.warning("interrupted after %d frames", stats.frames)
    except ClosedError:
        if stop is None or not stop.is_set():
            raise
        stats.interrupted = True  # the stop closed a segmenter the run was waiting on
        log.info("stopped while a segmenter was busy, after %d frames", stats.frames)
    finally:
        stats.seconds = time.perf_counter() - started
        _count_source_and_methods(stats, source, segmenters)
        closing = parts.guard.end()
    if closing is not None:
        raise closing
    return stats


def _expected_frames(frame_count: int | None, max_frames: int | None) -> int | None:
    """Frames a run will segment if nothing stops it (``None``: not known)."""
    if max_frames is None:
        return frame_count
    return min(frame_count, max_frames) if frame_count else max_frames


def _count_source_and_methods(
    stats: RunStats, source: FrameSource, segmenters: Mapping[str, Segmenter]
) -> None:
    """The source's and the methods' own counters, into ``stats``."""
    stats.dropped, stats.reconnects = source.dropped, source.reconnects
    stats.warning = source.warning
    for name, seg in segmenters.items():
        stats.methods[name].extra.update(seg.stats())


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
        events=absolute(o.events),
        zones=absolute(o.zones),
        event_media=absolute(o.event_media),
    )
    return dataclasses.replace(config, source=source, outputs=outputs)


def _fit_to_source(config: RunConfig, source_fps: float | None, live: bool) -> RunConfig:
    """Methods whose ``fps`` is 0 ("the source's") get the source's frame rate (or 25), and
    those whose ``mode`` is ``auto`` train paced by the clock (``async``) on a live source."""
    from streamseg.registry import method_class

    methods = []
    for m in config.methods:
        cls = method_class(m.name)
        if cls.wants_source_fps and m.config.fps == 0:
            m = dataclasses.replace(m, config=dataclasses.replace(m.config, fps=source_fps or 25.0))
        if cls.wants_source_liveness and live and m.config.mode == "auto":
            m = dataclasses.replace(m, config=dataclasses.replace(m.config, mode="async"))
        methods.append(m)
    return dataclasses.replace(config, methods=tuple(methods))


def run_config(
    config: RunConfig,
    *,
    stop: threading.Event | None = None,
    on_progress: ProgressCallback | None = None,
    sinks: Sequence[Sink] = (),
    on_frame: Callable[[Frame, Mapping[str, np.ndarray]], None] | None = None,
    on_open: Callable[[FrameSource], None] | None = None,
    segmenters_out: dict[str, Segmenter] | None = None,
    resume_outputs: bool = False,
    stats: RunStats | None = None,
) -> RunStats:
    """Build the source, methods and sinks of ``config``, run them, write ``run.yaml``.

    The resolved configuration (``run.yaml``) and the statistics
    (``run_stats.json``) are written to every output folder.

    Args:
        config: the resolved run configuration.
        stop: an event that stops the run between frames (see :func:`run`).
        on_progress: told the frames done (see :data:`ProgressCallback`).
        sinks: extra sinks (e.g. a callback) besides those of ``config.outputs``.
        on_frame: called with each frame and its masks.
        on_open: called with the opened source (e.g. to let a signal handler cancel it).
        segmenters_out: filled with the created segmenters (for callers that checkpoint
            or inspect them while the run goes on).
        resume_outputs: go on writing into outputs this stream wrote before (a restarted
            ``serve`` stream): its earlier masks are neither refused nor replaced.
        stats: filled in place as the run goes (a supervisor reads it meanwhile).

    Raises:
        StreamsegError: bad source, method, output or model (nothing is left half-written).
    """
    from streamseg.sources import open_source

    methods = [m.name for m in config.methods]
    check_run_outputs(config, resume=resume_outputs)
    policy = earlier_policy(config.outputs, resume=resume_outputs)
    dirs: list[Path] = []  # known once the outputs opened: where the statistics go
    stats = stats if stats is not None else RunStats()
    try:
        with contextlib.ExitStack() as stack:
            source = open_source(config.source.uri, config.source)
            if not _open_unless_stopped(source, stop):
                stats.interrupted = True  # stopped while connecting: nothing was written
                return stats
            stack.enter_context(source)
            if on_open is not None:
                on_open(source)
            config = _fit_to_source(config, source.info.fps, source.info.is_live)
            segmenters = _create_segmenters(stack, config, segmenters_out)
            fps = config.outputs.fps or source.info.fps or 25.0
            live = source.info.is_live
            opened = open_outputs(stack, config.outputs, methods, fps, policy, live, sinks)
            config = dataclasses.replace(config, outputs=opened.outputs)
            dirs = opened.dirs
            _watch_outputs(stack, opened.sinks, config.outputs.camera, stats, source, segmenters)
            _write_run_yaml(dirs, config)
            run(
                source,
                segmenters,
                opened.sinks,
                max_frames=config.max_frames,
                stop=stop,
                on_progress=on_progress,
                on_frame=on_frame,
                realtime=config.source.realtime,
                stats=stats,
            )
    except Exception as err:
        # After the methods and outputs closed (a trainer failing after the last frame, a
        # checkpoint or a video that cannot be finalised end the run too). A stream lost
        # for good still leaves its outputs and their statistics; a failure to write
        # those must not hide the error itself.
        stats.error = str(err)
        with contextlib.suppress(Exception):
            _write_stats(dirs, stats)
        raise
    _write_stats(dirs, stats)
    return stats


def run_status(
    stats: RunStats,
    source: FrameSource,
    segmenters: Mapping[str, Segmenter],
    started: float,
) -> dict[str, Any]:
    """What a running run has done so far, as :class:`~streamseg.sinks.metrics.Metrics`
    reads a status: frames, fps, latency, the source's drops, each method's time and model
    version, and its events. Safe to call from another thread while the run goes on."""
    elapsed = time.monotonic() - started
    latency = stats.latency_ms
    methods: dict[str, Any] = {}
    for name, method in list(stats.methods.items()):
        seg = segmenters.get(name)
        methods[name] = {
            "frames": len(method.ms),
            "ms_sum": method.ms.total,
            "model_version": None if seg is None else seg.stats().get("model_version"),
        }
    return {
        "running": True,
        "frames": stats.frames,
        "fps": stats.frames / elapsed if elapsed > 0 else 0.0,
        "dropped": source.dropped,
        "reconnects": source.reconnects,
        "latency_ms": {
            "count": len(latency),
            "sum": latency.total,
            "p50": latency.percentile(50),
            "p99": latency.percentile(99),
        },
        "methods": methods,
        "events": stats.event_counts(),
    }


def _watch_outputs(
    stack: contextlib.ExitStack,
    sinks: Sequence[Sink],
    camera: str | None,
    stats: RunStats,
    source: FrameSource,
    segmenters: Mapping[str, Segmenter],
) -> None:
    """Serve the run's metrics on its live view, and count its events into ``stats`` as
    their sink closes (the events still open end then)."""
    from streamseg.sinks.events import EventSink

    _serve_metrics(sinks, camera, stats, source, segmenters)
    for sink in sinks:
        if isinstance(sink, EventSink):
            stats.live_events = sink.stats

            def count(sink: EventSink = sink) -> None:
                sink.close()
                stats.events = sink.stats()

            stack.callback(count)


def _serve_metrics(
    sinks: Sequence[Sink],
    camera: str | None,
    stats: RunStats,
    source: FrameSource,
    segmenters: Mapping[str, Segmenter],
) -> None:
    """Serve the run's Prometheus metrics at ``/metrics`` on its live view, if it has one
    (and ``prometheus_client`` is installed)."""
    from streamseg.errors import ConfigError
    from streamseg.sinks.web import WebSink

    views = [s for s in sinks if isinstance(s, WebSink)]
    if not views:
        return
    try:
        from streamseg.sinks.metrics import Metrics

        metrics = Metrics()
    except ConfigError as err:
        log.info("no /metrics on the live view: %s", err)
        return
    started = time.monotonic()
    metrics.add(
        camera or "streamseg",
        lambda: run_status(stats, source, segmenters, started),
    )
    for view in views:
        view.add_route("/metrics", metrics.exposition)


def watch(
    source: str | FrameSource,
    method: str | Segmenter,
    *,
    zones: str | Path | Sequence[Any] | None = None,
    config: Any = None,
    camera: str = "streamseg",
    media: str | Path | None = None,
    max_frames: int | None = None,
) -> Iterator[Any]:
    """The events of a source: one method's masks through an
    :class:`~streamseg.events.detector.EventDetector`.

    Args:
        source: a URI for :func:`~streamseg.sources.open_source`, or an open source.
        method: a method's name (created here and closed at the end) or a segmenter.
        zones: a zones file (its ``events:`` parameters are used unless ``config`` is
            given), or a list of :class:`~streamseg.events.zones.ZoneConfig`.
        config: the detector's :class:`~streamseg.events.detector.EventConfig`.
        camera: the camera's name in the events.
        media: the folder of snapshots and clips (``None``: snapshots in memory only).
        max_frames: stop after this many frames.

    Yields:
        Each :class:`~streamseg.events.detector.Event` as it is raised; when the source
        ends, the ``end`` of every event still open.

    Example:
        >>> import streamseg as ss
        >>> events = list(ss.watch("synthetic:frames=120,size=160x120", "mog2"))
        >>> events[0].type, events[-1].type
        ('start', 'end')
    """
    from streamseg.events import EventDetector, load_event_file
    from streamseg.registry import create
    from streamseg.sources import open_source

    zone_list: Sequence[Any] = ()
    if isinstance(zones, (str, Path)):
        file_config, zone_list = load_event_file(zones)
        config = config if config is not None else file_config
    elif zones is not None:
        zone_list = zones
    with contextlib.ExitStack() as stack:
        src = open_source(source) if isinstance(source, str) else source
        stack.enter_context(src)
        seg = stack.enter_context(create(method)) if isinstance(method, str) else method
        detector = EventDetector(config, zone_list, camera=camera, method=seg.name, media=media)
        closed = False
        try:
            for n, frame in enumerate(src):
                if max_frames is not None and n >= max_frames:
                    break
                mask = seg.apply(frame.image, timestamp=frame.timestamp)
                yield from detector.update(frame, mask)
            closed = True
            yield from detector.close()
        finally:
            if not closed:
                detector.close()  # the caller stopped early: finish the clips


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


def _create_segmenters(
    stack: contextlib.ExitStack, config: RunConfig, out: dict[str, Segmenter] | None
) -> dict[str, Segmenter]:
    """The run's segmenters by name, closed by ``stack`` (and put in ``out``, if given)."""
    from streamseg.registry import create

    segmenters = {m.name: stack.enter_context(create(m.name, m.config)) for m in config.methods}
    if out is not None:
        out.update(segmenters)
    return segmenters


def _write_run_yaml(dirs: Sequence[Path], config: RunConfig) -> None:
    """The resolved configuration in every output folder, runnable from any folder."""
    from streamseg.fileio import atomic_write, ensure_writable_dir

    resolved = dump_config(_absolute(config)).encode()
    for d in dirs:
        ensure_writable_dir(d)
        atomic_write(d / "run.yaml", resolved)


def _write_stats(dirs: Sequence[Path], stats: RunStats) -> None:
    from streamseg.fileio import atomic_write
    from streamseg.jsonout import dumps

    report = dumps(stats.as_dict(), indent=2).encode()
    for d in dirs:
        atomic_write(d / "run_stats.json", report)
