"""Robust PCA: the convex baseline that DeepLS approximates, as a batch solver and a segmenter.

:func:`pcp` solves principal component pursuit, ``min ||L||_* + λ||S||_1`` s.t.
``D = L + S`` (Candès, Li, Ma, Wright 2009), by the inexact augmented Lagrange
multiplier method (Lin, Chen, Ma 2010, Algorithm 5) with λ = 1/sqrt(max(m, n)).
A window of frames is a short, wide matrix (N frames × P pixels, N ≪ P), so the
singular value thresholding step works on the N×N Gram matrix ``X Xᵀ``: its
eigen-decomposition gives the left singular vectors and singular values, and the
thresholded matrix is ``U diag(shrink(σ)/σ) Uᵀ X``, O(N²P) instead of a full SVD.

The ``rpca`` segmenter runs :func:`pcp` on a sliding window of recent frames
(warm-started from the previous solution) to learn a background basis: the right
singular vectors of ``L`` whose singular values are really non-zero. Each new
frame is split against that basis by a few rounds of robust regression
(coefficients on the basis, then the sparse part soft-thresholded), and the
residual goes through the same :class:`~streamseg.segmenters.masking.MaskRule`
as DeepLS, so the two compare fairly.

Example:
    >>> import numpy as np
    >>> from streamseg.segmenters.rpca import pcp
    >>> rng = np.random.default_rng(0)
    >>> low = rng.normal(size=(60, 2)) @ rng.normal(size=(2, 400))
    >>> sparse = np.where(rng.random((60, 400)) < 0.05, 5.0, 0.0)
    >>> result = pcp(low + sparse)
    >>> bool(np.linalg.norm(result.low_rank - low) / np.linalg.norm(low) < 1e-3)
    True
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

import numpy as np

from streamseg.params import check
from streamseg.segmenters.base import MAX_THREADS, Segmenter
from streamseg.segmenters.masking import MaskRule, residual_score
from streamseg.segmenters.preprocess import processing_size, to_processing
from streamseg.segmenters.registration import register
from streamseg.segmenters.worker import Worker
from streamseg.window import FrameWindow

__all__ = ["PCPResult", "pcp", "svt", "RPCA"]

log = logging.getLogger(__name__)

#: Seconds a reset or a close waits for a window solve in flight; one still running
#: after that is left to end alone (its result belongs to the old generation).
_SOLVE_WAIT_S = 30.0


@dataclass(frozen=True)
class PCPResult:
    """The split ``D = L + S`` found by :func:`pcp`.

    Attributes:
        low_rank: ``L``.
        sparse: ``S``.
        iterations: ALM iterations run.
        converged: the relative residual reached ``tol``.
        objective: ``||L||_* + λ||S||_1``.
        lam: the λ used.
        dual: the Lagrange multiplier ``Y`` at the end (for warm starts).
        mu: the penalty μ at the end (for warm starts).
    """

    low_rank: np.ndarray
    sparse: np.ndarray
    iterations: int
    converged: bool
    objective: float
    lam: float
    dual: np.ndarray
    mu: float

    def transposed(self) -> PCPResult:
        return PCPResult(
            self.low_rank.T,
            self.sparse.T,
            self.iterations,
            self.converged,
            self.objective,
            self.lam,
            self.dual.T,
            self.mu,
        )


class _BlasBudget:
    """Process-wide cap on BLAS threads while any RPCA solve or projection runs.

    A BLAS library has one thread setting for the whole process, so overlapping users (an
    async solve and the frames beside it, several cameras) share one cap: the first to enter
    sets it, the last to leave restores the library's own setting. The first cap wins
    until then.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._users = 0
        self._limiter: Any = None
        self._controller: Any = None  # the loaded BLAS libraries, inspected at first use

    @contextlib.contextmanager
    def __call__(self, threads: int) -> Iterator[None]:
        if threads <= 0:
            yield
            return
        with self._lock:
            if self._users == 0:
                if self._controller is None:
                    from threadpoolctl import ThreadpoolController

                    self._controller = ThreadpoolController()
                self._limiter = self._controller.limit(limits=threads, user_api="blas")
            self._users += 1
        try:
            yield
        finally:
            with self._lock:
                self._users -= 1
                if self._users == 0:
                    self._limiter.restore_original_limits()
                    self._limiter = None


_blas_threads = _BlasBudget()


def _shrink(x: np.ndarray, t: float) -> np.ndarray:
    return np.sign(x) * np.maximum(np.abs(x) - t, 0.0)


