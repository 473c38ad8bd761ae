from __future__ import annotations

import json
import signal
from pathlib import Path

import pytest


def test_serve_reports_how_each_stream_ended_after_a_stop(tmp_path: Path, signal_after_40_masks):
    pytest.importorskip("ray")
    cfg = tmp_path / "cams.yaml"
    cfg.write_text(
        "streams:\n"
        "  - name: cam\n"
        "    source: {uri: 'synthetic:frames=100000,size=64x48'}\n"
        "    methods: [mog2]\n"
    )
    status = tmp_path / "status.json"
    args = ["serve", str(cfg), "--out", str(tmp_path / "out"), "--num-cpus", "2"]
    args += ["--status-json", str(status), "--no-live"]
    masks = tmp_path / "out" / "cam" / "masks"
    returncode, err = signal_after_40_masks(args, masks, signal.SIGINT)
    assert returncode == 130, err
    (final,) = json.loads(status.read_text())
    written = len(list(masks.glob("bin*.png")))
    # Not the last poll's "running": the state and frames the stream ended with.
    assert final["state"] == "stopped" and final["frames"] == written >= 40


def test_serve_logs_above_its_live_table_not_into_it(capsys):
    """On a terminal, a log line written into serve's live table is erased by its next refresh."""
    import io
    import logging

    from rich.console import Console
    from rich.live import Live

    from streamseg.cli._common import logs_above_live, setup_logging

    setup_logging(verbose=0, quiet=False)  # as main does: a handler on the stderr of now
    screen = io.StringIO()
    console = Console(file=screen, force_terminal=True, width=120)
    with Live("streams table", console=console, auto_refresh=False), logs_above_live():
        logging.getLogger("streamseg.serve").warning("stream cam failed and is given up")
    # Rich clears the table, prints the line, then draws the table again under it.
    assert "\x1b[2Kstreamseg: WARNING: stream cam failed and is given up\n" in screen.getvalue()
    assert "given up" not in capsys.readouterr().err
    logging.getLogger("streamseg").warning("after the table")
    assert "after the table" in capsys.readouterr().err  # the handler writes where it did
