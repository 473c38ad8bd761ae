"""What the tools share with the streamseg CLI: argument types and one-line errors.

A tool run as ``python tools/NAME.py`` finds this module beside it. An error ends it as
it ends ``streamseg``: one line on stderr naming what is wrong, exit code 2 for bad
input, 1 for a failure at run time.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from streamseg.errors import StreamsegError

__all__ = ["frame_size", "frame_sizes", "positive_int", "run_tool"]


def frame_size(text: str) -> tuple[int, int]:
    """``WxH`` → ``(w, h)``, an argparse type (at least 8×8: every method's smallest frame)."""
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not WxH, e.g. 320x240") from None
    if w < 8 or h < 8:
        raise argparse.ArgumentTypeError(f"{text}: frames must be at least 8x8")
    return w, h


def frame_sizes(text: str) -> list[tuple[int, int]]:
    """Comma-separated ``WxH`` sizes (at least one), an argparse type."""
    sizes = [frame_size(part) for part in text.split(",") if part.strip()]
    if not sizes:
        raise argparse.ArgumentTypeError("give at least one size WxH, e.g. 320x240")
    return sizes


def positive_int(text: str) -> int:
    """An integer >= 1, an argparse type."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text}: must be at least 1")
    return value


def run_tool(main: Callable[[], int]) -> int:
    """``main()``, with streamseg's errors as one line and the CLI's exit codes.

    2 for usage and input errors, 1 for failures at run time (a stream lost for good).
    """
    try:
        return main()
    except StreamsegError as err:
        print(f"{Path(sys.argv[0]).name}: error: {err}", file=sys.stderr)
        return err.exit_code
