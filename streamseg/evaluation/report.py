"""Write a :class:`~streamseg.evaluation.benchmark.Report`: CSV, JSON, Markdown and plots.

Files in the report folder:

* ``results.csv``: one row per (method, sequence) with every metric and ms/frame;
* ``results.json``: the same plus per-category and overall means and PR curves;
* ``results.md``: the tables people read (F per sequence per method, overall, object
  recall / precision and false alarms per minute);
* ``f_per_sequence.png``: grouped bars, F per sequence per method;
* ``f_vs_fps.png``: one point per method, overall F against frames per second;
* ``pr_curves.png``: precision–recall over thresholds for methods with a score.
"""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path

from streamseg.evaluation.benchmark import METRICS, Report
from streamseg.fileio import atomic_write, ensure_writable_dir
from streamseg.jsonout import dumps

__all__ = ["write_report", "markdown"]


def _fmt(value: float | None, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{value:.{digits}f}"


def markdown(report: Report) -> str:
    """The report's tables in Markdown."""
    methods = report.methods
    seqs = list(dict.fromkeys(r.sequence for r in report.results))
    by = {(r.method, r.sequence): r for r in report.results}
    lines = ["| sequence | " + " | ".join(methods) + " |", "|---|" + "---|" * len(methods)]
    for s in seqs:
        cells = [_fmt(by[(m, s)].scores.f_measure) if (m, s) in by else "–" for m in methods]
        lines.append(f"| {s} | " + " | ".join(cells) + " |")
    overall = {m: report.overall(m) for m in methods}
    lines.append(
        "| **mean F** | "
        + " | ".join(f"**{_fmt(overall[m]['f_measure'])}**" for m in methods)
        + " |"
    )
    lines.append(
        "| ms/frame | "
        + " | ".join(_fmt(overall[m].get("ms_per_frame", math.nan), 2) for m in methods)
        + " |"
    )
    lines += [
        "",
        "| method | recall | specificity | FPR | FNR | PWC | precision | F | fps |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for m in methods:
        o = overall[m]
        lines.append(
            f"| {m} | "
            + " | ".join(_fmt(o[k]) for k in METRICS)
            + f" | {_fmt(o.get('fps', math.nan), 1)} |"
        )
    lines += _objects(report, seqs, overall)
    lines += _ceilings(report, seqs)
    return "\n".join(lines) + "\n"


def _objects(report: Report, seqs: list[str], overall: dict[str, dict[str, float]]) -> list[str]:
    """The object-level tables (Markdown lines; none when no result counted objects)."""
    methods = [m for m in report.methods if "object_recall" in overall[m]]
    if not methods:
        return []
    by = {(r.method, r.sequence): r.objects for r in report.results}
    lines = [
        "",
        "Objects: connected components of at least 0.05 % of the frame, a mask's matching "
        "the ground truth's when their boxes overlap by IoU >= 0.3; object recall / "
        "precision per sequence, and false alarms per minute of the frames without an "
        "object (a predicted object 3 frames in a row, at 25 fps).",
        "",
        "| sequence | " + " | ".join(methods) + " |",
        "|---|" + "---|" * len(methods),
    ]
    for s in seqs:
        cells = []
        for m in methods:
            o = by.get((m, s))
            cells.append("–" if o is None else f"{_fmt(o.recall)} / {_fmt(o.precision)}")
        lines.append(f"| {s} | " + " | ".join(cells) + " |")
    lines.append(
        "| **mean** | "
        + " | ".join(
            f"**{_fmt(overall[m]['object_recall'])} / {_fmt(overall[m]['object_precision'])}**"
            for m in methods
        )
        + " |"
    )
    lines.append(
        "| false alarms/min | "
        + " | ".join(_fmt(overall[m]["false_alarms_per_min"], 2) for m in methods)
        + " |"
    )
    return lines


def _ceilings(report: Report, seqs: list[str]) -> list[str]:
    """The ceilings table (Markdown lines; none when there is no ceiling to show)."""
    ceil = report.ceilings()
    thresholds, top = ceil["best_threshold"], ceil.get("best_method")
    if not thresholds and top is None:
        return []
    heads = [f"{m} at its best threshold" for m in thresholds] + (["best method"] if top else [])
    lines = [
        "",
        "Ceilings: one choice per sequence, made with the ground truth (no method with one "
        "setting for all footage is owed them): F at each scoring method's best threshold "
        "(in brackets; 0.5 is the mask rule's, 'mask': its own mask did best), and the best "
        "F of any method.",
        "",
        "| sequence | " + " | ".join(heads) + " |",
        "|---|" + "---|" * len(heads),
    ]
    for s in seqs:
        cells = []
        for ceiling in thresholds.values():
            best = ceiling["per_sequence"].get(s)
            if best is None:
                cells.append("–")
            else:
                t = best["threshold"]
                cells.append(f"{_fmt(best['f_measure'])} ({'mask' if t is None else f'{t:.2f}'})")
        if top is not None:
            best = top["per_sequence"].get(s)
            cells.append(
                f"{_fmt(best['f_measure'])} {best['method'] or ''}".strip() if best else "–"
            )
        lines.append(f"| {s} | " + " | ".join(cells) + " |")
    means = [c["f_measure"] for c in thresholds.values()] + ([top["f_measure"]] if top else [])
    lines.append("| **mean F** | " + " | ".join(f"**{_fmt(m)}**" for m in means) + " |")
    return lines


def _csv(report: Report) -> str:
    rows = [r.row() for r in report.results]
    buf = io.StringIO()
    if rows:
        writer = csv.DictWriter(buf, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return buf.getvalue()


#: Every plot a report may draw.
_PLOTS = ("f_per_sequence.png", "f_vs_fps.png", "pr_curves.png")


def _plots(report: Report, out: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    methods = report.methods
    seqs = list(dict.fromkeys(r.sequence for r in report.results))
    by = {(r.method, r.sequence): r for r in report.results}
    written = []

    fig, ax = plt.subplots(figsize=(max(6, 1.2 * len(seqs) * max(1, len(methods)) / 2), 4))
    width = 0.8 / max(1, len(methods))
    for i, m in enumerate(methods):
        xs = [j + i * width for j in range(len(seqs))]
        ys = [by[(m, s)].scores.f_measure if (m, s) in by else 0 for s in seqs]
        ax.bar(xs, [0 if math.isnan(y) else y for y in ys], width, label=m)
    ax.set_xticks([j + width * (len(methods) - 1) / 2 for j in range(len(seqs))])
    ax.set_xticklabels(seqs, rotation=20, ha="right")
    ax.set_ylabel("F-measure")
    ax.set_ylim(0, 1)
    ax.legend(ncols=min(4, len(methods)), fontsize="small")
    ax.set_title("F-measure per sequence")
    fig.tight_layout()
    written.append(out / "f_per_sequence.png")
    fig.savefig(written[-1], dpi=110)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(5.5, 4))
    for m in methods:
        o = report.overall(m)
        fps = o.get("fps", math.nan)
        if not math.isnan(fps):
            ax.scatter(fps, o["f_measure"], s=60)
            ax.annotate(m, (fps, o["f_measure"]), textcoords="offset points", xytext=(6, 4))
    ax.set_xscale("log")
    ax.set_xlabel("frames per second (method only, log scale)")
    ax.set_ylabel("mean F-measure")
    ax.set_title("accuracy vs speed")
    ax.grid(True, alpha=0.3)
    fig.tight_layout()
    written.append(out / "f_vs_fps.png")
    fig.savefig(written[-1], dpi=110)
    plt.close(fig)

    curves = [r for r in report.results if r.pr]
    if curves:
        fig, ax = plt.subplots(figsize=(5.5, 4.5))
        for r in curves:
            assert r.pr is not None
            pts = [(rec, prec) for _, prec, rec in r.pr if not math.isnan(prec)]
            if pts:
                ax.plot([p[0] for p in pts], [p[1] for p in pts], label=f"{r.method}/{r.sequence}")
        ax.set_xlabel("recall")
        ax.set_ylabel("precision")
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        ax.set_title("precision–recall over score thresholds")
        ax.legend(fontsize="x-small")
        fig.tight_layout()
        written.append(out / "pr_curves.png")
        fig.savefig(written[-1], dpi=110)
        plt.close(fig)
    return written


def write_report(report: Report, out: str | Path, *, plots: bool = True) -> list[Path]:
    """Write every report file into ``out``; returns their paths."""
    folder = Path(out)
    ensure_writable_dir(folder)
    files = {
        "results.csv": _csv(report),
        "results.json": dumps(report.as_dict(), indent=2),
        "results.md": markdown(report),
    }
    written = []
    for name, text in files.items():
        atomic_write(folder / name, text.encode())
        written.append(folder / name)
    if plots:
        written += _plots(report, folder)
    for name in _PLOTS:
        # A plot this report has not (re)drawn is an earlier report's: it would read as this one's.
        if folder / name not in written:
            (folder / name).unlink(missing_ok=True)
    return written
