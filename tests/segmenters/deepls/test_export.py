from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from streamseg.errors import ConfigError, ModelError, SourceNotFoundError
from streamseg.segmenters.deepls.checkpoint import load_checkpoint, save_checkpoint
from streamseg.segmenters.deepls.export import export_model, prepare_export
from streamseg.segmenters.deepls.onnx import read_metadata
from streamseg.segmenters.deepls.testing import tiny_checkpoint

CLIP = "synthetic:frames=40,size=64x48"


def trained_on(source: str | None, tmp_path: Path) -> Path:
    """The tiny checkpoint, saying it was trained on ``source`` (None: saying nothing)."""
    ckpt = load_checkpoint(tiny_checkpoint("unet"))
    meta = {} if source is None else {"source": source}
    return save_checkpoint(dataclasses.replace(ckpt, meta=meta), tmp_path / "m.pt")


def test_float32_export_describes_the_model(tmp_path: Path):
    out = export_model(trained_on(CLIP, tmp_path), tmp_path / "new" / "m.onnx")
    meta = read_metadata(out.read_bytes())
    assert out == tmp_path / "new" / "m.onnx"
    assert meta["source"] == CLIP and "quantized" not in meta


def test_int8_calibrates_on_the_clip_the_model_was_trained_on(tmp_path: Path):
    export = prepare_export(trained_on(CLIP, tmp_path), int8=True)
    assert export.calibrated_on == CLIP and export.calibration
    export.write(tmp_path / "m8.onnx")
    assert "int8" in read_metadata((tmp_path / "m8.onnx").read_bytes())["quantized"]


def test_int8_without_a_clip_to_calibrate_on_is_refused(tmp_path: Path):
    silent, gone = trained_on(None, tmp_path), tmp_path / "gone.pt"
    with pytest.raises(ConfigError, match="does not say which clip.*pass calibrate=SOURCE"):
        prepare_export(silent, int8=True)
    save_checkpoint(dataclasses.replace(load_checkpoint(silent), meta={"source": "/no.mp4"}), gone)
    with pytest.raises(ConfigError, match="the clip .* was trained on, .*/no.mp4.*use --c"):
        prepare_export(gone, int8=True, calibrate_hint="use --c")
    # A clip given is the caller's: its own error, not one about the training clip.
    with pytest.raises(SourceNotFoundError):
        prepare_export(gone, int8=True, calibrate="/no/clip.mp4")
    with pytest.raises(ConfigError, match="calibrate only applies with int8"):
        prepare_export(silent, calibrate=CLIP)


def test_nothing_is_written_for_a_bad_checkpoint(tmp_path: Path):
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"garbage")
    with pytest.raises(ModelError):
        export_model(bad, tmp_path / "out" / "m.onnx")
    assert not (tmp_path / "out").exists()
