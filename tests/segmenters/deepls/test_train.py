from __future__ import annotations

import math

import numpy as np
import pytest

from streamseg.segmenters.deepls.config import ModelConfig, TrainConfig
from streamseg.segmenters.deepls.train import (
    NEW_LEVEL_AFTER,
    Trainer,
    rpca_gap,
    sample_indices,
    train_frames,
)
from streamseg.segmenters.preprocess import to_processing
from streamseg.sources.synthetic import SyntheticScene


def synthetic_frames(n: int = 24, size=(36, 48)) -> np.ndarray:
    scene = SyntheticScene(width=96, height=72, frames=n, seed=5)
    return np.stack([to_processing(scene.render(t)[0], size, False) for t in range(n)])


def test_sample_indices_spread_over_the_clip():
    assert sample_indices(5, 10).tolist() == [0, 1, 2, 3, 4]
    idx = sample_indices(100, 5)
    assert idx.tolist() == [0, 25, 50, 74, 99]


@pytest.mark.parametrize("family", ["unet", "slnet"])
def test_loss_decreases_on_the_synthetic_scene(family):
    frames = synthetic_frames()
    trainer, report = train_frames(
        frames,
        ModelConfig(family=family, width=8),
        TrainConfig(frames=12, steps=40, lr=3e-3),
    )
    first = np.mean([loss for _, loss in report.history[:1]])
    assert report.steps == 40 and report.rollbacks == 0
    assert trainer.last_loss < 0.8 * first


def test_same_seed_same_weights():
    frames = synthetic_frames(12)
    a, _ = train_frames(frames, ModelConfig(width=4), TrainConfig(frames=6, steps=5), seed=3)
    b, _ = train_frames(frames, ModelConfig(width=4), TrainConfig(frames=6, steps=5), seed=3)
    for (ka, va), (_, vb) in zip(
        a.model.state_dict().items(), b.model.state_dict().items(), strict=True
    ):
        assert (va == vb).all(), ka


def test_nan_batch_is_rolled_back_and_counted():
    frames = synthetic_frames(8)
    trainer = Trainer(ModelConfig(width=4), TrainConfig(), seed=0)
    trainer.step(frames)
    before = {k: v.clone() for k, v in trainer.model.state_dict().items()}
    bad = frames.copy()
    bad[2, 5, 5] = np.nan
    assert math.isnan(trainer.step(bad))
    assert trainer.rollbacks == 1
    after = trainer.model.state_dict()
    assert all((before[k] == after[k]).all() for k in before)
    assert math.isfinite(trainer.step(frames))


def test_exploding_loss_is_rolled_back():
    frames = synthetic_frames(8)
    trainer = Trainer(ModelConfig(width=4), TrainConfig(explode=2.0), seed=0)
    for _ in range(3):
        trainer.step(frames)
    assert math.isnan(trainer.step(frames * 1e4))
    assert trainer.rollbacks == 1


def test_a_lasting_new_loss_level_is_accepted():
    # The scene changes for good and its loss stays far above the running mean (a
    # stream that starts on black, a lens cap removed): after NEW_LEVEL_AFTER - 1
    # refusals on the restored weights, training goes on at the new level.
    frames = synthetic_frames(8)
    trainer = Trainer(ModelConfig(width=4), TrainConfig(explode=2.0), seed=0)
    for _ in range(3):
        trainer.step(frames)
    losses = [trainer.step(frames * 1e4) for _ in range(NEW_LEVEL_AFTER + 3)]
    assert all(math.isnan(v) for v in losses[: NEW_LEVEL_AFTER - 1])
    assert all(math.isfinite(v) for v in losses[NEW_LEVEL_AFTER - 1 :])
    assert trainer.rollbacks == NEW_LEVEL_AFTER - 1 and trainer.steps == 3 + 4


def test_eval_model_waits_for_a_step_in_progress(monkeypatch):
    import threading

    frames = synthetic_frames(8)
    trainer = Trainer(ModelConfig(width=4), TrainConfig(), seed=0)
    inside, release = threading.Event(), threading.Event()
    real = Trainer._step

    def slow_step(self, *args):
        inside.set()
        release.wait(5)
        return real(self, *args)

    monkeypatch.setattr(Trainer, "_step", slow_step)
    stepper = threading.Thread(target=trainer.step, args=(frames,))
    stepper.start()
    assert inside.wait(5)  # a step is running on the "trainer thread"
    copies = []
    for read in (trainer.eval_model, trainer.checkpoint_state):
        reader = threading.Thread(target=lambda read=read: copies.append(read()))
        reader.start()
        reader.join(0.2)
        assert reader.is_alive()  # waits for the step
        copies.append(reader)
    release.set()
    stepper.join(5)
    for item in copies:
        if isinstance(item, threading.Thread):
            item.join(5)
    state, optimizer, steps = next(c for c in copies if isinstance(c, tuple))
    assert steps == 1 == trainer.steps and optimizer["state"]


def test_explosions_count_only_in_a_row():
    frames = synthetic_frames(8)
    trainer = Trainer(ModelConfig(width=4), TrainConfig(explode=2.0), seed=0)
    for _ in range(3):
        trainer.step(frames)
    bad = frames.copy()
    bad[0, 0, 0] = np.nan
    for _ in range(3):  # exploding steps, each broken by a refused batch
        assert math.isnan(trainer.step(frames * 1e4))
        assert math.isnan(trainer.step(bad))
    assert trainer.steps == 3


def test_rpca_gap_reports_the_objective_ratio():
    frames = synthetic_frames(12)
    trainer, report = train_frames(frames, ModelConfig(width=4), TrainConfig(frames=12, steps=5))
    rpca_gap(trainer, frames, report)
    assert report.objective_rpca > 0 and report.rpca_ratio >= 0.99
