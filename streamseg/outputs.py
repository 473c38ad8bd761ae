"""Where a run's results go: its sinks, the checks made before any opens, earlier outputs.

:func:`build_sinks` turns an :class:`~streamseg.config.OutputConfig` into sinks;
:func:`check_run_outputs` refuses, before anything opens, outputs that would destroy
the input or one another; :func:`open_outputs` opens them for a run.

What an earlier run left where this one writes is handled by one policy, for every
command that writes into a folder (``run``, ``serve``, ``eval``, ``synth``):

* ``refuse``: a folder that holds an earlier run's masks (or sequence) is refused
  before anything opens, so two runs' results never mix into one that ``eval`` would
  score as a whole;
* ``overwrite``: they are removed, only once every output has opened (a bad video name
  keeps them all);
* ``resume``: a restarted stream goes on where it was: its masks are numbered after
  those written before, its videos go to new ``NAME.partN.EXT`` files beside the
  earlier ones.

A video this run writes replaces the file of that name, and the ``.partN`` files an
earlier stream's restarts left beside it (they would read as its continuation), unless
the run resumes.

Messages name outputs as a run's configuration does (``outputs.masks``); the CLI says
them in its option names.
"""

from __future__ import annotations

import contextlib
import dataclasses
import glob
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from streamseg.config import OutputConfig, RunConfig
from streamseg.errors import SinkError
from streamseg.sinks import MaskVideoSink, MosaicSink, OverlayVideoSink, PngMaskSink
from streamseg.sinks.base import Sink

__all__ = [
    "Earlier",
    "OpenedOutputs",
    "build_event_sink",
    "build_sinks",
    "check_outputs",
    "check_run_outputs",
    "clear_earlier",
    "earlier_policy",
    "event_media",
    "open_outputs",
    "refuse_earlier",
]

log = logging.getLogger(__name__)

#: What is done with what an earlier run left where this one writes (see the module doc).
Earlier = Literal["refuse", "overwrite", "resume"]


def earlier_policy(outputs: OutputConfig, *, resume: bool = False) -> Earlier:
    """The policy a run's ``outputs`` ask for (``resume``: a restarted stream's own outputs)."""
    if resume:
        return "resume"
    return "overwrite" if outputs.overwrite else "refuse"


def refuse_earlier(
    found: Sequence[Path], policy: Earlier, *, where: Path, what: str, overwrite: str
) -> None:
    """Refuse ``found``, what an earlier run left in ``where``, if ``policy`` is ``refuse``.

    Args:
        found: the earlier files.
        policy: see :data:`Earlier`.
        where: the folder named in the message.
        what: the files, as the message names them (``"8 masks (bin*.png)"``).
        overwrite: how the caller asks to replace them (``"set outputs.overwrite"``).

    Raises:
        SinkError: ``found`` is not empty and ``policy`` is ``refuse``.
    """
    if found and policy == "refuse":
        raise SinkError(
            f"{where} already holds {what} of an earlier run; give an empty or new folder, "
            f"or {overwrite} to replace them"
        )


def clear_earlier(found: Sequence[Path], policy: Earlier) -> int:
    """Remove ``found`` if ``policy`` is ``overwrite``; how many files were removed."""
    if policy != "overwrite":
        return 0
    for path in found:
        path.unlink(missing_ok=True)
    return len(found)


def _name_for(template: str, method: str, several: bool) -> Path:
    if "{method}" in template:
        return Path(template.format(method=method))
    path = Path(template)
    return path.with_name(f"{path.stem}_{method}{path.suffix}") if several else path


def event_media(outputs: OutputConfig) -> Path | None:
    """The folder of the events' snapshots and clips: ``event_media``, else
    ``<log name>-media/`` beside the event log, else none."""
    if outputs.event_media:
        return Path(outputs.event_media)
    if outputs.events:
        log_path = Path(outputs.events)
        return log_path.with_name(f"{log_path.stem}-media")
    return None


