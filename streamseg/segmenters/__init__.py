"""Foreground segmenters, one module per method, registered by name on import.

Importing this package registers the built-in methods; heavy dependencies
(torch) are imported only when a method that needs them is created.
"""

from streamseg.segmenters import deepls, knn, lobster, mog2, pawcs, rpca, subsense  # noqa: F401
from streamseg.segmenters.base import Segmenter

__all__ = ["Segmenter"]