def svt(x: np.ndarray, tau: float) -> tuple[np.ndarray, np.ndarray]:
    """Singular value thresholding of a wide matrix (rows ≤ columns) via its Gram matrix.

    Returns:
        ``(shrink_τ(X), singular values of the result)``.
    """
    # The N×N eigenproblem in float64 whatever the data's precision: tiny, and LAPACK's
    # float32 solver can fail to converge on a nearly rank-deficient window.
    gram = (x @ x.T).astype(np.float64)
    w, u = np.linalg.eigh(gram)
    sigma = np.sqrt(np.clip(w, 0.0, None))
    u = u.astype(x.dtype)
    keep = sigma > tau
    if not keep.any():
        return np.zeros_like(x), np.zeros(0, x.dtype)
    u, sigma = u[:, keep], sigma[keep]
    scale = ((sigma - tau) / sigma).astype(x.dtype)
    return (u * scale) @ (u.T @ x), sigma - tau


#: A warm start resumes the penalty this far below where the previous solve ended. Resuming
#: at the old μ freezes the old split (the objective ends 7-10 % above the optimum on a
#: moved window); three orders of magnitude lower lets the new frames move it and still
#: saves iterations (measured: 17 instead of 22-25, objective within 0.1 %).
WARM_MU_FACTOR = 1e-3


