from __future__ import annotations

from contextlib import nullcontext as does_not_raise

import numpy as np
import pytest

from streamseg.errors import FrameError
from streamseg.frame import check_image


@pytest.mark.parametrize(
    ("array", "shape", "exception"),
    [
        (np.zeros((4, 5, 3), np.uint8), (4, 5, 3), does_not_raise()),
        (np.zeros((4, 5), np.uint8), (4, 5), does_not_raise()),
        (np.zeros((4, 5, 1), np.uint8), (4, 5), does_not_raise()),
        (np.zeros((4, 5, 4), np.uint8), (4, 5, 3), does_not_raise()),
        (np.zeros((4, 5, 3), np.uint16), None, pytest.raises(FrameError, match=r"uint16.*>> 8")),
        (np.zeros((4, 5, 3), np.float32), None, pytest.raises(FrameError, match=r"float32.*255")),
        (np.zeros((4, 5), bool), None, pytest.raises(FrameError, match=r"bool.*mask")),
        (np.zeros((4, 5, 2), np.uint8), None, pytest.raises(FrameError, match=r"\(4, 5, 2\)")),
        (np.zeros((2, 4, 5, 3), np.uint8), None, pytest.raises(FrameError, match="shape")),
        (np.zeros((1, 5), np.uint8), None, pytest.raises(FrameError, match="degenerate")),
        ([[1, 2], [3, 4]], None, pytest.raises(FrameError, match="got list")),
    ],
)
def test_check_image(array, shape, exception):
    with exception:
        out = check_image(array)
        assert out.shape == shape and out.dtype == np.uint8 and out.flags.c_contiguous


def test_frame_error_is_a_value_error():
    with pytest.raises(ValueError, match="expected a uint8 image"):
        check_image(np.zeros((3, 3), np.int32))
