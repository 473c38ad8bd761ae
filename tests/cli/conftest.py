from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest


@pytest.fixture
def signal_after_40_masks() -> Callable[[list[str], Path, int], tuple[int, str]]:
    """Run ``streamseg ARGS``, send a signal once 40 masks are written: (exit code, stderr)."""
    return _signal_after_40_masks


def _signal_after_40_masks(args: list[str], masks: Path, sig: int) -> tuple[int, str]:
    """Run ``streamseg ARGS``, send ``sig`` once 40 masks are written; (exit code, stderr)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamseg", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and len(list(masks.glob("bin*.png"))) < 40:
        time.sleep(0.1)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    return proc.returncode, err
