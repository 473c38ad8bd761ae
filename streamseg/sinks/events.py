"""The events of a run, raised from one method's masks and handed to their outputs.

:class:`EventSink` runs an :class:`~streamseg.events.detector.EventDetector` on one
method's masks and gives every event to each :class:`EventOutput`: the JSON Lines log
(:mod:`~streamseg.sinks.eventlog`), a webhook (:mod:`~streamseg.sinks.webhook`), MQTT
(:mod:`~streamseg.sinks.mqtt`), or the host application's own. Outputs are told when motion
starts and stops (an event open in any zone), as Home Assistant's motion sensors want it.
Closing the sink ends the events still open (the stream ended) and waits for their clips.

Example:
    >>> import numpy as np
    >>> from streamseg.events import EventConfig, EventDetector
    >>> from streamseg.frame import Frame
    >>> seen = []
    >>> detector = EventDetector(EventConfig(min_frames=1, snapshot=False))
    >>> with EventSink(detector, [CallbackOutput(seen.append)]) as sink:
    ...     mask = np.zeros((48, 64), np.uint8)
    ...     mask[10:30, 10:30] = 255
    ...     sink.write(Frame(np.zeros((48, 64, 3), np.uint8), 0, 0.0), {"mog2": mask})
    >>> [(e.type, e.zone) for e in seen]                   # closing ended it
    [('start', 'all'), ('end', 'all')]
"""

from __future__ import annotations

import abc
import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from streamseg.events.detector import Event, EventDetector
from streamseg.frame import Frame
from streamseg.sinks.base import Sink

__all__ = ["CallbackOutput", "EventOutput", "EventSink"]

log = logging.getLogger(__name__)


class EventOutput(abc.ABC):
    """Where events go. ``send`` and ``motion`` run on the frame loop: an output that talks
    to the network only queues there (see :mod:`~streamseg.sinks.delivery`)."""

    #: Its name in statistics and metrics (``log``, ``webhook``, ``mqtt``).
    name: str = "output"

    def open(self) -> None:
        """Prepare (open a file, start a connection); a bad path fails here."""

    @abc.abstractmethod
    def send(self, event: Event) -> None:
        """Deliver one event."""

    def motion(self, on: bool) -> None:
        """Motion started (an event opened in some zone) or stopped (none is open)."""

    def close(self) -> None:
        """Deliver what is pending (within the output's own time limit) and let go."""

    def stats(self) -> dict[str, int]:
        """What was delivered and lost: ``sent``, ``failed``, ``dropped`` (and more)."""
        return {}


class CallbackOutput(EventOutput):
    """Calls ``callback(event)`` for every event, on the frame loop."""

    name = "callback"

    def __init__(self, callback: Callable[[Event], None]) -> None:
        self.callback = callback
        self.sent = 0

    def send(self, event: Event) -> None:
        self.callback(event)
        self.sent += 1

    def stats(self) -> dict[str, int]:
        return {"sent": self.sent}


class EventSink(Sink):
    """Raises events from one method's masks and hands them to ``outputs``.

    Args:
        detector: the detector (its zones, timing, snapshots and clips).
        outputs: where events go.
        method: the method whose masks raise events (``None``: the only one).
        score: called with each frame's image for the objects' confidence (a method's
            ``score_one``; it runs the method once more per frame), or ``None``.
    """

    def __init__(
        self,
        detector: EventDetector,
        outputs: Sequence[EventOutput] = (),
        *,
        method: str | None = None,
        score: Callable[[np.ndarray], np.ndarray] | None = None,
    ) -> None:
        super().__init__(method)
        self.detector = detector
        self.outputs = list(outputs)
        self.score = score
        self.events = 0
        self._motion = False
        self._last: tuple[int, float] = (0, 0.0)

    def _open(self) -> None:
        opened: list[EventOutput] = []
        try:
            for output in self.outputs:
                output.open()
                opened.append(output)
        except BaseException:
            for output in reversed(opened):
                output.close()
            raise

    def _write(self, frame: Frame, masks: Mapping[str, np.ndarray]) -> None:
        mask = self.pick(masks)
        if self.detector.method is None:
            self.detector.method = self.method or next(iter(masks))
        score = self.score(frame.image) if self.score is not None else None
        self._last = (frame.index, frame.timestamp)
        self._deliver(self.detector.update(frame, mask, score=score))

    def _deliver(self, events: Sequence[Event]) -> None:
        for event in events:
            self.events += 1
            for output in self.outputs:
                output.send(event)
        motion = self.detector.motion
        if motion != self._motion:
            self._motion = motion
            for output in self.outputs:
                output.motion(motion)

    def _close(self) -> None:
        try:
            # Events still open end with the stream, at the last frame seen.
            self._deliver(self.detector.close(index=self._last[0]))
        finally:
            for output in self.outputs:
                try:
                    output.close()
                except Exception as err:  # the others still close
                    log.warning("event output %s: %s", output.name, err)

    def draw(self, image: np.ndarray) -> None:
        """Zones, boxes and ids of the last frame on ``image`` (for the live view)."""
        self.detector.draw(image)

    def stats(self) -> dict[str, Any]:
        """Events per zone, frames the guard dropped, and each output's deliveries."""
        return {
            "events": self.events,
            "zones": self.detector.counts(),
            "guarded": self.detector.guarded,
            "outputs": {output.name: output.stats() for output in self.outputs},
        }

    def __repr__(self) -> str:
        return f"EventSink({[o.name for o in self.outputs]})"
