"""Every table the commands print (rich), built from the library's plain results."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from rich.table import Table

if TYPE_CHECKING:
    from streamseg.evaluation.demo import DemoResult
    from streamseg.pipeline import RunStats


def stats_table(stats: RunStats, title: str) -> Table:
    """``run``'s speed per method."""
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


def agreement_table(masks_iou: Mapping[tuple[str, str], float]) -> Table:
    """``run``'s mean IoU of every pair of methods' masks, as a symmetric matrix."""
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


def demo_table(result: DemoResult, size: str) -> Table:
    """The demo's scores and speed per method."""
    table = Table(
        title=f"synthetic scene {size}, {result.stats.frames} frames "
        f"(scored from frame {result.first_scored})",
        title_justify="left",
    )
    for col in ("method", "F", "recall", "precision", "PWC", "ms/frame", "fps"):
        table.add_column(col, justify="left" if col == "method" else "right")
    for r in result.rows:
        table.add_row(
            r.method,
            f"{r.f_measure:.3f}",
            f"{r.recall:.3f}",
            f"{r.precision:.3f}",
            f"{r.pwc:.2f}",
            f"{r.ms_per_frame:.2f}",
            f"{r.fps:.1f}",
        )
    return table


def status_table(statuses: Sequence[Mapping[str, Any]]) -> Table:
    """Stream statuses (the terminal view of ``streamseg serve``)."""
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


def methods_table(rows: Sequence[tuple[str, str, str]]) -> Table:
    """``list``: each method's name, parameters with their defaults, and what it is."""
    table = Table(title="methods", title_justify="left", show_lines=True)
    table.add_column("name")
    table.add_column("parameters (default)")
    table.add_column("about")
    for row in rows:
        table.add_row(*row)
    return table


def parameters_table(title: str, rows: Sequence[Sequence[str]]) -> Table:
    """``list METHOD``: each parameter's name, type, default and meaning."""
    table = Table(title=title, title_justify="left")
    for column in ("parameter", "type", "default", "meaning"):
        table.add_column(column, overflow="fold" if column != "meaning" else "ellipsis")
    for row in rows:
        table.add_row(*row)
    return table
