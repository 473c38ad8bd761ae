"""BGSLibrary's SuBSENSE as a streamseg method (needs ``pip install 'streamseg[baselines]'``).

SuBSENSE (St-Charles, Bilodeau, Bergevin 2015): spatiotemporal binary features with
feedback-adapted thresholds.
"""

from __future__ import annotations

from streamseg.segmenters._bgslibrary import BGSLibrarySubtractor
from streamseg.segmenters.registration import register

__all__ = ["SuBSENSE"]


@register("subsense", requires=("pybgs",), extra="baselines")
class SuBSENSE(BGSLibrarySubtractor):
    """SuBSENSE (St-Charles, Bilodeau, Bergevin 2015): spatiotemporal binary features
    with feedback-adapted thresholds."""

    algorithm = "SuBSENSE"