def build_event_sink(outputs: OutputConfig, methods: Sequence[str]) -> Sink | None:
    """The sink that raises the run's events and delivers them, if ``outputs`` asks for one.

    Raises:
        ConfigError: a bad zones file, or an ``event_method`` the run does not have.
    """
    if not outputs.raises_events:
        return None
    from streamseg.errors import ConfigError
    from streamseg.events import EventConfig, EventDetector, load_event_file
    from streamseg.sinks.events import EventOutput, EventSink

    method = outputs.event_method or (methods[0] if methods else None)
    if method is not None and methods and method not in methods:
        raise ConfigError(
            f"outputs.event_method {method!r} is not a method of this run ({', '.join(methods)})"
        )
    from streamseg.config import find_config

    # A file, or the shipped example by name (streamseg config show zones).
    zones_file = find_config(outputs.zones) if outputs.zones else None
    config, zones = load_event_file(zones_file) if zones_file else (EventConfig(), ())
    camera = outputs.camera or "streamseg"
    detector = EventDetector(
        config, zones, camera=camera, method=method, media=event_media(outputs)
    )
    delivery: list[EventOutput] = []
    if outputs.events:
        from streamseg.sinks.eventlog import EventLog

        delivery.append(EventLog(outputs.events))
    if outputs.webhook:
        from streamseg.sinks.webhook import Webhook

        delivery.append(Webhook(outputs.webhook))
    if outputs.mqtt:
        from streamseg.sinks.mqtt import Mqtt

        delivery.append(Mqtt(outputs.mqtt, camera))
    return EventSink(detector, delivery, method=method if len(methods) > 1 else None)


def build_sinks(
    outputs: OutputConfig, methods: Sequence[str], fps: float, *, mask_offset: int = 0
) -> list[Sink]:
    """The sinks an :class:`OutputConfig` asks for (not opened yet).

    ``mask_offset`` is added to the masks' frame numbers (see :class:`PngMaskSink`). The
    events' sink comes before the live view, which draws its zones and boxes.
    """
    several = len(methods) > 1
    sinks: list[Sink] = []
    if outputs.masks:
        root = Path(outputs.masks)
        for m in methods:
            sinks.append(PngMaskSink(root / m if several else root, method=m, offset=mask_offset))
    if outputs.video:
        sinks.append(MosaicSink(outputs.video, fps=fps))
    if outputs.overlay:
        for m in methods:
            sinks.append(OverlayVideoSink(_name_for(outputs.overlay, m, several), m, fps))
    if outputs.mask_video:
        for m in methods:
            sinks.append(MaskVideoSink(_name_for(outputs.mask_video, m, several), m, fps))
    events = build_event_sink(outputs, methods)
    if events is not None:
        sinks.append(events)
    if outputs.web:
        from streamseg.sinks.events import EventSink
        from streamseg.sinks.web import WebSink

        draw = [events.draw] if isinstance(events, EventSink) else []
        sinks.append(WebSink(outputs.web, annotate=draw))
    return sinks


def _sink_path(sink: Sink) -> tuple[str, Path] | None:
    """What a sink of :func:`build_sinks` writes: (the field that names it, its path)."""
    if isinstance(sink, PngMaskSink):
        return "outputs.masks", sink.folder
    kinds = (
        (MosaicSink, "outputs.video"),
        (OverlayVideoSink, "outputs.overlay"),
        (MaskVideoSink, "outputs.mask_video"),
    )
    for cls, field in kinds:
        if isinstance(sink, cls):
            return field, sink.path
    return None


