"""What DeepLS does around its network: how masks are combined and what the window keeps.

Two opinions make a DeepLS mask. The **network** sees the frame at the processing size
with the window's per-pixel median and spread as context: the last few seconds, at
low resolution, with a spatial view (it is trained on the stream by the low-rank +
sparse loss). The **memory** (:mod:`~streamseg.segmenters.deepls.memory`) sees every
pixel at (up to) the frame's resolution against minutes of conservative background
samples. The memory is the sharper and the longer of the two; the network is the one
that knows the scene's recent statistics around each pixel. ``fusion`` says how they
combine:

* ``veto`` (the default): a blob of the memory's mask is kept when the network's
  ``|S|`` exceeds half its mask floor on at least ``veto_share`` of the blob's pixels.
  Both must see an object; the memory draws it. Blobs of dynamic background that the
  memory calls foreground (sparkling water, noise) and the network does not are
  dropped; what the network misses of an object the memory keeps, as long as the
  network sees some of it.
* ``soft``: per pixel, the memory's distance to its samples over its radius times the
  network's ``|S|`` over its floor; foreground where the product exceeds 1 (their
  geometric mean exceeds each one's threshold), cleaned up as the memory's mask is.
  It depends on the network's scale of ``|S|``, which online training moves.
* ``memory``: the memory's mask alone (the network is neither run nor trained).
* ``net``: the network's mask alone, with its own outline and ghost policies (the
  method as it was before the memory: :mod:`~streamseg.segmenters.deepls.outline`,
  :mod:`~streamseg.segmenters.deepls.ghosts`).
* ``and`` / ``or``: pixel-wise, for comparison.

With the memory on, the **window is held** wherever the memory's mask is foreground
(what the memory does not learn, the window does not learn either): the window receives
its own median there, not the frame, so the network's context does not
learn a stopped object either, and the network goes on seeing it as long as the memory
does (the window's span alone would absorb it in a few seconds). A ghost the memory
heals leaves the mask, and the window then learns the place again.

Example:
    >>> import numpy as np
    >>> from streamseg.segmenters.deepls.policies import veto
    >>> memory = np.zeros((20, 20), np.uint8)
    >>> memory[2:8, 2:8] = memory[12:18, 12:18] = 255     # two blobs
    >>> score = np.zeros((10, 10), np.float32)
    >>> score[1:4, 1:4] = 0.2                             # the net sees the first only
    >>> kept = veto(memory, score, 0.07, 0.1)
    >>> int(kept[5, 5]), int(kept[15, 15])
    (255, 0)
"""

from __future__ import annotations

import cv2
import numpy as np

__all__ = ["combine", "dilate", "to_size", "veto"]


def dilate(where: np.ndarray) -> np.ndarray:
    """``where`` grown by one pixel: a mask's rim is what a policy misses first."""
    return cv2.dilate(where.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0


def to_size(where: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Processing-size pixels (bool), grown by one pixel, at the frame's ``size`` ``(h, w)``."""
    grown = dilate(where).astype(np.uint8)
    return cv2.resize(grown, (size[1], size[0]), interpolation=cv2.INTER_NEAREST) > 0


def veto(memory: np.ndarray, score: np.ndarray, floor: float, share: float) -> np.ndarray:
    """The blobs of ``memory`` (0/255, frame size) that the network sees.

    Args:
        memory: the memory's mask.
        score: the network's ``|S|`` at the processing size.
        floor: the network's mask floor; ``|S|`` above half of it counts as seen.
        share: the share of a blob's pixels that must be seen for the blob to stay.
    """
    if not memory.any():
        return memory
    h, w = memory.shape
    seen = cv2.resize(score, (w, h), interpolation=cv2.INTER_LINEAR) > floor / 2
    n, labels, stats, _ = cv2.connectedComponentsWithStats(
        (memory > 0).astype(np.uint8), connectivity=8
    )
    area = np.maximum(stats[:, cv2.CC_STAT_AREA], 1)
    seen_share = np.bincount(labels[seen], minlength=n) / area
    keep = seen_share >= share
    keep[0] = False
    return np.where(keep[labels], np.uint8(255), np.uint8(0))


def combine(
    kind: str,
    memory: np.ndarray,
    net: np.ndarray | None,
    score: np.ndarray | None,
    floor: float,
    share: float,
) -> np.ndarray:
    """The final mask of fusion ``kind`` (``veto``, ``memory``, ``and``, ``or``).

    ``net`` (the network's mask at the frame's size) is needed by ``and`` and ``or``,
    ``score`` (its ``|S|``) by ``veto``; without them the memory's mask stands.
    """
    if kind == "veto":
        return memory if score is None else veto(memory, score, floor, share)
    if kind == "memory" or net is None:
        return memory
    if kind == "and":
        return cv2.bitwise_and(memory, net)
    if kind == "or":
        return cv2.bitwise_or(memory, net)
    raise ValueError(f"unknown fusion {kind!r}")
