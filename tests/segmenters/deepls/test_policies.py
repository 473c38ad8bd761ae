from __future__ import annotations

import numpy as np
import pytest

from streamseg.segmenters.deepls.policies import combine, veto


def _two_blobs() -> tuple[np.ndarray, np.ndarray]:
    memory = np.zeros((40, 40), np.uint8)
    memory[4:16, 4:16] = memory[24:36, 24:36] = 255
    score = np.zeros((20, 20), np.float32)
    return memory, score


@pytest.mark.parametrize(("seen", "kept"), [(0.0, False), (0.05, False), (0.2, True)])
def test_veto_keeps_a_blob_the_network_sees_enough_of(seen: float, kept: bool):
    memory, score = _two_blobs()
    rows = round(6 * seen)
    score[2 : 2 + rows, 2:8] = 0.1  # the share ``seen`` of the first blob's rows
    out = veto(memory, score, floor=0.07, share=0.1)
    assert bool(out[10, 10]) is kept and not out[30, 30]
    assert np.array_equal(out[4:16, 4:16] > 0, np.full((12, 12), kept))  # whole blobs


def test_a_weak_score_is_not_seeing():
    memory, score = _two_blobs()
    score[:] = 0.03  # below half the floor everywhere
    assert not veto(memory, score, 0.07, 0.1).any()


def test_combine_kinds():
    memory, score = _two_blobs()
    net = np.zeros_like(memory)
    net[4:16, 4:10] = 255
    assert np.array_equal(combine("memory", memory, net, score, 0.07, 0.1), memory)
    assert (combine("and", memory, net, score, 0.07, 0.1) > 0).sum() == 12 * 6
    assert (combine("or", memory, net, score, 0.07, 0.1) > 0).sum() == 2 * 144
    assert np.array_equal(combine("veto", memory, None, None, 0.07, 0.1), memory)
    with pytest.raises(ValueError, match="unknown fusion"):
        combine("xor", memory, net, score, 0.07, 0.1)
