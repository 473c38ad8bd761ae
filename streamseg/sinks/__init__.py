"""Sinks: where masks go (CDnet PNGs, videos, a mosaic, a callback, a live web view)."""

from streamseg.sinks.base import Sink
from streamseg.sinks.callback import CallbackSink
from streamseg.sinks.mosaic import MosaicSink, mosaic
from streamseg.sinks.png import PngMaskSink
from streamseg.sinks.video import MaskVideoSink, OverlayVideoSink, VideoWriter, overlay
from streamseg.sinks.web import WebSink

__all__ = [
    "Sink",
    "CallbackSink",
    "MosaicSink",
    "PngMaskSink",
    "MaskVideoSink",
    "OverlayVideoSink",
    "VideoWriter",
    "WebSink",
    "mosaic",
    "overlay",
]
