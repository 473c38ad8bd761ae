"""``streamseg export``: a trained checkpoint as an ONNX file, float32 or int8."""

from __future__ import annotations

from pathlib import Path

import click

from streamseg.cli._common import EXIT_OK, refuse_input_as_output, stderr_console


@click.command("export")
@click.argument("model", metavar="MODEL")
@click.option("--out", "-o", required=True, metavar="FILE.onnx", help="ONNX file to write.")
@click.option(
    "--int8",
    is_flag=True,
    help="Quantize for CPUs: int8 weights and activations, calibrated on --calibrate.",
)
@click.option(
    "--calibrate",
    metavar="SOURCE",
    help="Frames of the camera the model will watch, to measure int8 ranges on "
    "(spread over its first 3000 frames) [default: the clip the model was trained on].",
)
def export_cmd(model: str, out: str, int8: bool, calibrate: str | None) -> int:
    """Export a trained checkpoint (.pt) to a self-describing ONNX file.

    Opset 17, dynamic height and width, checked with onnx.checker; the metadata names the
    model family, input format, processing size and mask rule. Run it with
    `streamseg run --method deepls --model FILE.onnx` (no torch needed).

    With --int8 the convolutions run in int8 (ONNX Runtime's static quantization,
    per-channel weights): calibrate on footage like the camera's, e.g.
    streamseg export model.pt --out model.onnx --int8 --calibrate clip.mp4
    """
    from streamseg.errors import ConfigError
    from streamseg.segmenters.deepls.export import prepare_export

    if calibrate is not None and not int8:
        raise ConfigError("--calibrate only applies with --int8")
    refuse_input_as_output(out, model, calibrate)
    export = prepare_export(
        model, int8=int8, calibrate=calibrate, calibrate_hint="pass --calibrate SOURCE"
    )
    refuse_input_as_output(out, export.calibrated_on)  # also the clip the checkpoint names
    export.write(out)
    int8_note = ""
    if export.calibration:
        int8_note = (
            f", int8 calibrated on {len(export.calibration)} frames of {export.calibrated_on}"
        )
    stderr_console().print(
        f"wrote {out} ({Path(out).stat().st_size / 1e6:.2f} MB, opset 17, {export.net.family}"
        f"{int8_note}, processing size {export.size[1]}x{export.size[0]})"
    )
    return EXIT_OK
