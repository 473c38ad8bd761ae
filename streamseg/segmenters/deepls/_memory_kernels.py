"""The per-pixel loops of :mod:`streamseg.segmenters.deepls.memory`, compiled by numba.

Imported only when a memory sees its first frame (numba takes a moment to import, and
compiles these once per install: ``cache=True`` keeps the machine code on disk). The
loops release the GIL, so DeepLS's trainer thread runs beside them. Randomness comes
from a xorshift64* generator whose state (one ``uint64``) belongs to the memory, so two
memories never share a stream of random numbers and a seed reproduces a run.
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["seed_samples", "classify", "update", "heal"]


@njit(cache=True, nogil=True)
def _next(rng):  # type: ignore[no-untyped-def]
    """A uniform float in [0, 1) from the xorshift64* state ``rng[0]``."""
    s = rng[0]
    s ^= s >> np.uint64(12)
    s ^= s << np.uint64(25)
    s ^= s >> np.uint64(27)
    rng[0] = s
    return float((s * np.uint64(2685821657736338717)) >> np.uint64(11)) * (1.0 / 9007199254740992.0)


@njit(cache=True, nogil=True, inline="always")
def _step(s):  # type: ignore[no-untyped-def]
    """The next xorshift64 state."""
    s ^= s >> np.uint64(12)
    s ^= s << np.uint64(25)
    s ^= s >> np.uint64(27)
    return s


_SCALE_26 = 1.0 / 67108864.0  # 2**-26


@njit(cache=True, nogil=True)
def _below(rng, n):  # type: ignore[no-untyped-def]
    """A uniform integer in ``0..n-1``."""
    return min(int(_next(rng) * n), n - 1)


@njit(cache=True, nogil=True)
def seed_samples(x, samples, rng):  # type: ignore[no-untyped-def]
    """Fill the samples from one frame: the pixel itself, then random 3×3 neighbours (ViBe)."""
    n, h, w, c = samples.shape
    for k in range(n):
        for y in range(h):
            for i in range(w):
                yy, xx = y, i
                if k > 0:
                    yy = min(max(y + _below(rng, 3) - 1, 0), h - 1)
                    xx = min(max(i + _below(rng, 3) - 1, 0), w - 1)
                for ch in range(c):
                    samples[k, y, i, ch] = x[yy, xx, ch]


@njit(cache=True, nogil=True)
def classify(x, samples, radius, nominal, matches, raw, distance):  # type: ignore[no-untyped-def]
    """``raw`` 255 where fewer than ``matches`` samples lie within the pixel's radius.

    ``distance`` gets the smallest distance seen (the search stops at ``matches``
    matches, as ViBe's does, so a background pixel's is an upper bound).
    """
    n, h, w, c = samples.shape
    for y in range(h):
        for i in range(w):
            limit = radius[y, i] * nominal
            count = 0
            best = 1e9
            for k in range(n):
                d = 0
                for ch in range(c):
                    e = abs(np.int32(x[y, i, ch]) - np.int32(samples[k, y, i, ch]))
                    if e > d:
                        d = e
                if d < best:
                    best = d
                if d <= limit:
                    count += 1
                    if count >= matches:
                        break
            raw[y, i] = 0 if count >= matches else 255
            distance[y, i] = best


@njit(cache=True, nogil=True)
def update(  # type: ignore[no-untyped-def]
    x,
    samples,
    mask,
    near,
    raw,
    last_raw,
    distance,
    radius,
    period,
    mean_distance,
    blinks,
    background,
    rng,
    feedback,
    alpha,
    blink_decay,
    radius_step,
    distance_gain,
    radius_min,
    radius_max,
    period_min,
    period_max,
):
    """Feedback and conservative update of every pixel (see the memory's module doc)."""
    n, h, w, c = samples.shape
    state = rng[0]
    for y in range(h):
        for i in range(w):
            foreground = mask[y, i] != 0
            if feedback:
                md = (1.0 - alpha) * mean_distance[y, i] + alpha * distance[y, i] / 255.0
                mean_distance[y, i] = md
                if raw[y, i] != last_raw[y, i] and near[y, i] == 0:
                    blinks[y, i] += 1.0
                else:
                    blinks[y, i] = max(blinks[y, i] - blink_decay, 0.0)
                v = blinks[y, i]
                vv = max(v, 0.1)
                lim = 1.0 + distance_gain * md
                lim = radius_min * lim * lim
                if radius[y, i] < lim:
                    radius[y, i] = min(radius[y, i] + radius_step * v, radius_max)
                else:
                    radius[y, i] = max(radius[y, i] - radius_step / vv, radius_min)
                dm = max(md, 1e-3) * 10.0
                if foreground:
                    period[y, i] = min(period[y, i] + 1.0 / (vv * dm), period_max)
                else:
                    period[y, i] = max(period[y, i] - vv / dm, period_min)
            if foreground:
                continue
            for ch in range(c):
                if x[y, i, ch] > background[y, i, ch]:
                    background[y, i, ch] += 1
                elif x[y, i, ch] < background[y, i, ch]:
                    background[y, i, ch] -= 1
            # One draw gives both decisions (two 26-bit uniforms); the rare updates draw more.
            state = _step(state)
            mixed = state * np.uint64(2685821657736338717)
            p = 1.0 / period[y, i]
            if float(mixed >> np.uint64(38)) * _SCALE_26 < p:
                rng[0] = state
                k = _below(rng, n)
                state = rng[0]
                for ch in range(c):
                    samples[k, y, i, ch] = x[y, i, ch]
            if float((mixed >> np.uint64(12)) & np.uint64(67108863)) * _SCALE_26 < p:
                rng[0] = state
                yy = min(max(y + _below(rng, 3) - 1, 0), h - 1)
                xx = min(max(i + _below(rng, 3) - 1, 0), w - 1)
                k = _below(rng, n)
                state = rng[0]
                for ch in range(c):
                    samples[k, yy, xx, ch] = x[y, i, ch]
    rng[0] = state


@njit(cache=True, nogil=True)
def heal(x, samples, background, where, rng):  # type: ignore[no-untyped-def]
    """Write ``x`` into half the samples (chosen at random) and the background where ``where``."""
    n, h, w, c = samples.shape
    for y in range(h):
        for i in range(w):
            if where[y, i] == 0:
                continue
            for ch in range(c):
                background[y, i, ch] = x[y, i, ch]
            for _ in range(n // 2):
                k = _below(rng, n)
                for ch in range(c):
                    samples[k, y, i, ch] = x[y, i, ch]
