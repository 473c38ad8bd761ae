"""``streamseg serve``: every stream of a configuration as a supervised Ray actor."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import click

from streamseg.cli._common import (
    EXIT_OK,
    EXIT_RUNTIME,
    Stopper,
    logs_above_live,
    show_progress,
    stderr_console,
)


@click.command("serve")
@click.argument("config", metavar="CONFIG")
@click.option(
    "--out",
    "-o",
    metavar="DIR",
    help="Outputs of streams without their own: DIR/<stream>/masks, mosaic.mp4.",
)
@click.option(
    "--max-frames", type=click.IntRange(min=1), metavar="N", help="Stop each stream after N frames."
)
@click.option(
    "--address",
    metavar="ADDR",
    help="Join an existing Ray cluster (default: start one on loopback).",
)
@click.option(
    "--num-cpus",
    type=click.IntRange(min=1),
    metavar="N",
    help="CPUs of the local Ray instance (default: all).",
)
@click.option("--status-json", metavar="FILE", help="Keep the status table here as JSON.")
@click.option(
    "--metrics",
    metavar="[HOST:]PORT",
    help="Serve every stream's Prometheus metrics at http://HOST:PORT/metrics (host "
    "127.0.0.1 unless given; needs the [events] extra).",
)
@click.option(
    "--overwrite",
    is_flag=True,
    help="Replace the masks an earlier serve left in the streams' masks folders.",
)
@click.option(
    "--live/--no-live",
    default=None,
    help="Refresh the status table in place (default: when stderr is a terminal).",
)
def serve_cmd(
    config: str,
    out: str | None,
    max_frames: int | None,
    address: str | None,
    num_cpus: int | None,
    status_json: str | None,
    metrics: str | None,
    overwrite: bool,
    live: bool | None,
) -> int:
    """Run every stream of CONFIG (a file, or a shipped name) as a supervised Ray actor.

    A stream whose actor dies, hangs or fails past its reconnect budget is restarted
    (its online model resumes from its checkpoint); the others keep running. CONFIG holds
    a top-level `streams:` list; `streamseg config show cameras` prints an example. Needs
    the [ray] extra.
    """
    from streamseg.cli.tables import status_table
    from streamseg.config import find_config
    from streamseg.serve import load_serve_config

    cfg = load_serve_config(
        find_config(config), out=out, max_frames=max_frames, overwrite=overwrite
    )
    if metrics is not None:
        from streamseg.sinks.web import probe

        probe(metrics)  # a taken port, before Ray takes seconds to start
    show = show_progress(live)
    console = stderr_console()
    for stream in cfg.streams:
        if stream.run.outputs.web:
            # The actors' own log lines stay in Ray's logs: say here where to look.
            from streamseg.sinks.web import WebSink

            console.print(f"{stream.name}: live view at {WebSink(stream.run.outputs.web).url}")
    with Stopper() as stopper:
        statuses = _serve(cfg, address, num_cpus, status_json, metrics, show, console, stopper)
    if not show:
        console.print(status_table(statuses))
    if stopper.stopped:
        return stopper.exit_code
    return EXIT_OK if all(s["state"] == "done" for s in statuses) else EXIT_RUNTIME


def _serve(
    cfg: Any,
    address: str | None,
    num_cpus: int | None,
    status_json: str | None,
    metrics: str | None,
    show: bool,
    console: Any,
    stopper: Stopper,
) -> list[dict[str, Any]]:
    """Run the cluster until its streams end or a stop; the streams' last statuses."""
    from rich.live import Live

    from streamseg.cli.tables import status_table
    from streamseg.fileio import atomic_write
    from streamseg.jsonout import dumps
    from streamseg.serve import Cluster

    statuses: list[dict[str, Any]] = []
    with (
        Cluster(cfg, address=address, num_cpus=num_cpus) as cluster,
        contextlib.ExitStack() as stack,
    ):
        if metrics is not None:
            from streamseg.serve.metrics import stream_metrics

            names = [s.name for s in cfg.streams]
            server = stream_metrics(names, lambda: list(statuses)).serve(metrics)
            stack.callback(server.close)
            console.print(f"metrics at {server.url}")
        with (
            Live(status_table([]), console=console, refresh_per_second=2, transient=False)
            if show
            else contextlib.nullcontext() as view,
            logs_above_live(),
        ):

            def on_status(current: list[dict[str, Any]]) -> None:
                statuses[:] = current
                if view is not None:
                    view.update(status_table(current))
                if status_json:
                    atomic_write(Path(status_json), dumps(current, indent=2).encode())

            cluster.wait(on_status=on_status, stop=stopper.event)
            cluster.stop()  # every stream finalised: the statuses say how each ended
            on_status(cluster.statuses or statuses)
    return statuses
