"""What the commands share: consoles, logging, the stop on a signal, option types, errors.

Nothing heavy is imported here at module level (click and the standard library): the
``streamseg`` process installs its signal handlers before the package's imports.
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import re
import signal
import sys
import threading
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import click

log = logging.getLogger("streamseg")

EXIT_OK, EXIT_RUNTIME, EXIT_USAGE, EXIT_SIGINT, EXIT_SIGTERM = 0, 1, 2, 130, 143

#: Width of tables written to a file or pipe (a log, systemd's journal): rich's 80 columns
#: cut a stream's error to one word per row, and nothing there wraps lines anyway.
_FILE_WIDTH = 200


class _Settings:
    """The group's options every command's output follows."""

    #: -q: no summaries, progress or notes on stderr (errors are written by main(), not here).
    quiet = False


SETTINGS = _Settings()


def stderr_console() -> Any:
    """A rich console on stderr: messages, summaries and progress (silent with -q)."""
    from rich.console import Console

    width = None if sys.stderr.isatty() else _FILE_WIDTH
    # Text as it is, here and on stdout: rich's markup would read a path's or a message's
    # "[word]" as a style ("pip install 'streamseg[baselines]'" lost its extra) and fail
    # on "[/]", its emoji codes turn ":name:" into a picture. Styles are given explicitly
    # (rich.text.Text), progress descriptions escaped (rich.markup.escape).
    return Console(stderr=True, width=width, quiet=SETTINGS.quiet, markup=False, emoji=False)


def stdout_console() -> Any:
    """A rich console on stdout: the results a command was asked for (tables)."""
    from rich.console import Console

    width = None if sys.stdout.isatty() else _FILE_WIDTH
    return Console(width=width, markup=False, emoji=False)  # text as it is: see above


def show_progress(asked: bool | None = None) -> bool:
    """Progress bars as ``--progress/--no-progress`` asked; by default on a terminal, unless -q."""
    if asked is not None:
        return asked
    return sys.stderr.isatty() and not SETTINGS.quiet


def setup_logging(verbose: int, quiet: bool) -> None:
    """The package's log lines on stderr, at the level -v/-q ask for."""
    level = (
        logging.ERROR
        if quiet
        else (logging.DEBUG if verbose > 1 else logging.INFO if verbose else logging.WARNING)
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("streamseg: %(levelname)s: %(message)s"))
    root = logging.getLogger("streamseg")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False
    # The live view's address is what --web asked for: say it (once it listens) unless -q.
    web = logging.getLogger("streamseg.sinks.web")
    web.setLevel(logging.NOTSET if quiet else min(level, logging.INFO))


@contextlib.contextmanager
def logs_above_live() -> Iterator[None]:
    """Write the package's log lines to ``sys.stderr`` as it is inside the block.

    A rich live display on a terminal swaps sys.stderr for a proxy that prints above
    it; a line written to the stderr of before lands inside the display and its next
    refresh overwrites it (serve's table ate the warning of a stream given up).
    """
    handlers = [
        h
        for h in logging.getLogger("streamseg").handlers
        if isinstance(h, logging.StreamHandler) and not isinstance(h, logging.FileHandler)
    ]
    before = [h.setStream(sys.stderr) for h in handlers]
    try:
        yield
    finally:
        for handler, stream in zip(handlers, before, strict=True):
            if stream is not None:  # None: it wrote there already
                handler.setStream(stream)


def split_methods(value: str | None) -> list[str]:
    """``--method a,b`` → ``["a", "b"]``."""
    return [m.strip() for m in value.split(",") if m.strip()] if value else []


class TrainableMethod(click.ParamType):
    """A method ``streamseg train`` trains (its class's ``trains_on_clip``).

    The names are looked up when click needs them (the help, the parsing), not when this
    module loads: the registry imports every method, too slow for each command's start.
    """

    name = "method"

    @staticmethod
    def names(*, experimental: bool = True) -> list[str]:
        from streamseg.registry import available, method_class

        found = available(experimental=experimental)
        return [n for n in found if method_class(n).trains_on_clip]

    def get_metavar(self, param: click.Parameter, ctx: click.Context) -> str:
        return f"[{'|'.join(self.names())}]"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        names = self.names()
        if value not in names:
            self.fail(f"{value!r} is not one of {', '.join(map(repr, names))}.", param, ctx)
        return str(value)


def refuse_input_as_output(out: str, *inputs: str | None) -> None:
    """Refuse ``--out`` when it is one of the command's input files (it would be destroyed)."""
    from streamseg.outputs import check_outputs

    for given in inputs:
        if given:
            check_outputs(given, [], [("--out", Path(out).expanduser())])


def in_option_words(message: str, words: Mapping[str, str]) -> str:
    """A library ``message``, naming what ``words`` maps by the command's options."""
    for word, option in words.items():
        message = re.sub(rf"\b{re.escape(word)}\b", option, message)
    return message


class Stop(BaseException):
    """A SIGINT or SIGTERM outside a command's orderly stop (start-up imports, set-up).

    A ``BaseException`` rather than a ``KeyboardInterrupt``: click turns the latter into an
    ``Abort`` after printing a blank line, and ``except Exception`` lets neither through.
    """

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def raise_stop(signum: int, _frame: Any) -> None:
    """A signal handler: raise :class:`Stop`."""
    raise Stop(signum)


