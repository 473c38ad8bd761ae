"""Hand each frame and its masks to the host application.

Example:
    >>> import numpy as np
    >>> from streamseg.frame import Frame
    >>> from streamseg.sinks.callback import CallbackSink
    >>> seen = []
    >>> sink = CallbackSink(lambda frame, masks: seen.append(frame.index))
    >>> sink.write(Frame(np.zeros((2, 2), np.uint8), 5, 0.0), {"mog2": np.zeros((2, 2), np.uint8)})
    >>> seen
    [5]
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np

from streamseg.frame import Frame
from streamseg.sinks.base import Sink

__all__ = ["CallbackSink"]


class CallbackSink(Sink):
    """Calls ``callback(frame, masks)`` for every frame, on the pipeline's thread."""

    def __init__(self, callback: Callable[[Frame, Mapping[str, np.ndarray]], None]) -> None:
        super().__init__(None)
        self.callback = callback

    def _write(self, frame: Frame, masks: Mapping[str, np.ndarray]) -> None:
        self.callback(frame, masks)
