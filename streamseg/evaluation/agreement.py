"""How much methods agree with one another when no ground truth is at hand.

:class:`Agreement` is a run's ``on_frame`` callback: for every pair of methods it
keeps the mean intersection over union of their masks, over the frames where either
of the two found something (two empty masks agree trivially and would swamp it).

Example:
    >>> import numpy as np
    >>> from streamseg.evaluation.agreement import Agreement
    >>> agreement = Agreement()
    >>> a, b = np.zeros((4, 4), np.uint8), np.zeros((4, 4), np.uint8)
    >>> a[:2], b[:1] = 255, 255
    >>> agreement(None, {"mog2": a, "knn": b})
    >>> agreement.result()
    {('mog2', 'knn'): 0.5}
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

__all__ = ["Agreement"]


class Agreement:
    """Running mean IoU of every pair of methods' masks (over frames where either has any)."""

    def __init__(self) -> None:
        self.sums: dict[tuple[str, str], float] = {}
        self.counts: dict[tuple[str, str], int] = {}

    def __call__(self, _frame: Any, masks: Mapping[str, np.ndarray]) -> None:
        """Add one frame's masks (method → mask, nonzero is foreground)."""
        names = list(masks)
        for i, a in enumerate(names):
            for b in names[i + 1 :]:
                fa, fb = masks[a] > 0, masks[b] > 0
                union = int((fa | fb).sum())
                if union:
                    self.sums[(a, b)] = self.sums.get((a, b), 0.0) + int((fa & fb).sum()) / union
                    self.counts[(a, b)] = self.counts.get((a, b), 0) + 1

    def result(self) -> dict[tuple[str, str], float]:
        """Mean IoU per pair of methods, in the order their masks came; pairs never
        compared (both masks always empty) are left out."""
        return {k: self.sums[k] / self.counts[k] for k in self.sums}
