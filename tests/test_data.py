"""Checks against the shared CDnet sequences (../shared/data)."""

from __future__ import annotations

from pathlib import Path

import pytest

from streamseg.cli import main
from streamseg.evaluation.cdnet import evaluate_folder

pytestmark = pytest.mark.data


def test_mog2_on_highway_matches_opencv(data_dir: Path, tmp_path: Path):
    # OpenCV's MOG2 with default parameters scores 0.651 here (issue 2).
    rc = main(
        [
            "run",
            "--source",
            str(data_dir / "cdnet_highway" / "input"),
            "--method",
            "mog2",
            "--masks",
            str(tmp_path),
            "--no-progress",
        ]
    )
    assert rc == 0
    scores = evaluate_folder(data_dir / "cdnet_highway", tmp_path)
    assert abs(scores.f_measure - 0.651) < 0.03
