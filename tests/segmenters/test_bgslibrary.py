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


def test_the_libraries_chatter_reaches_neither_stdout_nor_stderr():
    """pybgs prints from C++ (``+LOBSTER()``); the user's output, and `streamseg eval
    --json`, stay clean: it goes to the log, at debug level."""
    import subprocess
    import sys

    code = (
        "import logging, numpy as np, streamseg as ss\n"
        "logging.basicConfig(level=logging.DEBUG, format='log: %(message)s')\n"
        "for name in ('subsense', 'lobster', 'pawcs'):\n"
        "    with ss.create(name) as seg:\n"
        "        for _ in range(3):\n"
        "            seg.apply(np.zeros((48, 64), np.uint8))\n"
        "left = ss.create('lobster')\n"  # never closed: destroyed at exit
        "left.apply(np.zeros((48, 64), np.uint8))\n"
        "print('done')\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert out.stdout == "done\n"
    noise = [line for line in out.stderr.splitlines() if not line.startswith("log: ")]
    assert noise == []
    assert "pybgs: +SuBSENSE()" in out.stderr  # in the log


def test_the_demo_prints_no_chatter(tmp_path: Path):
    import subprocess
    import sys

    cmd = [sys.executable, "-m", "streamseg", "demo", "--out", str(tmp_path), "--frames", "20"]
    cmd += ["--size", "64x48", "-m", "lobster,mog2", "--no-progress"]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=True)
    assert "LOBSTER" not in out.stdout and "LOBSTER" not in out.stderr
    assert "lobster" in out.stdout  # the table
