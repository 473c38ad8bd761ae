"""The commands' progress bars on stderr (rich, imported when a bar is drawn)."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any


class FrameBar:
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

    def __enter__(self) -> FrameBar:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.stop()


def frame_bar(cfg: Any, enabled: bool) -> Any:
    """The progress bar of run ``cfg`` (a context manager; ``None`` inside when disabled)."""
    if not enabled:
        return contextlib.nullcontext(None)
    names = ", ".join(m.name for m in cfg.methods)
    return FrameBar(f"{names} on {Path(cfg.source.uri).name}")


def step_bars(console: Any, enabled: bool) -> Any:
    """Bars of counted steps (``train``'s decoding and training), each with an ``info`` field."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    columns = [
        TextColumn("{task.description}", markup=False),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[info]}", markup=False),
        TimeElapsedColumn(),
    ]
    return Progress(*columns, console=console, disable=not enabled)


def folder_bar(console: Any, enabled: bool) -> Any:
    """A bar naming the folder at work (``eval --method``'s sequences)."""
    from rich.progress import Progress

    return Progress(console=console, disable=not enabled)
