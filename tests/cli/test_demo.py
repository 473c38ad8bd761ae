from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from streamseg.cli import main


def test_the_demo_leaves_experimental_methods_out_unless_named():
    from streamseg.registry import available

    shown = available(experimental=False)
    assert "deepls" in shown and "rpca" in shown and "mog2" in shown
    assert "slnet" in available() and "slnet" not in shown


def test_demo(tmp_path: Path, capsys):
    assert (
        main(
            [
                "demo",
                "--out",
                str(tmp_path),
                "--frames",
                "60",
                "--size",
                "96x72",
                "--method",
                "mog2,knn",
                "--no-progress",
            ]
        )
        == 0
    )
    rows = json.loads((tmp_path / "metrics.json").read_text())
    assert {r["method"] for r in rows} == {"mog2", "knn"}
    assert all(0 < r["f_measure"] <= 1 for r in rows)
    assert (tmp_path / "mosaic.mp4").exists() and (tmp_path / "metrics.md").exists()


def test_the_demo_can_be_watched_live(tmp_path: Path):
    import socket
    import urllib.request

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cmd = [sys.executable, "-m", "streamseg", "demo", "--out", str(tmp_path), "--frames", "50"]
    cmd += ["--size", "96x72", "--method", "mog2", "--web", str(port), "--no-progress"]
    started = time.monotonic()
    with subprocess.Popen(
        cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    ) as proc:
        seen = None
        while seen is None and proc.poll() is None and time.monotonic() - started < 60:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/status.json", timeout=5) as r:
                    status = json.loads(r.read())
                    seen = status if status["pictures"] else None
            except OSError:
                time.sleep(0.1)  # not listening yet
        _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err.decode()
    assert seen is not None and seen["methods"] == ["mog2"]
    # Watched, the scene plays at its frame rate (the resolved config says so).
    assert "realtime: true" in (tmp_path / "masks" / "run.yaml").read_text()
    assert f"live view at http://127.0.0.1:{port}/" in err.decode()
    assert (tmp_path / "metrics.json").exists()