def pcp(
    d: np.ndarray,
    lam: float | None = None,
    *,
    tol: float = 1e-7,
    max_iter: int = 500,
    rho: float = 1.5,
    warm: tuple[np.ndarray, np.ndarray, float] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> PCPResult:
    """Principal component pursuit by inexact ALM (Lin et al. 2010, Algorithm 5).

    Args:
        d: the data matrix ``m × n`` (any orientation; solved on the wide side).
        lam: weight of ``||S||_1``; default ``1/sqrt(max(m, n))`` as in Candès et al.
        tol: stop when ``||D − L − S||_F / ||D||_F < tol``.
        max_iter: iteration cap.
        rho: growth of the penalty μ per iteration.
        warm: ``(S, Y, μ)`` of a previous, similar problem (same shape as ``d``):
            the sparse part, the multiplier and the final penalty.
        should_stop: polled between iterations; the solve ends early (unconverged)
            when it returns True.

    Returns:
        The :class:`PCPResult`.
    """
    d = np.asarray(d)
    if d.dtype not in (np.float32, np.float64):
        d = d.astype(np.float64)
    if d.shape[0] > d.shape[1]:
        warm_t = None if warm is None else (warm[0].T, warm[1].T, warm[2])
        return pcp(
            d.T, lam, tol=tol, max_iter=max_iter, rho=rho, warm=warm_t, should_stop=should_stop
        ).transposed()
    m, n = d.shape
    lam = float(1.0 / np.sqrt(max(m, n)) if lam is None else lam)
    norm_fro = float(np.linalg.norm(d))
    if norm_fro == 0:
        zero = np.zeros_like(d)
        return PCPResult(zero, zero.copy(), 0, True, 0.0, lam, zero.copy(), 0.0)
    norm_two = float(np.sqrt(max(np.linalg.eigvalsh((d @ d.T).astype(np.float64))[-1], 0.0)))
    mu0 = 1.25 / norm_two
    mu_max = mu0 * 1e7
    if warm is None:
        y = d / max(norm_two, float(np.abs(d).max()) / lam)
        s = np.zeros_like(d)
        mu = mu0
    else:
        s, y = warm[0].astype(d.dtype, copy=True), warm[1].astype(d.dtype, copy=True)
        mu = min(max(warm[2] * WARM_MU_FACTOR, mu0), mu_max)
    low = np.zeros_like(d)
    sigma = np.zeros(0)
    converged = False
    it = 0
    while it < max_iter and not converged:
        if should_stop is not None and should_stop():
            break
        it += 1
        low, sigma = svt(d - s + y / mu, 1.0 / mu)
        s = _shrink(d - low + y / mu, lam / mu)
        z = d - low - s
        y += mu * z
        mu = min(mu * rho, mu_max)
        converged = float(np.linalg.norm(z)) / norm_fro < tol
    objective = float(sigma.sum() + lam * np.abs(s).sum())
    return PCPResult(low, s, it, converged, objective, lam, y, mu)


@register("rpca")
class RPCA(Segmenter):
    """Per-frame robust PCA against a background basis learned on a sliding window."""

    continuous_score: ClassVar[bool] = True

    @dataclass(frozen=True)
    class Config:
        """Parameters of :class:`RPCA`.

        Attributes:
            area: processing size in pixels (aspect ratio kept, never upscaled);
                masks are upsampled to the frame's size.
            gray: work on luma (colour triples the cost for little gain here).
            window: frames in the sliding window.
            stride: keep every ``stride``-th frame in the window, so it spans
                ``window × stride`` frames (several seconds at 25 fps).
            interval: if > 0, sample the window by time instead, as DeepLS's ``interval``
                (seconds between two kept frames); 0: by ``stride``.
            refresh_every: frames between two window solves (once the window is full;
                while it fills, every kept frame triggers a solve).
            max_rank: largest background rank kept.
            lam_scale: multiplies RPCA's λ = 1/sqrt(max(N, P)).
            tol: relative residual at which a window solve stops.
            max_iter: iteration cap of a window solve.
            mode: ``sync`` solves inline (reproducible); ``async`` on a background
                thread while frames keep flowing.
            blas_threads: BLAS threads of the solves and projections (0: the library's
                default, all cores). One by default: beside another busy thread (DeepLS's
                trainer in a side-by-side run) OpenBLAS's spinning workers fight it for the
                cores (``streamseg demo``: RPCA at 248 ms/frame with all cores, about 15 with
                one). The cap is process-wide while RPCA works (see :class:`_BlasBudget`).
                At most four per core.
            mask: the mask rule shared with DeepLS.
        """

        area: int = 19200
        gray: bool = True
        window: int = 24
        stride: int = 4
        interval: float = 0.0
        refresh_every: int = 8
        max_rank: int = 6
        lam_scale: float = 1.0
        tol: float = 1e-5
        max_iter: int = 200
        mode: Literal["sync", "async"] = "sync"
        blas_threads: int = 1
        mask: MaskRule = field(default_factory=MaskRule)

        def __post_init__(self) -> None:
            check(self.area >= 64, "area must be >= 64 pixels")
            check(self.window >= 2, f"window must be >= 2, got {self.window}")
            check(self.stride >= 1, "stride must be >= 1")
            check(self.interval >= 0, "interval must be >= 0 seconds (0: by stride)")
            check(self.refresh_every >= 1, "refresh_every must be >= 1")
            check(self.max_rank >= 1, "max_rank must be >= 1")
            check(self.lam_scale > 0, "lam_scale must be > 0")
            check(0 < self.tol < 1, "tol must be in (0, 1)")
            check(self.max_iter >= 1, "max_iter must be >= 1")
            check(
                0 <= self.blas_threads <= MAX_THREADS,
                f"blas_threads must be in 0..{MAX_THREADS}, got {self.blas_threads} "
                "(0: the library's default; at most four per core this process may use)",
            )

    @classmethod
    def _unit_test_params(cls) -> dict[str, Any]:
        return {"area": 600, "window": 6, "stride": 1, "refresh_every": 2, "max_iter": 60}

    def __init__(self, config: Any | None = None) -> None:
        super().__init__(config)
        self._lock = threading.Lock()
        # Async window solves, on the lifeline: joined at interpreter exit, abandoned
        # (its stop) on close.
        self._solver = Worker(
            "streamseg-rpca",
            "rpca: window solve failed",
            spawn=self._lifeline.start,
            stop=self._lifeline.stop,
        )
        self.reset()

    def reset(self) -> None:
        """Forget the window and the basis (an async solve in flight is discarded).

        Raises:
            TrainerError: a window solve failed since the last frame (the state is reset
                all the same).
        """
        self._solver.join(_SOLVE_WAIT_S)
        c = self.config
        self._window = FrameWindow(c.window, c.stride, c.interval)
        self._size: tuple[int, int] | None = None
        self._basis: np.ndarray | None = None  # P × r, orthonormal columns
        self._since_refresh = 0
        self._solved_version = -1
        self._warm: tuple[dict[float, int], PCPResult] | None = None
        self._generation = getattr(self, "_generation", 0) + 1
        self.solves = 0
        self.solve_ms_total = 0.0
        self._solver.check()  # a solve that failed since the last frame (the state is new)

    # -- the split of one frame ------------------------------------------------------------

    def _to_frame_size(self, image: np.ndarray) -> np.ndarray:
        import cv2

        h, w = self._frame_shape
        return cv2.resize(image, (w, h), interpolation=cv2.INTER_LINEAR)

    def _prepare(self, image: np.ndarray) -> np.ndarray:
        self._frame_shape = image.shape[:2]
        if self._size is None:
            self._size = processing_size(image.shape[0], image.shape[1], self.config.area)
        return to_processing(image, self._size, not self.config.gray)

    def _residual(self, x: np.ndarray) -> np.ndarray | None:
        with self._lock:
            basis = self._basis
        if basis is None:
            return None
        v = x.reshape(-1).astype(np.float64)
        with _blas_threads(self.config.blas_threads):
            coef = basis.T @ v
            # Robust regression: the foreground must not pull the background fit towards it.
            for _ in range(3):
                r = v - basis @ coef
                t = 2.5 * 1.4826 * float(np.median(np.abs(r)))
                sparse = _shrink(r, t)
                coef = basis.T @ (v - sparse)
            return (v - basis @ coef).reshape(x.shape).astype(np.float32)

    def _predict_one(self, image: np.ndarray) -> np.ndarray:
        self._solver.check()
        residual = self._residual(self._prepare(image))
        if residual is None:
            return np.zeros(image.shape[:2], np.uint8)
        return self.config.mask(residual_score(residual), image.shape[:2])

    def _score_one(self, image: np.ndarray) -> np.ndarray:
        residual = self._residual(self._prepare(image))
        if residual is None:
            return np.zeros(image.shape[:2], np.float32)
        score = residual_score(residual)
        return self.config.mask.normalised(score, image.shape[:2])

    # -- learning the basis ----------------------------------------------------------------

    def _learn_one(self, image: np.ndarray) -> None:
        self._solver.check()
        x = self._prepare(image)
        # Timestamps only when sampling by time: the warm start matches a window's frames
        # to the last solve's by them, and push positions are unique where times may not be.
        self._window.push(x, self._timestamp if self.config.interval > 0 else None)
        self._since_refresh += 1
        filling = not self._window.full
        if len(self._window) < 2 or self._window.version == self._solved_version:
            return
        if not filling and self._since_refresh < self.config.refresh_every:
            return
        if self.config.mode == "sync":
            self._solve(self._window.snapshot(), self._window.timestamps(), self._generation)
        elif not self._solver.alive:
            stamps = self._window.timestamps()
            self._solver.start(self._solve, self._window.snapshot(), stamps, self._generation)
        else:
            return
        self._since_refresh = 0
        self._solved_version = self._window.version

    def _solve(self, frames: np.ndarray, stamps: np.ndarray, generation: int) -> None:
        with _blas_threads(self.config.blas_threads):
            self._solve_window(frames, stamps, generation)

    def _solve_window(self, frames: np.ndarray, stamps: np.ndarray, generation: int) -> None:
        import time

        t0 = time.perf_counter()
        d = frames.reshape(len(frames), -1).astype(np.float32)
        n, p = d.shape
        warm = None
        if self._warm is not None and self._warm[1].sparse.shape[1] == p:
            # Frames still in the window keep their split; new rows start from zero.
            rows, prev = self._warm
            s0, y0 = np.zeros_like(d), np.zeros_like(d)
            for i, stamp in enumerate(stamps):
                j = rows.get(float(stamp))
                if j is not None:
                    s0[i], y0[i] = prev.sparse[j], prev.dual[j]
            warm = (s0, y0, prev.mu)
        result = pcp(
            d,
            self.config.lam_scale / np.sqrt(max(n, p)),
            tol=self.config.tol,
            max_iter=self.config.max_iter,
            warm=warm,
            should_stop=self._solver.stop.is_set,
        )
        if self._solver.stop.is_set():
            return  # closed meanwhile: an unfinished solve is no basis
        u, sigma, vt = np.linalg.svd(result.low_rank, full_matrices=False)
        rank = int(np.count_nonzero(sigma > 1e-6 * max(sigma[0], 1e-12))) if sigma.size else 0
        rank = max(1, min(rank, self.config.max_rank))
        basis = np.ascontiguousarray(vt[:rank].T)
        if generation != self._generation:
            return  # reset() happened meanwhile: this solution belongs to the old stream
        self._warm = ({float(t): i for i, t in enumerate(stamps)}, result)
        with self._lock:
            self._basis = basis
        self.solves += 1
        self.solve_ms_total += 1000 * (time.perf_counter() - t0)
        log.debug("rpca: window of %d solved in %d iterations, rank %d", n, result.iterations, rank)

    @property
    def ready(self) -> bool:
        return self._basis is not None

    def background(self) -> np.ndarray | None:
        """The window's mean projected on the background basis, at the frame's size (``uint8``)."""
        with self._lock:
            basis = self._basis
        frames = self._window.snapshot()
        if basis is None or frames.size == 0 or self._size is None:
            return None
        mean = frames.reshape(len(frames), -1).mean(axis=0)
        bg = np.clip((basis @ (basis.T @ mean)).reshape(frames.shape[1:]) * 255, 0, 255)
        return self._to_frame_size(bg.astype(np.uint8))

    def stats(self) -> dict[str, Any]:
        return {
            "solves": self.solves,
            "solve_ms_mean": self.solve_ms_total / self.solves if self.solves else 0.0,
        }

    def _close(self) -> None:
        self._solver.join(_SOLVE_WAIT_S)
        self._solver.check()  # a solve that failed after the last frame
