"""What int8 quantization costs a frozen DeepLS model, sequence by sequence.

For every CDnet sequence under PATH the model is exported twice — float32, and
int8 calibrated on that sequence's own frames (as a user calibrates on the
camera's footage; ``--calibrate SOURCE``: on one clip for all) — and both
segment the sequence frozen, causally, through
:func:`streamseg.evaluation.benchmark.benchmark`. Reported: F of each, and the
method's ms/frame (run one after the other, same process).

    python tools/int8_accuracy.py ../shared/data --out int8-report
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from _common import run_tool

from streamseg.evaluation.benchmark import benchmark
from streamseg.evaluation.cdnet import find_sequences
from streamseg.jsonout import dumps
from streamseg.segmenters.deepls.export import export_model


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("path", help="a CDnet sequence or a folder of them")
    parser.add_argument("--model", default=None, help="checkpoint (.pt); default: the built-in")
    parser.add_argument(
        "--calibrate",
        default=None,
        metavar="SOURCE",
        help="calibrate every sequence on this clip instead of on its own frames",
    )
    parser.add_argument("--out", required=True, help="report folder (int8.md, int8.json)")
    args = parser.parse_args(argv)
    if args.model is None:
        from streamseg.models import builtin_checkpoint

        args.model = str(builtin_checkpoint("unet"))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        # As `streamseg export` does: a two-pass model is exported and calibrated with its
        # clip's stored median/MAD.
        float32 = export_model(args.model, Path(tmp) / "float32.onnx")
        for _, seq in find_sequences(args.path):
            clip = args.calibrate or seq.input_dir
            files = {
                "float32": float32,
                "int8": export_model(
                    args.model, Path(tmp) / "int8.onnx", int8=True, calibrate=clip
                ),
            }
            row: dict[str, object] = {"sequence": seq.name}
            for kind, weights in files.items():
                report = benchmark(
                    seq.root,
                    ["deepls"],
                    Path(tmp) / kind,
                    params={"deepls": {"weights": str(weights)}},
                    pr_curves=False,
                )
                result = report.results[0]
                row[f"f_{kind}"] = result.scores.f_measure
                row[f"ms_{kind}"] = result.ms_per_frame
            rows.append(row)
            print(
                f"{seq.name}: F {row['f_float32']:.3f} float32, {row['f_int8']:.3f} int8",
                file=sys.stderr,
                flush=True,
            )
    lines = [
        "| sequence | F float32 | F int8 | ms/frame float32 | ms/frame int8 |",
        "|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['sequence']} | {r['f_float32']:.3f} | {r['f_int8']:.3f} "
            f"| {r['ms_float32']:.2f} | {r['ms_int8']:.2f} |"
        )
    mean = {k: sum(float(r[k]) for r in rows) / len(rows) for k in rows[0] if k != "sequence"}
    lines.append(
        f"| **mean** | **{mean['f_float32']:.3f}** | **{mean['f_int8']:.3f}** "
        f"| {mean['ms_float32']:.2f} | {mean['ms_int8']:.2f} |"
    )
    table = "\n".join(lines)
    print(table)
    (out / "int8.md").write_text(f"`{' '.join(sys.argv)}`\n\n{table}\n")
    (out / "int8.json").write_text(
        dumps({"model": args.model, "calibrate": args.calibrate, "rows": rows}, indent=2)
    )
    return 0


if __name__ == "__main__":
    sys.exit(run_tool(main))
