"""BGSLibrary's PAWCS as a streamseg method (needs ``pip install 'streamseg[baselines]'``).

PAWCS (St-Charles, Bilodeau, Bergevin 2016): a word-based, self-adjusting pixel model.
"""

from __future__ import annotations

from streamseg.segmenters._bgslibrary import BGSLibrarySubtractor
from streamseg.segmenters.registration import register

__all__ = ["PAWCS"]


@register("pawcs", requires=("pybgs",), extra="baselines")
class PAWCS(BGSLibrarySubtractor):
    """PAWCS (St-Charles, Bilodeau, Bergevin 2016): a word-based, self-adjusting
    pixel model."""

    algorithm = "PAWCS"
    min_size = (8, 8)  # measured: its multi-scale words need 8×8
