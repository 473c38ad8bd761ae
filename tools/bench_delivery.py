"""Whether a slow or dead receiver slows a run: fps and latency side by side.

The same run (the synthetic scene, one method, events raised often by a zone file with
``min_frames: 1`` and a short ``off_delay``, an event log) is run with each delivery:

* ``log only``: the event log alone, the reference;
* ``slow webhook``: a receiver on 127.0.0.1 that answers each POST after ``--slow`` seconds;
* ``dead webhook``: a URL on 127.0.0.1 where nothing listens (every POST refused);
* ``dead broker``: MQTT to a port on 127.0.0.1 where no broker listens;

``--rounds`` times each, interleaved, as fast as the run goes (no pacing: time the
delivery took from the frame loop would show as fewer frames per second). Reported: the
median over rounds of the run's fps and latency p50/p99 (``run_stats.json``'s), the events
each output delivered and lost, and the wall time of the whole run, which includes the
queue's ``close_timeout`` at its end.

    python tools/bench_delivery.py --frames 1000 --rounds 3 --json docs/results/bench_delivery.json
"""

from __future__ import annotations

import argparse
import platform
import socket
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np
from _common import frame_size, positive_int, run_tool

from streamseg.jsonout import dumps

ZONES = """zones:
  - {name: left, points: [[0, 0.3], [0.5, 0.3], [0.5, 1], [0, 1]]}
  - {name: right, points: [[0.5, 0.3], [1, 0.3], [1, 1], [0.5, 1]]}
events: {min_frames: 1, off_delay: 0.1, snapshot: false}
"""


class _Slow(BaseHTTPRequestHandler):
    delay = 2.0

    def do_POST(self) -> None:  # noqa: N802
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        time.sleep(self.delay)
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _run(setup: str, args: argparse.Namespace, slow_url: str, folder: Path) -> dict[str, Any]:
    import streamseg as ss
    from streamseg.config import run_config_from_dict

    w, h = args.size
    outputs: dict[str, Any] = {
        "events": str(folder / f"{setup.replace(' ', '_')}.jsonl"),
        "zones": str(folder / "zones.yaml"),
        "camera": "bench",
    }
    if setup == "slow webhook":
        outputs["webhook"] = slow_url
    elif setup == "dead webhook":
        outputs["webhook"] = f"http://127.0.0.1:{_free_port()}/hook"
    elif setup == "dead broker":
        outputs["mqtt"] = f"127.0.0.1:{_free_port()}"
    config = run_config_from_dict(
        {
            "source": f"synthetic:frames={args.frames},size={w}x{h}",
            "methods": [args.method],
            "outputs": outputs,
        }
    )
    t0 = time.perf_counter()
    stats = ss.run_config(config)
    wall = time.perf_counter() - t0
    delivered = {k: v for k, v in stats.events["outputs"].items() if k != "log"}
    return {
        "setup": setup,
        "fps": stats.fps,
        "latency_ms_p50": stats.latency_ms.percentile(50),
        "latency_ms_p99": stats.latency_ms.percentile(99),
        "events": stats.events["events"],
        "deliveries": delivered,
        "wall_s": wall,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size", type=frame_size, default="320x240", help="frame size WxH")
    parser.add_argument("--frames", type=positive_int, default=1000, help="frames per run")
    parser.add_argument("--rounds", type=positive_int, default=3, help="runs of each setup")
    parser.add_argument("--method", default="mog2", help="the run's method")
    parser.add_argument("--slow", type=float, default=2.0, help="the slow receiver's delay, s")
    parser.add_argument("--json", default=None, help="write the results here")
    args = parser.parse_args(argv)
    _Slow.delay = args.slow
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Slow)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    slow_url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    setups = ("log only", "slow webhook", "dead webhook", "dead broker")
    runs: dict[str, list[dict[str, Any]]] = {s: [] for s in setups}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            (folder / "zones.yaml").write_text(ZONES)
            for r in range(args.rounds):
                for setup in setups:
                    row = _run(setup, args, slow_url, folder)
                    runs[setup].append(row)
                    print(f"round {r + 1}: {row}", file=sys.stderr, flush=True)
    finally:
        server.shutdown()
        server.server_close()
    rows = []
    for setup, done in runs.items():
        rows.append(
            {
                "setup": setup,
                **{
                    k: float(np.median([d[k] for d in done]))
                    for k in ("fps", "latency_ms_p50", "latency_ms_p99", "wall_s")
                },
                "events": done[-1]["events"],
                "deliveries": done[-1]["deliveries"],
                "rounds": done,
            }
        )
    w, h = args.size
    print(f"{args.frames} frames of {w}x{h}, {args.method}, median of {args.rounds} rounds")
    print("| setup | fps | latency p50 ms | latency p99 ms | events | delivered / lost | wall s |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        lost = sent = 0
        for c in r["deliveries"].values():
            sent += c.get("sent", 0)
            lost += c.get("failed", 0) + c.get("dropped", 0)
        shown = f"{sent} / {lost}" if r["deliveries"] else "–"
        print(
            f"| {r['setup']} | {r['fps']:.1f} | {r['latency_ms_p50']:.2f} "
            f"| {r['latency_ms_p99']:.2f} | {r['events']} | {shown} | {r['wall_s']:.1f} |"
        )
    if args.json:
        from streamseg.fileio import atomic_write

        meta = {
            "size": f"{w}x{h}",
            "frames": args.frames,
            "rounds": args.rounds,
            "method": args.method,
            "slow_s": args.slow,
            "python": platform.python_version(),
            "machine": platform.machine(),
            "command": " ".join(["python", "tools/bench_delivery.py", *sys.argv[1:]]),
        }
        atomic_write(Path(args.json), dumps({"meta": meta, "rows": rows}, indent=2).encode())
    return 0


if __name__ == "__main__":
    sys.exit(run_tool(main))
