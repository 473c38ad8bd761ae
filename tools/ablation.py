"""What each part of DeepLS adds: the default against variants with one part changed.

Every variant runs causally over every sequence under PATH through
:func:`streamseg.evaluation.benchmark.benchmark` (what ``streamseg eval --method
deepls --set ...`` does), so the figures are the product's own path. The table gives
the mean F over all sequences, over the README's two halves (A: the sequences at odd
positions of the sorted names, where settings were chosen; B: the others) and over
the sequences of at least ``--long`` frames (where online learning has time to act),
then F per sequence.

    python tools/ablation.py ../shared/data --jobs 2 --json ablation.json --md ablation.md
    python tools/ablation.py ../shared/data --variants default,frozen
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from _common import positive_int, run_tool

from streamseg.jsonout import dumps

#: name → (what it changes, deepls parameters).
VARIANTS: dict[str, tuple[str, dict[str, Any]]] = {
    "default": ("the default", {}),
    "frozen": ("no online training: the starting model throughout", {"train_every": 10**9}),
    "memory": ("the memory alone (no network veto)", {"fusion": "memory"}),
    "net": (
        "the network alone, with its window policies (outline, ghosts): the previous design",
        {"fusion": "net"},
    ),
    "soft": (
        "soft fusion: per pixel, the memory's and the network's evidence multiplied",
        {"fusion": "soft"},
    ),
    "soft-frozen": (
        "soft fusion without online training",
        {"fusion": "soft", "train_every": 10**9},
    ),
    "no-stabilise": ("no alignment of shaken frames", {"stabilise": False}),
    "no-feedback": (
        "fixed per-pixel radius and update period",
        {"memory": {"feedback": False}},
    ),
    "no-ghosts": ("no ghost healing in the memory", {"memory": {"ghosts": 0.0}}),
    "no-exposure": ("no global brightness correction", {"memory": {"exposure": False}}),
}


def halves(names: list[str]) -> tuple[list[str], list[str]]:
    """The README's fixed split: sorted names, 1st, 3rd, ... → A; 2nd, 4th, ... → B."""
    ordered = sorted(names)
    return ordered[0::2], ordered[1::2]


def run_variant(path: str, name: str) -> dict[str, Any]:
    """One variant over every sequence: ``{sequence: {"f", "recall", "precision", "frames"}}``."""
    from streamseg.evaluation.benchmark import benchmark

    _, params = VARIANTS[name]
    with tempfile.TemporaryDirectory() as tmp:
        report = benchmark(path, ["deepls"], tmp, params={"deepls": params}, pr_curves=False)
    return {
        r.sequence: {
            "f": r.scores.f_measure,
            "recall": r.scores.recall,
            "precision": r.scores.precision,
            "frames": r.frames,
        }
        for r in report.results
    }


def _mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else float("nan")


def summarise(results: dict[str, dict[str, Any]], long: int) -> dict[str, Any]:
    """Mean F per variant over all sequences, the two halves and the long sequences."""
    names = sorted(next(iter(results.values())))
    half_a, half_b = halves(names)
    first = next(iter(results.values()))
    long_names = [n for n in names if first[n]["frames"] >= long]
    groups = {"all": names, "A": half_a, "B": half_b, f">={long} frames": long_names}
    return {
        variant: {g: _mean([per[n]["f"] for n in members]) for g, members in groups.items()}
        for variant, per in results.items()
    } | {"_groups": groups}


def markdown(results: dict[str, dict[str, Any]], summary: dict[str, Any]) -> str:
    groups = summary["_groups"]
    names = groups["all"]
    head = ["variant", "what it changes", *(f"mean F {g}" for g in groups)]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for variant in results:
        cells = [f"`{variant}`", VARIANTS[variant][0]]
        cells += [f"{summary[variant][g]:.3f}" for g in groups]
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", "| sequence | " + " | ".join(results) + " |", "|" + "---|" * (len(results) + 1)]
    for n in names:
        lines.append(f"| {n} | " + " | ".join(f"{results[v][n]['f']:.3f}" for v in results) + " |")
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("path", help="a folder of CDnet-layout sequences")
    parser.add_argument(
        "--variants",
        default=",".join(VARIANTS),
        help=f"comma-separated, of: {', '.join(VARIANTS)} (default: all)",
    )
    parser.add_argument("--jobs", type=positive_int, default=1, help="variants run at once")
    parser.add_argument("--long", type=positive_int, default=200, help="a long sequence's frames")
    parser.add_argument("--json", type=Path, help="write the results here")
    parser.add_argument("--md", type=Path, help="write the Markdown tables here")
    args = parser.parse_args()
    variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    unknown = [v for v in variants if v not in VARIANTS]
    if unknown or not variants:
        parser.error(f"unknown variant {unknown}; choose from {', '.join(VARIANTS)}")
    if not Path(args.path).is_dir():
        parser.error(f"{args.path}: no such folder")
    with ProcessPoolExecutor(args.jobs) as pool:
        futures = {v: pool.submit(run_variant, args.path, v) for v in variants}
        results = {v: f.result() for v, f in futures.items()}
    summary = summarise(results, args.long)
    table = markdown(results, summary)
    sys.stdout.write(table)
    if args.md:
        args.md.write_text(table)
    if args.json:
        args.json.write_text(dumps({"results": results, "summary": summary}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(run_tool(main))
