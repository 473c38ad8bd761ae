from __future__ import annotations

from pathlib import Path

from streamseg.cli import main


def test_synth_refuses_to_mix_two_sequences_and_an_unscorable_warm_up(tmp_path: Path, capsys):
    seq = tmp_path / "seq"
    args = ["synth", str(seq), "--size", "64x48", "--no-video"]
    assert main([*args, "--frames", "12"]) == 0
    assert (seq / "temporalROI.txt").read_text() == "7 12\n"  # half of a short scene
    assert main([*args, "--frames", "4"]) == 2
    assert "--overwrite to replace" in capsys.readouterr().err
    assert main([*args[:-1], "--frames", "4", "--overwrite"]) == 0  # with its video
    assert main([*args, "--frames", "4", "--overwrite"]) == 0
    assert not (seq / "synthetic.mp4").exists()  # not the earlier sequence's video
    assert len(list((seq / "input").glob("in*.png"))) == 4
    assert len(list((seq / "groundtruth").glob("gt*.png"))) == 4
    assert main([*args, "--frames", "4", "--overwrite", "--warm-up", "4"]) == 2
    assert "leaves none of the 4 frames to score" in capsys.readouterr().err
