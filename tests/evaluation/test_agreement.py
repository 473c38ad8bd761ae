from __future__ import annotations

import numpy as np
import pytest

from streamseg.evaluation.agreement import Agreement


def test_the_mean_iou_leaves_out_frames_where_both_masks_are_empty():
    agreement = Agreement()
    empty, left, top = (np.zeros((4, 4), np.uint8) for _ in range(3))
    left[:, :2] = 255
    top[:2] = 255
    agreement(None, {"a": left, "b": top, "c": empty})  # a/b: 4 of 12 pixels
    agreement(None, {"a": left, "b": left, "c": empty})  # a/b: all of them
    agreement(None, {"a": empty, "b": empty, "c": empty})  # nothing to compare
    result = agreement.result()
    assert result[("a", "b")] == pytest.approx((4 / 12 + 1) / 2)
    assert result[("a", "c")] == 0.0 and result[("b", "c")] == 0.0
