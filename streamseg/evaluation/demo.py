"""The demo: methods run on the built-in synthetic scene, scored against its exact truth.

``streamseg demo`` is :func:`demo_config`, :func:`run_demo` and :func:`write_demo`:
the scene's mosaic and masks are written as any run writes them, each frame's masks
are scored against the scene's own ground truth once the methods' warm-up is over,
and the scores go to ``metrics.json`` and ``metrics.md``.

Example:
    >>> import tempfile
    >>> from streamseg.evaluation.demo import demo_config, demo_markdown, run_demo
    >>> with tempfile.TemporaryDirectory() as out:
    ...     result = run_demo(demo_config(out, frames=20, size="64x48", methods=["mog2"]))
    >>> [row.method for row in result.rows], result.first_scored
    (['mog2'], 4)
    >>> demo_markdown(result.rows).splitlines()[0]
    '| method | F | recall | precision | PWC | ms/frame | fps |'
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

    from streamseg.config import RunConfig
    from streamseg.frame import Frame
    from streamseg.pipeline import ProgressCallback, RunStats
    from streamseg.sources.base import FrameSource

__all__ = ["DemoResult", "DemoRow", "demo_config", "demo_markdown", "run_demo", "write_demo"]

#: The methods' warm-up: frames before this (or a fifth of a shorter scene) are not
#: scored, as CDnet scores only after a start frame.
WARM_UP = 50


@dataclass(frozen=True)
class DemoRow:
    """One method's scores over the scored frames, and its speed."""

    method: str
    f_measure: float
    recall: float
    precision: float
    pwc: float
    ms_per_frame: float
    fps: float


@dataclass(frozen=True)
class DemoResult:
    """What :func:`run_demo` measured.

    Attributes:
        rows: per method, in the run's order.
        stats: the run's statistics.
        first_scored: the first frame scored.
    """

    rows: list[DemoRow]
    stats: RunStats
    first_scored: int


def demo_config(
    out: str | Path,
    *,
    frames: int = 300,
    size: str = "320x240",
    methods: Sequence[str] = (),
    web: str | None = None,
) -> RunConfig:
    """The demo's run: the synthetic scene through ``methods`` into the folder ``out``.

    Args:
        out: the demo's folder: ``mosaic.mp4`` and ``masks/`` (a second demo replaces them).
        frames: length of the scene.
        size: its frame size, ``WxH``.
        methods: the methods (default: every available one that is not experimental).
        web: also show the mosaic live at this ``[HOST:]PORT``; the scene then plays at
            its frame rate.
    """
    from streamseg.config import run_config_from_dict
    from streamseg.registry import available

    uri = f"synthetic:frames={frames},size={size}"
    return run_config_from_dict(
        {
            # Watched live, the scene plays at its frame rate, not as fast as it renders.
            "source": {"uri": uri, "realtime": web is not None},
            "methods": [{"name": n} for n in methods or available(experimental=False)],
            "outputs": {
                "masks": str(Path(out) / "masks"),
                "video": str(Path(out) / "mosaic.mp4"),
                "web": web,
                "overwrite": True,  # the demo's own folder: a second demo replaces the first
            },
        }
    )


def run_demo(
    config: RunConfig,
    *,
    stop: threading.Event | None = None,
    on_progress: ProgressCallback | None = None,
    on_open: Callable[[FrameSource], None] | None = None,
) -> DemoResult:
    """Run ``config`` (a :func:`demo_config`) and score each method's masks.

    Args:
        config: the demo's run; its source is a synthetic scene.
        stop, on_progress, on_open: as :func:`~streamseg.pipeline.run_config` takes them.
    """
    from streamseg.evaluation.metrics import Confusion
    from streamseg.pipeline import run_config
    from streamseg.sources import parse_synthetic

    scene = parse_synthetic(config.source.uri)
    names = [m.name for m in config.methods]
    confusions = {n: Confusion() for n in names}
    first_scored = min(WARM_UP, scene.frames // 5)

    def score(frame: Frame, masks: Mapping[str, np.ndarray]) -> None:
        if frame.index >= first_scored:
            truth = scene.render(frame.index)[1]
            for n, m in masks.items():
                confusions[n].update(m, truth)

    stats = run_config(config, stop=stop, on_progress=on_progress, on_frame=score, on_open=on_open)
    rows = []
    for n in names:
        s, ms = confusions[n].compute(), stats.methods[n]
        rows.append(DemoRow(n, s.f_measure, s.recall, s.precision, s.pwc, ms.ms_mean, ms.fps))
    return DemoResult(rows, stats, first_scored)


def demo_markdown(rows: Sequence[DemoRow]) -> str:
    """The scores as a Markdown table."""
    lines = [
        "| method | F | recall | precision | PWC | ms/frame | fps |",
        "|---|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {r.method} | {r.f_measure:.3f} | {r.recall:.3f} | {r.precision:.3f} "
        f"| {r.pwc:.2f} | {r.ms_per_frame:.2f} | {r.fps:.1f} |"
        for r in rows
    ]
    return "\n".join(lines) + "\n"


def write_demo(result: DemoResult, out: str | Path) -> list[Path]:
    """Write ``out/metrics.md`` and ``out/metrics.json`` (atomically); their paths."""
    from streamseg.fileio import atomic_write
    from streamseg.jsonout import dumps

    rows: list[dict[str, Any]] = [asdict(r) for r in result.rows]
    files = [Path(out) / "metrics.md", Path(out) / "metrics.json"]
    atomic_write(files[0], demo_markdown(result.rows).encode())
    atomic_write(files[1], dumps(rows, indent=2).encode())
    return files
