"""Objects pasted into online training batches, so a still scene cannot make the net blind.

The low-rank + sparse loss learns from what the window holds. On an empty, motionless
scene (a corridor at night: the normal surveillance case) the window is one
background plus sensor noise: the batch's optimum is ``S = 0`` everywhere, and the
cheapest way for the network to get there is to shrink its output on *every* input.
Measured (``python tools/still_scene.py --mode sync --set paste=0 --set fusion=net``): a
box the network found at 14–70 % after its first 11 steps there was found at 0 % from
the 17th step on, and the net stayed blind until something moved long enough to be
trained on.

So each frame of a batch gets, with probability ``rate``, one synthetic object: an
ellipse whose texture is another part of the same frame, brighter or darker by 10–40 %
of the range. The window context (median, MAD) is computed from the frames as they
were, so the object is what a real one is, something the background does not
explain, and the loss keeps the net's answer to it in ``S``. The idea is CutPaste's
(Li et al., "CutPaste: self-supervised learning for anomaly detection", CVPR 2021):
a synthetic anomaly made from the image itself. The loss is unchanged and no label
is made: the object enters only the sparse side of an unsupervised objective.

Example:
    >>> import numpy as np
    >>> from streamseg.segmenters.deepls.augment import paste_objects
    >>> frames = np.full((4, 30, 40), 0.5, np.float32)
    >>> out = paste_objects(frames, np.random.default_rng(0), rate=1.0)
    >>> out.shape, bool((frames == 0.5).all()), int((out != 0.5).any(axis=(1, 2)).sum())
    ((4, 30, 40), True, 4)
"""

from __future__ import annotations

import numpy as np

__all__ = ["paste_objects"]


def paste_objects(frames: np.ndarray, rng: np.random.Generator, rate: float) -> np.ndarray:
    """A copy of ``frames`` with one synthetic object in each frame, with probability ``rate``.

    Args:
        frames: ``(N, h, w)`` or ``(N, h, w, 3)`` float32 in [0, 1] (left untouched).
        rng: the trainer's generator (seeded: sync mode stays reproducible).
        rate: probability that a frame gets an object.

    Returns:
        The batch with its objects, same shape and dtype.
    """
    out = frames.copy()
    n, h, w = frames.shape[:3]
    for i in range(n):
        if rng.random() >= rate:
            continue
        # Between a tenth and a third of the frame on each side: the size of the people
        # and cars the scenes are filmed for, at the processing resolution.
        oh = int(rng.integers(max(1, h // 10), max(1, h // 3) + 1))
        ow = int(rng.integers(max(1, w // 10), max(1, w // 3) + 1))
        y, x = int(rng.integers(0, h - oh + 1)), int(rng.integers(0, w - ow + 1))
        sy, sx = int(rng.integers(0, h - oh + 1)), int(rng.integers(0, w - ow + 1))
        yy, xx = np.mgrid[:oh, :ow]
        inside = ((2 * yy + 1 - oh) / oh) ** 2 + ((2 * xx + 1 - ow) / ow) ** 2 <= 1.0
        shift = float(rng.choice((-1.0, 1.0)) * rng.uniform(0.1, 0.4))
        texture = np.clip(frames[i, sy : sy + oh, sx : sx + ow] + shift, 0.0, 1.0)
        where = inside if frames.ndim == 3 else inside[..., None]
        region = out[i, y : y + oh, x : x + ow]
        out[i, y : y + oh, x : x + ow] = np.where(where, texture, region)
    return out
