from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import streamseg as ss
from streamseg.evaluation.metrics import Confusion
from streamseg.segmenters.base import MAX_THREADS
from streamseg.segmenters.preprocess import processing_size
from streamseg.segmenters.rpca import pcp, svt
from streamseg.sources.synthetic import SyntheticScene


@pytest.mark.parametrize(("m", "n", "rank"), [(60, 400, 2), (100, 500, 3), (300, 80, 2)])
def test_pcp_recovers_low_rank_and_sparse(m, n, rank):
    rng = np.random.default_rng(1)
    low = rng.normal(size=(m, rank)) @ rng.normal(size=(rank, n))
    sparse = np.where(rng.random((m, n)) < 0.05, rng.choice([-5.0, 5.0], (m, n)), 0.0)
    result = pcp(low + sparse)
    assert result.converged
    assert np.linalg.norm(result.low_rank - low) / np.linalg.norm(low) < 1e-3
    assert np.linalg.norm(result.sparse - sparse) / np.linalg.norm(sparse) < 1e-3
    assert result.lam == pytest.approx(1 / np.sqrt(max(m, n)))


def test_svt_matches_a_direct_svd():
    x = np.random.default_rng(2).normal(size=(8, 50))
    shrunk, sigma = svt(x, 2.0)
    u, s, vt = np.linalg.svd(x, full_matrices=False)
    direct = (u * np.maximum(s - 2.0, 0)) @ vt
    assert np.allclose(shrunk, direct, atol=1e-8)
    assert np.allclose(np.sort(sigma), np.sort(s[s > 2.0] - 2.0))


def test_warm_start_from_the_previous_window():
    rng = np.random.default_rng(3)
    low = rng.normal(size=(40, 2)) @ rng.normal(size=(2, 600))
    sparse = np.where(rng.random((40, 600)) < 0.05, 3.0, 0.0)
    d = low + sparse
    before = pcp(d[:-4], tol=1e-6)
    # the window moved by 4 rows: old rows keep their split, new rows start at zero
    s0 = np.vstack([before.sparse[4:], np.zeros((4, 600))])
    y0 = np.vstack([before.dual[4:], np.zeros((4, 600))])
    now_cold = pcp(d[4:], tol=1e-6)
    now_warm = pcp(d[4:], tol=1e-6, warm=(s0, y0, before.mu))
    assert now_warm.iterations < now_cold.iterations
    assert now_warm.objective == pytest.approx(now_cold.objective, rel=0.01)


def test_processing_size_keeps_aspect_and_multiples():
    assert processing_size(240, 320, 19200) == (120, 160)
    assert processing_size(136, 200, 4800) == (56, 84)
    assert processing_size(48, 64, 19200) == (48, 64)  # never upscaled


def test_segments_the_synthetic_scene():
    scene = SyntheticScene(width=128, height=96, frames=120, seed=4)
    confusion = Confusion()
    with ss.create("rpca", area=64 * 48, window=16, stride=2) as seg:
        for t in range(scene.frames):
            image, truth = scene.render(t)
            mask = seg.apply(image)
            if t >= 40:
                confusion.update(mask, truth)
        assert seg.ready and seg.stats()["solves"] > 3
        assert seg.background().shape == (96, 128)
    assert confusion.compute().f_measure > 0.45


def test_async_solves_beside_the_frames():
    import time

    scene = SyntheticScene(width=128, height=96, frames=60, seed=4)
    with ss.create("rpca", area=64 * 48, window=8, stride=1, mode="async") as seg:
        deadline = time.monotonic() + 60
        t = 0
        while seg.stats()["solves"] < 3 and time.monotonic() < deadline:
            mask = seg.apply(scene.render(t % 60)[0])
            t += 1
        assert seg.ready and seg.stats()["solves"] >= 3
        assert mask.shape == (96, 128) and set(np.unique(mask)) <= {0, 255}


@pytest.mark.parametrize("threads", [1, 0])
def test_solves_run_on_the_blas_thread_budget(threads, monkeypatch):
    """``blas_threads`` bounds the solves' BLAS pool; 0 leaves the library's own setting."""
    from threadpoolctl import threadpool_info

    import streamseg.segmenters.rpca as rpca

    def blas() -> list[int]:
        return [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]

    before, seen = blas(), []

    def recording_pcp(*args, **kwargs):
        seen.append(blas())
        return pcp(*args, **kwargs)

    monkeypatch.setattr(rpca, "pcp", recording_pcp)
    scene = SyntheticScene(width=64, height=48, frames=12, seed=4)
    with ss.create("rpca", area=32 * 24, window=4, stride=1, blas_threads=threads) as seg:
        for t in range(scene.frames):
            seg.apply(scene.render(t)[0])
    assert seen and all(s == ([1] * len(before) if threads else before) for s in seen)
    assert blas() == before  # restored after each solve


def test_overlapping_users_share_one_cap_and_the_last_restores_it():
    """An async solve and the frames beside it overlap, in any order; the setting comes back."""
    from threadpoolctl import threadpool_info

    from streamseg.segmenters.rpca import _BlasBudget

    def blas() -> list[int]:
        return [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]

    before, budget = blas(), _BlasBudget()
    solve, frame = budget(1), budget(1)
    solve.__enter__()
    frame.__enter__()
    solve.__exit__(None, None, None)  # the solve ends first: the frame still runs capped
    assert blas() == [1] * len(before)
    frame.__exit__(None, None, None)
    assert blas() == before


@pytest.mark.parametrize("ending", ["close", "reset"])
def test_a_solve_failing_after_the_last_frame_is_not_lost(ending, monkeypatch):
    from streamseg.errors import TrainerError
    from streamseg.segmenters.rpca import RPCA

    def broken(self, frames, stamps, generation):
        raise FloatingPointError("no convergence")

    monkeypatch.setattr(RPCA, "_solve_window", broken)
    scene = SyntheticScene(width=64, height=48, frames=4, seed=1)
    seg = ss.create("rpca", area=32 * 24, window=4, stride=1, mode="async")
    for t in range(2):  # the second frame starts a solve on its thread
        seg.apply(scene.render(t)[0])
    with pytest.raises(TrainerError, match="no convergence"):
        getattr(seg, ending)()
    seg.close()  # idempotent, and the error was reported once


def test_an_async_script_that_never_closes_exits_cleanly():
    # A window solve is in flight when the script ends: it must not outlive the interpreter.
    code = """
import streamseg as ss
from streamseg.sources.synthetic import SyntheticScene

scene = SyntheticScene(width=320, height=240, frames=40, seed=3)
seg = ss.create("rpca", mode="async", stride=1, window=8, refresh_every=1)
for t in range(40):
    seg.apply(scene.render(t)[0])
assert seg._solver is not None
"""
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=600, check=False
    )
    assert (done.returncode, done.stderr) == (0, "")


def test_blas_threads_are_bounded():
    message = rf"^rpca: blas_threads must be in 0\.\.{MAX_THREADS}, got 1000 "
    with pytest.raises(ss.ConfigError, match=message):
        ss.create("rpca", blas_threads=1000)
