"""The ``streamseg`` command.

Each subcommand is a module of this package whose function imports what it needs, so
``streamseg --help`` answers at once (no torch). Exit codes: 0 done, 1 runtime
failure, 2 usage or input error (one line on stderr, no traceback; ``--debug``
shows it), 130 stopped by SIGINT, 143 stopped by SIGTERM (outputs finalised).
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
from collections.abc import Sequence
from typing import NoReturn

import click

from streamseg.cli._common import (
    EXIT_SIGINT,
    EXIT_SIGTERM,
    SETTINGS,
    Stop,
    invoke,
    raise_stop,
    setup_logging,
    stopped,
)
from streamseg.cli.config import config_group
from streamseg.cli.demo import demo_cmd
from streamseg.cli.eval import eval_cmd
from streamseg.cli.export import export_cmd
from streamseg.cli.list import list_cmd
from streamseg.cli.microscopy import microscopy_group
from streamseg.cli.run import run_cmd
from streamseg.cli.serve import serve_cmd
from streamseg.cli.synth import synth_cmd
from streamseg.cli.train import train_cmd

__all__ = ["cli", "entry", "main"]


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debug).")
@click.option("-q", "--quiet", is_flag=True, help="Only errors.")
@click.option("--debug", is_flag=True, help="Show tracebacks of errors.")
@click.version_option(package_name="streamseg")
def cli(verbose: int, quiet: bool, debug: bool) -> None:
    """Unsupervised foreground segmentation of live video.

    \b
    Quick start (no data needed):
      streamseg demo                      synthetic scene through every method
      streamseg run --source video.mp4 --method mog2 --masks out/
      streamseg eval SEQUENCE out/        CDnet recall/precision/F/PWC
    """
    # --debug is read before click parses (invoke() moves it first): nothing to do here.
    SETTINGS.quiet = quiet
    setup_logging(verbose, quiet)


for _command in (
    run_cmd,
    demo_cmd,
    synth_cmd,
    eval_cmd,
    train_cmd,
    export_cmd,
    serve_cmd,
    list_cmd,
    config_group,
    microscopy_group,
):
    cli.add_command(_command)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI and return its exit code; the caller's signal handlers are kept."""
    args = sys.argv[1:] if argv is None else argv
    if threading.current_thread() is not threading.main_thread():
        return invoke(cli, args)
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        return invoke(cli, args)
    finally:
        for sig, handler in saved.items():
            signal.signal(sig, handler)


def entry() -> NoReturn:
    """The ``streamseg`` process (console script and ``python -m streamseg``): run
    :func:`main` and exit with its code."""
    # First of all, before the imports that take most of a start-up: a stop signal from
    # here on is one line and exit code 130/143, wherever it lands. A signal the parent
    # set to be ignored (nohup, a background job) stays ignored.
    for sig in (signal.SIGINT, signal.SIGTERM):
        if signal.getsignal(sig) in (signal.SIG_DFL, signal.default_int_handler):
            signal.signal(sig, raise_stop)
    try:
        code = invoke(cli, sys.argv[1:])
    except Stop as stop:  # between two of invoke's own lines
        code = stopped(stop)
    if code in (EXIT_SIGINT, EXIT_SIGTERM):
        # The user asked to stop and every output is closed by now (sinks, run_stats.json,
        # Ray: nothing is left to atexit hooks). Interpreter finalisation (torch's atexit
        # hooks, OpenMP teardown) still takes about a second; a second Ctrl-C in it became
        # a traceback from a finaliser, or, once Python had reset its signal handlers,
        # killed the process by SIGINT. So leave at once, ignoring further signals (the
        # stopper already does after a stop; a 130 from a KeyboardInterrupt had none).
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, signal.SIG_IGN)
        sys.stdout.flush()
        sys.stderr.flush()
        logging.shutdown()
        os._exit(code)
    sys.exit(code)