def check_outputs(
    source_uri: str, sinks: Sequence[Sink], files: Sequence[tuple[str, Path]] = ()
) -> None:
    """Refuse outputs that would destroy the input or one another, before any is created.

    Args:
        source_uri: the input.
        sinks: the outputs of :func:`build_sinks`.
        files: other outputs, as ``(what names it, path)`` (a method's checkpoint).

    Raises:
        SinkError: an output is the input (a video written over the file it reads, masks
            into the image folder it reads), or two outputs share one path.
    """
    from streamseg.sources import local_path

    # A camera, a URL or the synthetic scene (None) has nothing on disk to destroy.
    source = local_path(source_uri)
    inputs: set[Path] = set()
    if source is not None and source.exists():
        inputs.add(source.resolve())
        if (source / "input").is_dir():
            inputs.add((source / "input").resolve())  # a CDnet sequence root reads input/
    seen: dict[Path, str] = {}
    named_sinks = [named for sink in sinks if (named := _sink_path(sink)) is not None]
    for name, path in [*named_sinks, *files]:
        where = path.resolve()
        if where in inputs:
            raise SinkError(f"{name} {path} is the input itself; write the output elsewhere")
        if where in seen:
            raise SinkError(
                f"{seen[where]} and {name} both write {path}; give each output its own name"
            )
        seen[where] = name


def _earlier_masks(sinks: Sequence[Sink]) -> list[Path]:
    """``bin*.png`` files already in the folders this run's masks go to."""
    found: list[Path] = []
    for sink in sinks:
        if isinstance(sink, PngMaskSink) and sink.folder.is_dir():
            found += sorted(sink.folder.glob("bin*.png"))
    return found


def _refuse_earlier_masks(sinks: Sequence[Sink], policy: Earlier) -> None:
    """Refuse a masks folder that holds another run's masks, naming the first such folder."""
    earlier = _earlier_masks(sinks)
    if earlier:
        folder = earlier[0].parent
        count = sum(1 for path in earlier if path.parent == folder)
        what = f"{count} masks (bin*.png)"
        refuse_earlier(earlier, policy, where=folder, what=what, overwrite="set outputs.overwrite")


def _last_mask_number(sinks: Sequence[Sink]) -> int:
    """The highest frame number among the masks already in this run's masks folders (0: none)."""
    numbers = [int(p.stem[3:]) for p in _earlier_masks(sinks) if p.stem[3:].isdigit()]
    return max(numbers, default=0)


def _next_video_part(outputs: OutputConfig, methods: Sequence[str], fps: float) -> OutputConfig:
    """``outputs`` with every video renamed ``NAME.partN.EXT``, N the first free number.

    The names themselves while none of their files exists (a camera that was down when
    the stream first started has written no video yet).
    """
    if not any(path.exists() for path in _video_paths(outputs, methods, fps)):
        return outputs
    kinds = ("video", "overlay", "mask_video")
    templates = {k: v for k in kinds if (v := getattr(outputs, k))}
    for k in ("overlay", "mask_video"):
        if k in templates and len(methods) > 1 and "{method}" not in templates[k]:
            # The method's name first, as _name_for puts it (ov_mog2.part2.mp4, the part
            # of ov_mog2.mp4), where .partN would come before it.
            v = Path(templates[k])
            templates[k] = str(v.with_name(f"{v.stem}_{{method}}{v.suffix}"))
    for part in range(2, 10_000):
        names: dict[str, Any] = {
            k: str(Path(v).with_name(f"{Path(v).stem}.part{part}{Path(v).suffix}"))
            for k, v in templates.items()
        }
        renamed = dataclasses.replace(outputs, **names)
        if not any(path.exists() for path in _video_paths(renamed, methods, fps)):
            return renamed
    raise SinkError(f"{outputs.video or outputs.overlay or outputs.mask_video}: no free part name")


def _video_paths(outputs: OutputConfig, methods: Sequence[str], fps: float) -> list[Path]:
    """The video files ``outputs`` names."""
    return _videos_of(build_sinks(outputs, methods, fps))


def _videos_of(sinks: Sequence[Sink]) -> list[Path]:
    """The video files ``sinks`` write (masks folders left out)."""
    videos = [s for s in sinks if not isinstance(s, PngMaskSink)]
    return [named[1] for s in videos if (named := _sink_path(s)) is not None]


