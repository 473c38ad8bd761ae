"""The background thread RPCA and online DeepLS share."""

from __future__ import annotations

import threading

import pytest

from streamseg.errors import TrainerError
from streamseg.segmenters.base import Lifeline
from streamseg.segmenters.worker import Worker


def _fails() -> None:
    raise FloatingPointError("no convergence")


def test_a_failure_is_raised_on_the_callers_thread_once():
    worker = Worker("streamseg-test", "test: the work failed")
    worker.start(_fails)
    assert worker.join(30)
    with pytest.raises(TrainerError, match="test: the work failed: FloatingPointError: no conv"):
        worker.check()
    worker.check()  # reported: the next solve may well succeed
    worker.start(lambda: None)
    assert worker.join(30) and worker.error is None


def test_a_sticky_failure_stays_until_cleared():
    worker = Worker("streamseg-test", "test: the trainer failed", sticky=True)
    worker.start(_fails)
    worker.join(30)
    for _ in range(2):  # a trainer that failed learns no more: every call says so
        with pytest.raises(TrainerError, match="no convergence"):
            worker.check()
    worker.check(unreported_only=True)  # closing: already reported
    worker.clear()
    worker.check()


def test_close_stops_wakes_and_joins_the_work():
    worker = Worker("streamseg-test", "test: failed")
    rounds = []

    def loop() -> None:
        while not worker.stop.is_set():
            rounds.append(1)
            worker.sleep(60)  # woken by close(), not by the timeout

    worker.start(loop)
    worker.wake()
    worker.close(30)
    assert not worker.alive and worker.started and rounds


def test_the_thread_starts_on_the_segmenters_lifeline():
    lifeline = Lifeline("test")
    worker = Worker("streamseg-test", "test: failed", spawn=lifeline.start, stop=lifeline.stop)
    release = threading.Event()
    worker.start(lambda: release.wait(60) and None)
    assert not worker.join(0.01)  # still running: left to end alone
    lifeline.release()  # the segmenter closed: its stop is the worker's
    assert worker.stop.is_set()
    release.set()
    assert worker.join(30)