class Stopper:
    """Turns SIGINT/SIGTERM into a stop between frames; a second SIGINT aborts at once.

    The handler runs on the main thread between two bytecodes, possibly while that
    thread holds a lock that ``Event.set``, ``Thread.start`` or a source's ``cancel``
    also take (inside ``stop.wait()``, say): calling them there could deadlock. So the
    handler only records the signal and puts it on a ``SimpleQueue`` (reentrant by
    design); a watcher thread started on entry does the rest.
    """

    def __init__(self) -> None:
        self.event = threading.Event()
        self.signum: int | None = None
        self.source: Any = None
        self._previous: dict[int, Any] = {}
        self._queue: queue.SimpleQueue[int | None] = queue.SimpleQueue()
        self._watcher: threading.Thread | None = None

    def _handle(self, signum: int, _frame: Any) -> None:
        if self.signum is not None and signum == signal.SIGINT:
            # At once, without finalisers: a KeyboardInterrupt raised in the middle of the
            # orderly stop left the trainer's torch thread running at interpreter exit, and
            # the C++ runtime aborted (exit 134). Masks are written atomically and an MP4 is
            # fragmented, so what was written stays valid; no checkpoint is saved.
            if os.isatty(2):
                os.write(2, b"\x1b[?25h")  # the progress bar hid the cursor; nothing restores it
            os.write(2, b"aborted at once: outputs written so far are kept, no checkpoint\n")
            os._exit(EXIT_SIGINT)
        self.signum = signum
        self._queue.put(signum)

    def _watch(self) -> None:
        while self._queue.get() is not None:
            self.event.set()
            if self.source is not None:
                self.source.cancel()

    def on_open(self, source: Any) -> None:
        """A run's ``on_open``: a stop from now on also cancels ``source``'s wait."""
        self.source = source

    def __enter__(self) -> Stopper:
        if threading.current_thread() is threading.main_thread():
            self._watcher = threading.Thread(target=self._watch, name="streamseg-stop", daemon=True)
            self._watcher.start()
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        for sig, handler in self._previous.items():
            # After a stop the outputs are complete and the command only reports: a second
            # Ctrl-C then would cut the report short (or, at interpreter exit, raise inside
            # a finaliser), so it is ignored. main() restores the caller's handlers.
            signal.signal(sig, signal.SIG_IGN if self.stopped else handler)
        if self._watcher is not None:
            self._queue.put(None)
            self._watcher.join(timeout=5)

    @property
    def stopped(self) -> bool:
        """A stop signal arrived (the event may be set a moment later)."""
        return self.signum is not None

    @property
    def exit_code(self) -> int:
        if self.signum == signal.SIGTERM:
            return EXIT_SIGTERM
        return EXIT_SIGINT if self.stopped else EXIT_OK


def invoke(group: click.Group, args: Sequence[str]) -> int:
    """Run ``group`` on ``args``; errors become one line on stderr and an exit code.

    Exit codes: 0 done, 1 runtime failure, 2 usage or input error, 130 stopped by
    SIGINT, 143 by SIGTERM. With ``--debug`` a streamseg error or an unexpected one
    is raised, with its traceback.
    """
    from streamseg.errors import StreamsegError

    args = list(args)
    cut = args.index("--") if "--" in args else len(args)
    debug = "--debug" in args[:cut]
    if debug:
        # The error message says "run with --debug": wherever the user adds it (usually
        # at the end, after the subcommand's options), it means the group's flag. No
        # option takes a value that could be "--debug"; after "--" it is an argument.
        args = ["--debug", *(a for a in args[:cut] if a != "--debug"), *args[cut:]]
    try:
        result = group.main(args=args, prog_name="streamseg", standalone_mode=False)
    except click.exceptions.Exit as err:
        return int(err.exit_code)
    except click.UsageError as err:
        # One line, as every other usage error (click's own adds the usage and a hint).
        path = err.ctx.command_path if err.ctx is not None else "streamseg"
        click.echo(f"streamseg: error: {err.format_message()} (see {path} --help)", err=True)
        return err.exit_code
    except click.ClickException as err:
        err.show()
        return err.exit_code
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        return EXIT_SIGINT
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        return EXIT_SIGINT
    except Stop as stop:
        return stopped(stop)
    except StreamsegError as err:
        if debug:
            raise
        click.echo(f"streamseg: error: {err}", err=True)
        return err.exit_code
    except Exception as err:
        if debug:
            raise
        click.echo(
            f"streamseg: unexpected error: {type(err).__name__}: {err} "
            "(run with --debug for the traceback)",
            err=True,
        )
        return EXIT_RUNTIME
    return int(result) if isinstance(result, int) else EXIT_OK


def stopped(stop: Stop) -> int:
    """Say that a :class:`Stop` ended the command; its exit code.

    A command's own work stops through :class:`Stopper`, its outputs finalised; this
    is the rest: start-up imports, set-up, and the short commands without a stopper.
    """
    click.echo(f"streamseg: stopped by {signal.Signals(stop.signum).name}", err=True)
    return EXIT_SIGTERM if stop.signum == signal.SIGTERM else EXIT_SIGINT
