"""Two-pass DeepLS on CDnet sequences: train on each clip, segment every frame, score.

This is what ``streamseg train SEQ/input --out M`` followed by ``streamseg run
--source SEQ/input --method deepls --model M --masks OUT`` and ``streamseg eval SEQ
OUT`` do, for every sequence under PATH, in one process, with the training time
and the per-frame inference time measured in the same run.

    python tools/twopass.py ../shared/data --json twopass.json
    python tools/twopass.py ../shared/data/cdnet_highway --frontier   # F vs cost grid

``--frontier`` trains the configurations of :data:`FRONTIER` (processing area,
width, batch, steps) and prints F against training seconds and ms/frame.
"""

from __future__ import annotations

import argparse
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import positive_int, run_tool

from streamseg.jsonout import dumps

#: The grid of ``--frontier``: (label, deepls parameters).
FRONTIER: list[tuple[str, dict[str, Any]]] = [
    ("64x48 c16 N16 400", {"area": 3072}),
    ("80x60 c8 N16 400", {"net": {"width": 8}}),
    ("80x60 c12 N16 400", {"net": {"width": 12}}),
    ("80x60 c16 N16 200", {"train": {"steps": 200}}),
    ("80x60 c16 N16 400 (default)", {}),
    ("80x60 c16 N32 400", {"train": {"frames": 32}}),
    ("96x72 c16 N16 400", {"area": 6912}),
    ("128x96 c16 N16 400", {"area": 12288}),
]


def merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in extra.items():
        out[key] = merge(out.get(key, {}), value) if isinstance(value, dict) else value
    return out


def one(seq: Any, params: dict[str, Any], tmp: Path, threads: int) -> dict[str, Any]:
    import torch

    import streamseg as ss
    from streamseg.evaluation.cdnet import evaluate_folder
    from streamseg.registry import method_config
    from streamseg.segmenters.deepls.checkpoint import save_checkpoint
    from streamseg.segmenters.deepls.twopass import train_clip
    from streamseg.sinks import PngMaskSink

    cfg = method_config("deepls", params)
    torch.set_num_threads(threads)
    trained = train_clip(seq.input_dir, cfg, threads=threads, rpca=False)
    model = save_checkpoint(trained.checkpoint, tmp / f"{seq.name}.pt")
    masks = tmp / seq.name
    with (
        ss.open_source(seq.input_dir) as src,
        ss.create("deepls", weights=str(model), ort_threads=threads) as seg,
        PngMaskSink(masks) as sink,
    ):
        stats = ss.run(src, {"deepls": seg}, [sink])
    scores = evaluate_folder(seq, masks)
    size = trained.size
    return {
        "sequence": seq.name,
        "f_measure": scores.f_measure,
        "recall": scores.recall,
        "precision": scores.precision,
        "train_s": trained.report.seconds,
        "ms_per_frame": stats.methods["deepls"].ms_mean,
        "size": f"{size[1]}x{size[0]}",
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("path", help="a CDnet sequence or a folder of sequences")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="[deepls.]KEY=VALUE",
        help="deepls parameter, e.g. train.steps=200",
    )
    parser.add_argument(
        "--threads", type=positive_int, default=2, help="torch threads for training"
    )
    parser.add_argument(
        "--frontier", action="store_true", help="train the F-vs-cost grid instead of the default"
    )
    parser.add_argument("--json", default=None, help="write the results here")
    args = parser.parse_args(argv)

    from streamseg.evaluation.cdnet import find_sequences
    from streamseg.registry import method_overrides

    base: dict[str, Any] = method_overrides(args.set, ["deepls"])["deepls"]
    grid = FRONTIER if args.frontier else [("default" if not base else "custom", {})]
    seqs = [s for _, s in find_sequences(args.path)]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for label, extra in grid:
            for seq in seqs:
                row = {"config": label, **one(seq, merge(base, extra), Path(tmp), args.threads)}
                rows.append(row)
                print(
                    f"{label} {seq.name}: F {row['f_measure']:.3f} train "
                    f"{row['train_s']:.1f} s, {row['ms_per_frame']:.2f} ms/frame",
                    file=sys.stderr,
                    flush=True,
                )
    lines = [
        "| config | sequence | processing | F | recall | precision | train s | ms/frame |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['config']} | {r['sequence']} | {r['size']} | {r['f_measure']:.3f} "
            f"| {r['recall']:.3f} | {r['precision']:.3f} | {r['train_s']:.1f} "
            f"| {r['ms_per_frame']:.2f} |"
        )
    for label, _ in grid:
        sub = [r for r in rows if r["config"] == label]
        if len(sub) > 1:
            mean = sum(r["f_measure"] for r in sub) / len(sub)
            lines.append(
                f"| {label} | **mean** | | **{mean:.3f}** | | | "
                f"{sum(r['train_s'] for r in sub) / len(sub):.1f} | |"
            )
    print("\n".join(lines))
    if args.json:
        meta = {
            "python": platform.python_version(),
            "date": time.strftime("%Y-%m-%d"),
            "argv": sys.argv,
            "threads": args.threads,
        }
        Path(args.json).write_text(dumps({"meta": meta, "rows": rows}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(run_tool(main))
