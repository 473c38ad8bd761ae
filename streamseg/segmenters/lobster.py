"""BGSLibrary's LOBSTER as a streamseg method (needs ``pip install 'streamseg[baselines]'``).

LOBSTER (St-Charles, Bilodeau 2014): local binary similarity patterns in a ViBe-like sample model.
"""

from __future__ import annotations

from streamseg.segmenters._bgslibrary import BGSLibrarySubtractor
from streamseg.segmenters.registration import register

__all__ = ["LOBSTER"]


@register("lobster", requires=("pybgs",), extra="baselines")
class LOBSTER(BGSLibrarySubtractor):
    """LOBSTER (St-Charles, Bilodeau 2014): local binary similarity patterns in a
    ViBe-like sample model."""

    algorithm = "LOBSTER"