def _earlier_parts(videos: Sequence[Path]) -> list[Path]:
    """``NAME.partN.EXT`` files a restarted live stream left beside each of ``videos``."""
    return [
        part
        for video in videos
        for part in video.parent.glob(f"{glob.escape(video.stem)}.part*{video.suffix}")
        if part.stem[len(video.stem) + 5 :].isdigit()
    ]


def check_run_outputs(config: RunConfig, *, resume: bool = False) -> None:
    """Everything a run checks of its outputs before anything opens.

    Args:
        config: the run.
        resume: the outputs are this stream's own from before (a restart): earlier masks
            there are expected.

    Raises:
        SinkError: see :func:`check_outputs`; a masks folder holding masks under the
            ``refuse`` policy; or a live view's port that is taken.
    """
    from streamseg.registry import method_class

    # The fps only changes the videos' rate, which no check looks at.
    planned = build_sinks(config.outputs, [m.name for m in config.methods], 25.0)
    checkpoints = [
        (f"methods.{m.name}.save", Path(m.config.save).expanduser())
        for m in config.methods
        if method_class(m.name).checkpointable and m.config.save
    ]
    files = checkpoints
    if config.outputs.events:
        files = [*files, ("outputs.events", Path(config.outputs.events))]
    check_outputs(config.source.uri, planned, files)
    _refuse_earlier_masks(planned, earlier_policy(config.outputs, resume=resume))
    if config.outputs.web:
        from streamseg.sinks.web import probe

        probe(config.outputs.web)  # a taken port, before a camera takes seconds to connect


def _output_dirs(outputs: OutputConfig, sinks: Sequence[Sink]) -> list[Path]:
    """The folders that get ``run.yaml`` and ``run_stats.json``: the masks', each video's and
    the event log's."""
    dirs = [Path(outputs.masks)] if outputs.masks else []
    for sink in sinks:
        named = _sink_path(sink)
        if named is not None and not isinstance(sink, PngMaskSink):
            dirs.append(named[1].parent)
    if outputs.events:
        dirs.append(Path(outputs.events).parent)
    unique: list[Path] = []
    for d in dirs:
        if d.resolve() not in [u.resolve() for u in unique]:
            unique.append(d)
    return unique


@dataclass(frozen=True)
class OpenedOutputs:
    """The outputs of a run, open.

    Attributes:
        outputs: the configuration they were opened from (a resumed stream's videos
            renamed to their new parts).
        sinks: every sink, the run's own then the caller's.
        dirs: the folders that get the run's ``run.yaml`` and ``run_stats.json``.
    """

    outputs: OutputConfig
    sinks: list[Sink]
    dirs: list[Path]


def open_outputs(
    stack: contextlib.ExitStack,
    outputs: OutputConfig,
    methods: Sequence[str],
    fps: float,
    policy: Earlier,
    live: bool,
    extra: Sequence[Sink] = (),
) -> OpenedOutputs:
    """Open the sinks ``outputs`` asks for and ``extra`` on ``stack``, then settle what
    earlier runs left there by ``policy``.

    Args:
        stack: closes the sinks.
        outputs: what to write.
        methods: the run's methods.
        fps: the videos' frame rate.
        policy: see :data:`Earlier`; a resumed live stream's frames count from 1 again, so
            its masks are numbered after those written before and its videos go to new
            parts (a file is segmented again from its start, into the same names).
        live: the source is live.
        extra: the caller's own sinks.
    """
    offset = 0
    if policy == "resume" and live:
        offset = _last_mask_number(build_sinks(outputs, methods, fps))
        outputs = _next_video_part(outputs, methods, fps)
    own = build_sinks(outputs, methods, fps, mask_offset=offset)
    sinks = own + list(extra)
    for sink in sinks:
        stack.enter_context(sink)
    if policy != "resume":
        # Only now: every output has opened. The refusal came before anything opened.
        clear_earlier(_earlier_parts(_videos_of(own)), "overwrite")
        replaced = clear_earlier(_earlier_masks(own), policy)
        if replaced:
            log.info("replaced %d masks of an earlier run", replaced)
    return OpenedOutputs(outputs, sinks, _output_dirs(outputs, own))
