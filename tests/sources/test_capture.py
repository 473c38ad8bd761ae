from __future__ import annotations

import os
import sys

import pytest

import streamseg as ss
from streamseg.errors import SourceNotFoundError
from streamseg.sources.capture import CaptureSource, webcam_index


@pytest.mark.parametrize(
    ("uri", "index"), [(0, 0), ("2", 2), ("/dev/video5", 5), ("clip.mp4", None), ("/dev/sda", None)]
)
def test_webcam_index(uri, index):
    assert webcam_index(uri) == index


def test_open_source_picks_the_webcam():
    assert isinstance(ss.open_source(0), CaptureSource)
    assert isinstance(ss.open_source("/dev/video3"), CaptureSource)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="device paths are Linux's")
def test_no_webcam_is_a_clear_error():
    index = next(i for i in range(64) if not os.path.exists(f"/dev/video{i}"))
    with pytest.raises(SourceNotFoundError, match=rf"no webcam at /dev/video{index}"):
        with ss.open_source(index):
            pass
