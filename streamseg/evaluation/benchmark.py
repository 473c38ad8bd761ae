"""Score methods on CDnet sequences the way CDnet reports them, in one run.

:func:`benchmark` runs every chosen method causally over every sequence (frames in
order, each method fresh per sequence, masks written as CDnet results), times each
method's own ``apply`` in the same run, and scores the written masks with CDnet's
rules. :func:`score_results` scores masks that already exist. Both return a
:class:`Report`: per sequence, per category (mean over its sequences) and overall
(mean over categories, as CDnet 2014 does) recall, specificity, FPR, FNR, PWC,
precision and F-measure, plus ms per frame.

For methods with a continuous score (``score_one``) a histogram of the score on
scored pixels gives a precision–recall curve over thresholds. Each frame is scored
before the method learns from it, like its mask, so the curve's point at the mask
rule's threshold is the mask, up to what a method does to its mask after the threshold.

Ceilings (:meth:`Report.ceilings`) say what one choice per sequence, made with the ground
truth, reaches: the F of each method's best threshold per sequence (from its curve, or
its mask where that does better) and of the best method per sequence. No causal method
with one setting for all footage is owed them; they tell a threshold that is off from a
score that ranks pixels badly, and how much of a shortfall the footage leaves to all of
the methods run.

A metric that is undefined on one sequence (precision where a method called nothing
foreground) leaves its means undefined too, as CDnet's averaging would: a mean over
fewer sequences than the others would not compare.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from streamseg.errors import EvaluationError
from streamseg.evaluation.cdnet import (
    CDnetSequence,
    check_roi,
    evaluate_folder,
    find_sequences,
)
from streamseg.evaluation.metrics import METRICS, Scores, valid_pixels
from streamseg.evaluation.objects import ObjectCounter, ObjectScores
from streamseg.jsonout import plain

__all__ = ["SequenceResult", "Report", "benchmark", "score_results", "METRICS"]

_BINS = np.linspace(0.0, 1.0, 101)


@dataclass
class SequenceResult:
    """One method on one sequence."""

    method: str
    category: str
    sequence: str
    scores: Scores
    frames: int = 0  # frames the method processed (0: existing results were scored)
    scored_frames: int = 0  # frames compared with the ground truth
    ms_per_frame: float = float("nan")
    warm_up: int = 0
    pr: list[tuple[float, float, float]] | None = None  # (threshold, precision, recall)
    objects: ObjectScores | None = None  # object recall, precision, false alarms

    def row(self) -> dict[str, Any]:
        out = {
            "method": self.method,
            "category": self.category,
            "sequence": self.sequence,
            "frames": self.frames,
            "scored_frames": self.scored_frames,
            "ms_per_frame": self.ms_per_frame,
            "fps": 1000.0 / self.ms_per_frame if self.ms_per_frame > 0 else float("nan"),
            "warm_up_frames": self.warm_up,
        }
        out.update(self.scores.as_dict())
        if self.objects is not None:
            out.update(self.objects.as_dict())
        return out


def _mean(values: Sequence[float]) -> float:
    return float(np.mean(values)) if len(values) else float("nan")


@dataclass
class Report:
    """All results of one benchmark run."""

    results: list[SequenceResult] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def methods(self) -> list[str]:
        return list(dict.fromkeys(r.method for r in self.results))

    def categories(self, method: str) -> dict[str, dict[str, float]]:
        """Per category: the mean of each metric over its sequences (CDnet's way)."""
        out: dict[str, dict[str, float]] = {}
        for cat in dict.fromkeys(r.category for r in self.results if r.method == method):
            rows = [r for r in self.results if r.method == method and r.category == cat]
            out[cat] = {k: _mean([getattr(r.scores, k) for r in rows]) for k in METRICS}
        return out

    def overall(self, method: str) -> dict[str, float]:
        """The mean over categories of the per-category means (pixel and object scores),
        and the mean ms per frame."""
        cats = self.categories(method)
        out = {k: _mean([c[k] for c in cats.values()]) for k in METRICS}
        counted = [r.objects for r in self.results if r.method == method and r.objects]
        if counted:
            for k in ("object_recall", "object_precision"):
                rows = [r for r in self.results if r.method == method and r.objects]
                out[k] = self._category_mean({r.sequence: r.row()[k] for r in rows})
            # Pooled: most sequences have no empty stretch, and a mean would skip them.
            empty_minutes = sum(o.empty_frames / o.fps / 60.0 for o in counted)
            alarms = sum(o.false_alarms for o in counted)
            out["false_alarms_per_min"] = alarms / empty_minutes if empty_minutes else math.nan
        rows = [r for r in self.results if r.method == method and not math.isnan(r.ms_per_frame)]
        frames = sum(r.frames for r in rows)
        if frames:
            total_ms = sum(r.ms_per_frame * r.frames for r in rows)
            out["ms_per_frame"] = total_ms / frames
            out["fps"] = 1000.0 / out["ms_per_frame"] if out["ms_per_frame"] > 0 else float("nan")
        return out

    def _category_mean(self, per_sequence: dict[str, float]) -> float:
        """The mean of per-sequence values over categories of their means, as :meth:`overall`."""
        category = {r.sequence: r.category for r in self.results}
        groups: dict[str, list[float]] = {}
        for seq, value in per_sequence.items():
            groups.setdefault(category[seq], []).append(value)
        return _mean([_mean(values) for values in groups.values()])

    def best_thresholds(self, method: str) -> dict[str, tuple[float | None, float]] | None:
        """Per sequence, ``(threshold, F)`` at the threshold of ``method``'s score that
        maximises F, or ``(None, F)`` where the method's own mask does at least as well (a
        mask may be cleaned up after its threshold); None when the method has no curve on
        every one of its sequences. An F that is undefined stays so (NaN)."""
        rows = [r for r in self.results if r.method == method]
        if not rows or any(not r.pr for r in rows):
            return None
        out: dict[str, tuple[float | None, float]] = {}
        for r in rows:
            assert r.pr is not None
            best: tuple[float | None, float] = (None, r.scores.f_measure)
            if not math.isnan(best[1]):
                for threshold, precision, recall in r.pr:
                    if precision + recall > 0:  # NaN (nothing called foreground) fails this too
                        f = 2 * precision * recall / (precision + recall)
                        if f > best[1]:
                            best = (threshold, f)
            out[r.sequence] = best
        return out

    def ceilings(self) -> dict[str, Any]:
        """What one choice per sequence, made with the ground truth, reaches: per sequence
        and as the mean F (over categories, as :meth:`overall`).

        ``best_threshold``: per method with a score curve, F at its best threshold on each
        sequence (or its mask's, where that is better). ``best_method`` (two methods or
        more): the best F of any method on each sequence. Neither is reachable by one
        setting for all footage; see the module doc. As in :meth:`overall`, a sequence
        where F is undefined (no method defines it) leaves the mean undefined.
        """
        out: dict[str, Any] = {"best_threshold": {}}
        for method in self.methods:
            best = self.best_thresholds(method)
            if best is not None:
                out["best_threshold"][method] = {
                    "per_sequence": {
                        s: {"threshold": t, "f_measure": f} for s, (t, f) in best.items()
                    },
                    "f_measure": self._category_mean({s: f for s, (_, f) in best.items()}),
                }
        if len(self.methods) > 1:
            top: dict[str, tuple[str | None, float]] = {}
            for r in self.results:
                f = r.scores.f_measure
                held = top.get(r.sequence, (None, math.nan))
                if math.isnan(held[1]) or f > held[1]:  # a NaN F never wins over a number
                    top[r.sequence] = (r.method, f) if not math.isnan(f) else held
            out["best_method"] = {
                "per_sequence": {s: {"method": m, "f_measure": f} for s, (m, f) in top.items()},
                "f_measure": self._category_mean({s: f for s, (_, f) in top.items()}),
            }
        return out

    def as_dict(self) -> dict[str, Any]:
        """Everything as plain JSON-able data (NaN becomes ``None``)."""
        return plain(
            {
                "meta": self.meta,
                "sequences": [r.row() for r in self.results],
                "categories": {m: self.categories(m) for m in self.methods},
                "overall": {m: self.overall(m) for m in self.methods},
                "pr_curves": {f"{r.method}/{r.sequence}": r.pr for r in self.results if r.pr},
                "ceilings": self.ceilings(),
            }
        )


class _Scorer:
    """Confusion counts and a score histogram for one method on one sequence."""

    def __init__(self, seq: CDnetSequence) -> None:
        self.seq = seq
        self.scored = set(seq.scored_indices())
        self.pos = np.zeros(len(_BINS) + 1, np.int64)
        self.neg = np.zeros(len(_BINS) + 1, np.int64)
        self.used = False

    def add_score(self, index: int, score: np.ndarray) -> None:
        if index not in self.scored:
            return
        gt = self.seq.ground_truth(index)
        check_roi(self.seq, gt)
        if score.shape != gt.shape:
            raise EvaluationError(
                f"{self.seq.root}: frame {index} is {score.shape[1]}x{score.shape[0]} but "
                f"its ground truth is {gt.shape[1]}x{gt.shape[0]}; they must match"
            )
        valid = valid_pixels(gt, self.seq.roi)
        truth = gt == 255
        b = np.searchsorted(_BINS, score, side="left")
        self.pos += np.bincount(b[valid & truth], minlength=len(_BINS) + 1)
        self.neg += np.bincount(b[valid & ~truth], minlength=len(_BINS) + 1)
        self.used = True

    def curve(self) -> list[tuple[float, float, float]] | None:
        if not self.used:
            return None
        tp = self.pos[::-1].cumsum()[::-1][1:]
        fp = self.neg[::-1].cumsum()[::-1][1:]
        total = self.pos.sum()
        out = []
        for t, a, b in zip(_BINS, tp, fp, strict=True):
            precision = a / (a + b) if a + b else float("nan")
            out.append((float(t), float(precision), float(a / total) if total else float("nan")))
        return out


def benchmark(
    path: str | Path,
    methods: Sequence[str],
    out: str | Path,
    *,
    params: dict[str, dict[str, Any]] | None = None,
    pr_curves: bool = True,
    allow_missing: bool = False,
    on_progress: Callable[[str, int, int | None], None] | None = None,
    stop: threading.Event | None = None,
) -> Report:
    """Run ``methods`` causally over every CDnet sequence under ``path`` and score them.

    Masks go to ``out/masks/<method>/<sequence>/binNNNNNN.png``.

    Args:
        path: a sequence, a folder of sequences, or CDnet's category/sequence tree.
        methods: registry names.
        out: the report folder.
        params: per-method parameters (e.g. ``{"deepls": {"mode": "sync"}}``).
        pr_curves: also histogram ``score_one`` for precision–recall curves.
        allow_missing: score a frame without a mask (an input frame missing from the
            sequence) as all background instead of failing.
        on_progress: called with ``(label, frame, total)`` as frames are processed.
        stop: set it to stop between frames; the report then holds the sequences
            finished before, and ``meta["interrupted"]`` is true.

    Returns:
        The :class:`Report` (scores come from the written masks).
    """
    from streamseg.outputs import clear_earlier
    from streamseg.pipeline import run
    from streamseg.registry import create
    from streamseg.sinks.png import PngMaskSink
    from streamseg.sources.folder import FolderSource

    params = params or {}
    report = Report(
        meta={
            "path": str(path),
            "methods": list(methods),
            "date": time.strftime("%Y-%m-%d %H:%M:%S"),
            "params": params,
        }
    )
    for category, seq in _unique(find_sequences(path)):
        for method in methods:
            folder = Path(out) / "masks" / method / seq.name
            # The report's own folder: masks of an earlier run there are replaced.
            clear_earlier(sorted(folder.glob("bin*.png")), "overwrite")
            scorer = _Scorer(seq)
            label = f"{method} on {seq.name}"
            with (
                FolderSource(seq.input_dir) as source,
                create(method, **params.get(method, {})) as seg,
                PngMaskSink(folder) as sink,
            ):
                total = source.info.frame_count

                def before_frame(frame: Any, seg: Any = seg, scorer: Any = scorer) -> None:
                    # Before apply(): the score of frame t comes from the model that
                    # makes frame t's mask, not from one that has learned frame t.
                    if pr_curves and seg.continuous_score and frame.number in scorer.scored:
                        scorer.add_score(frame.number, seg.score_one(frame.image))

                def on_frame(
                    frame: Any, masks: Any, label: str = label, total: int | None = total
                ) -> None:
                    if on_progress is not None:
                        on_progress(label, frame.index, total)

                stats = run(
                    source,
                    {method: seg},
                    [sink],
                    stop=stop,
                    before_frame=before_frame,
                    on_frame=on_frame,
                )
            if stats.interrupted:
                report.meta["interrupted"] = True
                return report
            objects = ObjectCounter()
            scores = evaluate_folder(seq, folder, allow_missing=allow_missing, objects=objects)
            ms = stats.methods[method]
            report.results.append(
                SequenceResult(
                    method,
                    category,
                    seq.name,
                    scores,
                    stats.frames,
                    len(scorer.scored),
                    ms.ms_mean,
                    ms.warm_up,
                    scorer.curve(),
                    objects.compute(),
                )
            )
    return report


def score_results(
    path: str | Path,
    results: str | Path,
    *,
    method: str = "results",
    allow_missing: bool = False,
    offset: int = 0,
) -> Report:
    """Score existing ``bin*.png`` results: ``results/`` for one sequence, else
    ``results/<sequence>/`` for each sequence under ``path``.

    ``offset``: the results are numbered this much below the frames (see
    :func:`~streamseg.evaluation.cdnet.evaluate_folder`).
    """
    report = Report(meta={"path": str(path), "results": str(results)})
    if offset:
        report.meta["offset"] = offset
    seqs = list(_unique(find_sequences(path)))
    for category, seq in seqs:
        folder = (
            Path(results)
            if len(seqs) == 1 and not (Path(results) / seq.name).is_dir()
            else Path(results) / seq.name
        )
        objects = ObjectCounter()
        scores = evaluate_folder(
            seq, folder, allow_missing=allow_missing, offset=offset, objects=objects
        )
        scored = len(seq.scored_indices())
        report.results.append(
            SequenceResult(
                method,
                category,
                seq.name,
                scores,
                scored_frames=scored,
                objects=objects.compute(),
            )
        )
    return report


def _unique(found: Iterable[tuple[str, CDnetSequence]]) -> list[tuple[str, CDnetSequence]]:
    """``found``, checked to name each sequence once: results are stored by sequence name."""
    out = list(found)
    seen: dict[str, CDnetSequence] = {}
    for _, seq in out:
        if seq.name in seen:
            raise EvaluationError(
                f"two sequences are named {seq.name!r} ({seen[seq.name].root} and {seq.root}); "
                "results are stored by sequence name, so rename one or score them apart"
            )
        seen[seq.name] = seq
    return out
