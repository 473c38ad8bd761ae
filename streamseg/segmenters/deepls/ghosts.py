"""Ghosts: foreground blobs that mark where an object *was*, not where one is.

A background model that learned an object (parked, or standing in the first frame)
calls the place "foreground" once the object leaves: the frame shows the real
background there, the model still the object. Such a *ghost* stays until the model
forgets (half a window span for a median). The test here is the classic one of
edge matching (e.g. Cucchiara et al., "Detecting moving objects, ghosts and
shadows in video streams", PAMI 2003, tell ghosts by the absence of motion; edges
give the same answer from one frame): the outline of a real object is an edge of the
*frame*; the outline of a ghost is an edge of the *background model*. A blob whose
outline carries ``ratio`` times more gradient in the background than in the frame
is a ghost.

Example:
    >>> import numpy as np
    >>> from streamseg.segmenters.deepls.ghosts import ghost_blobs
    >>> frame = np.full((30, 40), 0.5, np.float32)
    >>> background = frame.copy()
    >>> background[10:20, 5:15] = 0.9      # an object the model learned; it has left
    >>> frame[10:20, 25:35] = 0.1          # an object that is really here
    >>> mask = np.zeros((30, 40), bool)
    >>> mask[10:20, 5:15] = mask[10:20, 25:35] = True
    >>> ghost = ghost_blobs(mask, frame, background, ratio=2.0)
    >>> bool(ghost[15, 10]), bool(ghost[15, 30])
    (True, False)
"""

from __future__ import annotations

import cv2
import numpy as np

__all__ = ["ghost_blobs"]


def _gradient(image: np.ndarray) -> np.ndarray:
    gray = image.mean(axis=2) if image.ndim == 3 else image
    gray = np.asarray(gray, np.float32)
    return np.hypot(cv2.Sobel(gray, cv2.CV_32F, 1, 0), cv2.Sobel(gray, cv2.CV_32F, 0, 1))


def ghost_blobs(
    mask: np.ndarray,
    frame: np.ndarray,
    background: np.ndarray,
    ratio: float = 2.0,
    min_area: int = 4,
) -> np.ndarray:
    """The pixels of ``mask``'s ghost blobs (bool, ``mask``'s shape).

    Args:
        mask: foreground (bool or 0/255) at the size of ``frame``.
        frame: the current frame, ``h×w`` or ``h×w×3``, any scale.
        background: the background model's image, same shape and scale.
        ratio: a blob is a ghost when the mean gradient on its outline is at least
            ``ratio`` times larger in ``background`` than in ``frame``.
        min_area: smaller blobs are left alone (their outline is all they are).
    """
    fg = (np.asarray(mask) > 0).astype(np.uint8)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(fg, connectivity=8)
    if n <= 1:
        return np.zeros(fg.shape, bool)
    outline = (fg - cv2.erode(fg, np.ones((3, 3), np.uint8))) > 0
    lab = labels[outline]
    count = np.bincount(lab, minlength=n)
    in_frame = np.bincount(lab, weights=_gradient(frame)[outline], minlength=n)
    in_background = np.bincount(lab, weights=_gradient(background)[outline], minlength=n)
    ghost = (in_background > ratio * in_frame) & (count > 0)
    ghost &= stats[:, cv2.CC_STAT_AREA] >= min_area
    ghost[0] = False
    return ghost[labels]
