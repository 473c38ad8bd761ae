"""BGSLibrary's algorithms through pybgs (the optional [baselines] extra)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

import streamseg as ss

pybgs = pytest.importorskip(
    "pybgs", reason="pybgs is not installed (pip install 'streamseg[baselines]')"
)


@pytest.mark.parametrize("name", ["subsense", "lobster", "pawcs"])
def test_registered_and_segments_without_touching_the_cwd(name, tmp_path: Path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    rng = np.random.default_rng(0)
    background = rng.integers(60, 200, (48, 64, 3), dtype=np.uint8)
    with ss.create(name) as seg:
        for _ in range(30):
            seg.apply(background)
        frame = background.copy()
        frame[10:30, 20:40] = 255 - frame[10:30, 20:40]
        mask = seg.apply(frame)
    assert mask.shape == (48, 64) and set(np.unique(mask)) <= {0, 255}
    assert mask[15:25, 25:35].mean() > 128
    assert os.listdir(tmp_path) == []  # no ./config written here


def test_nothing_reaches_stdout():
    """pybgs prints from C++; `streamseg eval --json` needs a clean standard output."""
    import subprocess
    import sys

    code = (
        "import numpy as np, streamseg as ss\n"
        "for name in ('subsense', 'lobster', 'pawcs'):\n"
        "    with ss.create(name) as seg:\n"
        "        for _ in range(3):\n"
        "            seg.apply(np.zeros((48, 64), np.uint8))\n"
        "print('done')\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert out.stdout == "done\n"
    assert "SuBSENSE" in out.stderr
