"""A webhook: each event POSTed as JSON to a URL, never holding up the frames.

Each event (the JSON of docs/events.md) is POSTed to the URL with ``Content-Type:
application/json`` by a thread of its own (:class:`~streamseg.sinks.delivery.DeliveryQueue`):
a bounded queue that drops its oldest event when full, retries with a doubling back-off,
and counts what it drops and what fails. A receiver that answers slowly, refuses or goes
away mid-run costs the run nothing but those events; the event log keeps them all. An
answer of 2xx is a delivery; 4xx (but 408 and 429) is not retried: the receiver refused
the event itself.

Example:
    >>> check_url("http://127.0.0.1:8123/api/webhook/streamseg")
    'http://127.0.0.1:8123/api/webhook/streamseg'
    >>> check_url("127.0.0.1:8123")
    Traceback (most recent call last):
    ...
    streamseg.errors.ConfigError: webhook '127.0.0.1:8123': give an http:// or https:// URL, e.g. http://127.0.0.1:8123/hook
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request

from streamseg.errors import ConfigError
from streamseg.events.detector import Event
from streamseg.sinks.delivery import DeliveryQueue, PermanentError
from streamseg.sinks.events import EventOutput

__all__ = ["Webhook", "check_url"]


def check_url(url: str) -> str:
    """``url`` if it is an ``http(s)://`` URL with a host.

    Raises:
        ConfigError: any other form.
    """
    parts = urllib.parse.urlsplit(str(url))
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(
            f"webhook {url!r}: give an http:// or https:// URL, e.g. http://127.0.0.1:8123/hook"
        )
    return str(url)


class Webhook(EventOutput):
    """POSTs each event as JSON to ``url``.

    Args:
        url: the receiver.
        timeout: seconds one request may take (a slower answer counts as a failure).
        queue: events waiting at most (the oldest is dropped beyond).
        retries: attempts after the first for an event that failed.
        backoff: seconds before the first retry, doubled per retry (30 s at most).
        close_timeout: seconds the end of a run waits for the queue to drain.
        headers: more request headers (``Authorization: Bearer ...``).
    """

    name = "webhook"

    def __init__(
        self,
        url: str,
        *,
        timeout: float = 5.0,
        queue: int = 256,
        retries: int = 3,
        backoff: float = 0.5,
        close_timeout: float = 5.0,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.url = check_url(url)
        self.timeout = timeout
        self.headers = {"Content-Type": "application/json", "User-Agent": "streamseg"}
        self.headers.update(headers or {})
        self.queue_size, self.retries, self.backoff = queue, retries, backoff
        self.close_timeout = close_timeout
        self._queue: DeliveryQueue[bytes] | None = None

    def open(self) -> None:
        if self._queue is None:
            self._queue = DeliveryQueue(
                "webhook",
                self._post,
                size=self.queue_size,
                retries=self.retries,
                backoff=self.backoff,
                close_timeout=self.close_timeout,
            )

    def _post(self, body: bytes) -> None:
        request = urllib.request.Request(self.url, body, self.headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as answer:
                answer.read()
        except urllib.error.HTTPError as err:
            if 400 <= err.code < 500 and err.code not in (408, 429):
                raise PermanentError(f"HTTP {err.code} {err.reason}") from None
            raise

    def send(self, event: Event) -> None:
        if self._queue is None:
            self.open()
        assert self._queue is not None
        self._queue.put(json.dumps(event.as_dict()).encode())

    def close(self) -> None:
        if self._queue is not None:
            self._queue.close()

    def stats(self) -> dict[str, int]:
        return {} if self._queue is None else self._queue.stats()

    def __repr__(self) -> str:
        return f"Webhook({self.url!r})"
