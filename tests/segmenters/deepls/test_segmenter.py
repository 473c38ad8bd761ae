from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import cv2
import numpy as np
import pytest

import streamseg as ss
from streamseg.errors import ConfigError, ModelError
from streamseg.segmenters.base import MAX_THREADS
from streamseg.segmenters.deepls.testing import tiny_checkpoint
from streamseg.sources.synthetic import SyntheticScene


def test_onnx_and_torch_backends_agree():
    scene = SyntheticScene(width=64, height=48, frames=10, seed=1)
    path = str(tiny_checkpoint("unet"))
    with (
        ss.create("deepls", weights=path) as onnx,
        ss.create("deepls", weights=path, backend="torch") as eager,
    ):
        total = same = 0
        for t in range(10):
            image = scene.render(t)[0]
            a, b = onnx.apply(image), eager.apply(image)
            total += a.size
            same += int((a == b).sum())
            sa, sb = onnx.score_one(image), eager.score_one(image)
            assert np.abs(sa - sb).max() < 1e-3
    assert same / total >= 0.999


def test_background_comes_with_the_first_frames():
    scene = SyntheticScene(width=64, height=48, frames=3, seed=1)
    with ss.create("deepls", weights=str(tiny_checkpoint("unet"))) as seg:
        assert seg.background() is None
        seg.apply(scene.render(0)[0])  # the first frame only fills the window context
        seg.apply(scene.render(1)[0])
        assert seg.background().shape == (48, 64, 3)


def test_a_model_of_the_other_family_is_refused():
    seg = ss.create("slnet", weights=str(tiny_checkpoint("unet")))
    with pytest.raises(ConfigError, match="use the deepls method"):
        seg.apply(np.zeros((48, 64, 3), np.uint8))


def test_bad_model_file(tmp_path: Path):
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"nope")
    seg = ss.create("deepls", weights=str(bad))
    with pytest.raises(ModelError, match="not a readable ONNX file"):
        seg.apply(np.zeros((48, 64, 3), np.uint8))


ONLINE = {
    "mode": "sync",
    "train_every": 1,
    "window": 8,
    "stride": 1,
    "min_frames": 4,
    "publish_every": 3,
    "net": {"width": 4},
    "start": "random",
    "area": 1200,
    "seed": 7,
}


def run_frames(seg, n: int = 24, seed: int = 3) -> list[np.ndarray]:
    scene = SyntheticScene(width=64, height=48, frames=n, seed=seed)
    return [seg.apply(scene.render(t)[0]) for t in range(n)]


def test_sync_mode_is_reproducible_bit_for_bit():
    with ss.create("deepls", **ONLINE) as a, ss.create("deepls", **ONLINE) as b:
        masks_a, masks_b = run_frames(a), run_frames(b)
        assert a.stats()["model_version"] > 2
    assert all(np.array_equal(x, y) for x, y in zip(masks_a, masks_b, strict=True))


def test_online_counts_steps_and_swaps():
    with ss.create("deepls", **ONLINE) as seg:
        assert not seg.ready
        run_frames(seg)
        stats = seg.stats()
        assert seg.ready
    assert stats["train_steps"] == 24 - 3  # one step per frame once 4 frames are in
    assert stats["swaps"] == stats["model_version"] == 21 // 3


def test_learning_rate_zero_freezes_training():
    scene = SyntheticScene(width=64, height=48, frames=20, seed=3)
    with ss.create("deepls", **ONLINE) as seg:
        for t in range(10):
            seg.apply(scene.render(t)[0])
        steps = seg.stats()["train_steps"]
        for t in range(10, 20):
            seg.apply(scene.render(t)[0], learning_rate=0)
        assert seg.stats()["train_steps"] == steps


def test_learning_rate_one_restarts():
    with ss.create("deepls", **ONLINE) as seg:
        run_frames(seg, 12)
        seg.apply(np.zeros((48, 64, 3), np.uint8), learning_rate=1)
        assert seg.stats()["train_steps"] == 0


def test_async_trainer_swaps_while_frames_flow():
    import time

    params = {**ONLINE, "mode": "async", "publish_every": 2}
    scene = SyntheticScene(width=64, height=48, frames=400, seed=3)
    with ss.create("deepls", **params) as seg:
        deadline = time.monotonic() + 180
        t = 0
        while seg.stats().get("swaps", 0) < 3 and time.monotonic() < deadline:
            seg.apply(scene.render(t % 400)[0])
            t += 1
        stats = seg.stats()
    assert stats["swaps"] >= 3 and stats["train_steps"] >= 6


def test_trainer_failure_surfaces_on_the_callers_thread(monkeypatch):
    import time

    from streamseg.errors import TrainerError
    from streamseg.segmenters.deepls import train

    def broken(self, *args):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(train.Trainer, "step", broken)
    scene = SyntheticScene(width=64, height=48, frames=100, seed=3)
    seg = ss.create("deepls", **{**ONLINE, "mode": "async"})
    with pytest.raises(TrainerError, match="disk on fire"):
        deadline = time.monotonic() + 30
        t = 0
        while time.monotonic() < deadline:
            seg.apply(scene.render(t % 100)[0])
            t += 1
    # A failed trainer stays failed: carrying on would segment with a model that no
    # longer learns, silently. Closing does not report it a second time.
    with pytest.raises(TrainerError, match="disk on fire"):
        seg.apply(scene.render(0)[0])
    seg.close()


@pytest.mark.parametrize("name", ["deepls", "slnet"])
def test_a_sync_trainer_failure_is_a_trainer_error_until_a_restart(name, monkeypatch):
    from streamseg.errors import TrainerError
    from streamseg.segmenters.deepls import train

    step = train.Trainer.step
    armed = [True]

    def broken(self, *args):
        if armed[0]:
            raise RuntimeError("disk on fire")
        return step(self, *args)

    monkeypatch.setattr(train.Trainer, "step", broken)
    scene = SyntheticScene(width=64, height=48, frames=10, seed=3)
    params = {**ONLINE} if name == "deepls" else {**ONLINE, "net": {"family": "slnet"}}
    with ss.create(name, **params) as seg:
        with pytest.raises(TrainerError, match=f"{name}: the online trainer failed"):
            for t in range(10):
                seg.apply(scene.render(t)[0])
        with pytest.raises(TrainerError):
            seg.apply(scene.render(0)[0])
        armed[0] = False
        for t in range(10):  # learning_rate=1 starts the model over
            seg.apply(scene.render(t)[0], 1.0 if t == 0 else -1.0)


def test_close_returns_within_its_timeout():
    import time

    scene = SyntheticScene(width=64, height=48, frames=30, seed=3)
    seg = ss.create("deepls", **{**ONLINE, "mode": "async"})
    for t in range(30):
        seg.apply(scene.render(t)[0])
    t0 = time.monotonic()
    seg.close()
    assert time.monotonic() - t0 < 10
    assert seg._learner is None or not seg._learner.alive
    seg.close()


def test_save_and_resume(tmp_path: Path):
    path = tmp_path / "online.pt"
    with ss.create("deepls", **{**ONLINE, "save": str(path)}) as seg:
        run_frames(seg, 12)
    assert path.exists()
    with ss.create("deepls", **{**ONLINE, "start": str(path)}) as seg:
        masks = run_frames(seg, 4)
        assert seg.ready and masks[0].shape == (48, 64)


def test_resume_goes_on_with_steps_version_and_optimiser(tmp_path: Path):
    from streamseg.segmenters.deepls.checkpoint import load_checkpoint

    path = tmp_path / "online.pt"
    with ss.create("deepls", **{**ONLINE, "save": str(path)}) as seg:
        run_frames(seg, 12)
        before = seg.stats()
    meta = load_checkpoint(path).meta
    assert meta["steps"] == before["train_steps"] > 0 and meta["version"] == before["model_version"]
    assert meta["optimizer"]["state"]  # Adam's moments travel with the weights
    lr = 1e-4  # the configuration's rate wins over the saved one
    with ss.create("deepls", **{**ONLINE, "start": str(path), "train": {"lr": lr}}) as seg:
        run_frames(seg, 1)
        assert seg.stats()["model_version"] == before["model_version"]
        trainer = seg._learner.trainer
        assert trainer.optimizer.state  # Adam's moments loaded before any new step
        assert trainer.optimizer.param_groups[0]["lr"] == lr
        run_frames(seg, 8)
        after = seg.stats()
    assert after["train_steps"] > before["train_steps"]
    assert after["model_version"] > before["model_version"]


def test_async_training_rate_can_be_capped():
    import time

    params = {**ONLINE, "mode": "async", "max_steps_per_s": 5.0}
    scene = SyntheticScene(width=64, height=48, frames=400, seed=3)
    with ss.create("deepls", **params) as seg:
        t0 = time.monotonic()
        t = 0
        while time.monotonic() - t0 < 2.0:
            seg.apply(scene.render(t % 400)[0])
            t += 1
        steps = seg.stats()["train_steps"]
    assert 1 <= steps <= 5 * 2.0 + 2


def test_stopped_object_policy_window_span_and_hold():
    """An object that stops fades after about half the window span; ``hold`` keeps it."""
    scene = SyntheticScene(width=80, height=60, frames=300, seed=3)
    a, b = scene.stop_interval
    # Pixels covered by the stopping object during the whole stop (the others move on).
    region = np.logical_and.reduce([scene.render(t)[1] > 0 for t in range(a, b)])
    window, stride = 16, 2
    recall, learned = {}, {}
    for hold in (0.0, 4.0):  # 4 s = 100 frames, longer than the 75-frame stop
        params = {"window": window, "stride": stride, "hold": hold, "train_every": 4}
        params["fusion"] = "net"  # the network's own policies (the memory keeps it regardless)
        with ss.create("deepls", mode="sync", seed=0, **params) as seg:
            masks = [seg.apply(scene.render(t)[0]) for t in range(a)]
            before = seg._outline._background.astype(int)
            masks += [seg.apply(scene.render(t)[0]) for t in range(a, b)]
            after = seg._outline._background.astype(int)
        recall[hold] = np.array([(m[region] > 0).mean() for m in masks[a:b]])
        # How far the outline's full-size background moved toward the stopped object.
        learned[hold] = float(np.abs(after - before)[region].mean())
    span = window * stride
    for hold, r in recall.items():
        assert r[:4].mean() > 0.4, f"hold={hold}: the object is not detected when it stops"
    assert recall[0.0][span:].max() < 0.1, "without hold it should be background after a span"
    assert recall[4.0][-20:].mean() > 0.8 * recall[4.0][:4].mean(), "hold did not keep it"
    assert learned[0.0] > 10 and learned[4.0] < 0.1 * learned[0.0], learned  # nor the outline


def test_slnet_stack_spans_the_window_stride():
    """SLNet sees frames ``stride`` apart, as in training; consecutive ones would give S ≈ 0."""
    with ss.create("slnet", mode="sync", stride=2, train_every=1000) as seg:
        for v in range(7):
            seg.apply(np.full((48, 64, 3), 20 * v, np.uint8))
        kept = [round(float(h.mean()) * 255 / 20) for h in seg._history]
    assert kept == [2, 4, 6]  # the last stack - 1 = 3 frames of 0, 2, 4, 6


def test_slnet_predict_and_score_leave_the_history_alone():
    with ss.create("slnet", mode="sync", stride=1, train_every=1000) as seg:
        for v in range(3):
            seg.apply(np.full((48, 64, 3), 20 * v, np.uint8))
        before = ([h.copy() for h in seg._history], seg._seen)
        frame = np.full((48, 64, 3), 200, np.uint8)
        seg.predict_one(frame)
        seg.score_one(frame)
        assert seg._seen == before[1]
        assert all((a == b).all() for a, b in zip(seg._history, before[0], strict=True))


def test_frozen_model_restarts_any_number_of_times():
    scene = SyntheticScene(width=64, height=48, frames=6, seed=1)
    with ss.create("deepls", weights=str(tiny_checkpoint("unet"))) as seg:
        for t in range(6):
            assert seg.apply(scene.render(t)[0], 1.0 if t in (2, 4) else -1.0).shape == (48, 64)


def test_a_trainer_failure_after_the_last_frame_fails_close(monkeypatch):
    import time

    from streamseg.errors import TrainerError
    from streamseg.segmenters.deepls import train

    armed = False
    step = train.Trainer.step

    def broken(self, *args):
        if armed:
            raise RuntimeError("disk on fire")
        return step(self, *args)

    monkeypatch.setattr(train.Trainer, "step", broken)
    scene = SyntheticScene(width=64, height=48, frames=10, seed=3)
    seg = ss.create("deepls", **{**ONLINE, "mode": "async"})
    for t in range(10):
        seg.apply(scene.render(t)[0])
    deadline = time.monotonic() + 30
    while seg.stats()["train_steps"] == 0 and time.monotonic() < deadline:
        time.sleep(0.01)  # a step that succeeded first: the statistics must keep it
    armed = True  # the trainer goes on stepping on the window after the last frame
    while seg._learner._worker.error is None and time.monotonic() < deadline:
        time.sleep(0.01)
    with pytest.raises(TrainerError, match="disk on fire"):
        seg.close()
    seg.close()  # idempotent: the error was reported once
    # Closed, it holds no model, optimiser or session; its statistics stay readable.
    assert seg._engine is None and seg._learner is None and seg._window is None
    assert seg.stats()["train_steps"] > 0


def test_slnet_needs_a_window_of_one_stack_before_training():
    from streamseg.errors import ConfigError

    with pytest.raises(ConfigError, match="min_frames=2 is below SLNet's stack of 4"):
        ss.create("slnet", min_frames=2)


def _leaving_object_frames(n: int = 48, leave: int = 30) -> list[np.ndarray]:
    """A dark box stands from the first frame, then walks off to the right from ``leave``."""
    rng = np.random.default_rng(0)
    texture = cv2.GaussianBlur(rng.random((120, 160)).astype(np.float32), (0, 0), 3)
    base = 0.35 + 0.3 * np.linspace(0, 1, 160)[None, :] + 0.5 * (texture - texture.mean())
    frames = []
    for t in range(n):
        img = base.copy()
        x0 = 20 if t < leave else 70 + 3 * (t - leave)
        img[30:90, x0 : x0 + 24] = 0.08
        frames.append(np.clip(img * 255, 0, 255).astype(np.uint8))
    return frames


@pytest.mark.parametrize("ghosts", [0.0, 2.0])
def test_a_ghost_is_dropped(ghosts):
    """Where the box stood is a ghost once it leaves: kept without the policy, gone with it."""
    params = {"mode": "sync", "train_every": 1000, "window": 16, "stride": 1, "ghosts": ghosts}
    params["fusion"] = "net"  # the network's own ghost policy
    old = np.zeros((120, 160), bool)
    old[34:86, 24:40] = True
    with ss.create("deepls", **params) as seg:
        masks = [seg.apply(f) > 0 for f in _leaving_object_frames()]
    ghost_left = [float(m[old].mean()) for m in masks[31:38]]
    walking = [
        float(masks[t][34:86, 74 + 3 * (t - 30) : 90 + 3 * (t - 30)].mean()) for t in range(31, 38)
    ]
    assert min(walking) > 0.3  # the box that walks is found either way
    if ghosts:
        assert max(ghost_left) < 0.05
    else:
        assert min(ghost_left) > 0.5  # the window has not forgotten it yet


def test_the_outline_trims_the_rim_of_the_processing_size_mask():
    """The box walks; at 80×60 its mask overshoots, the full-size outline cuts it back."""
    frames = _leaving_object_frames()
    inside, rim = {}, {}
    for outline in (0.0, 3.0):
        params = {"mode": "sync", "train_every": 1000, "window": 16, "stride": 1, "fusion": "net"}
        with ss.create("deepls", **params, outline=outline) as seg:
            masks = [seg.apply(f) > 0 for f in frames[:-1]]
            score = seg.score_one(frames[-1])  # before apply moves the background toward it
            masks.append(seg.apply(frames[-1]) > 0)
        box = np.zeros((120, 160), bool)
        box[30:90, 70 + 3 * 17 : 94 + 3 * 17] = True  # where it is in the last frame
        inside[outline] = float(masks[-1][box].mean())
        rim[outline] = int(masks[-1][~box].sum())
        # score_one (precision–recall curves) applies the outline too: it agrees with the mask.
        assert ((score > 0.5) == masks[-1]).mean() > 0.99
    assert inside[0.0] > 0.95 and inside[3.0] > 0.95
    assert rim[3.0] < 0.5 * rim[0.0]


def test_colour_frames_through_the_ghost_and_hold_policies():
    params = {**ONLINE, "net": {"width": 4, "colour": True}, "hold": 1.0, "ghosts": 2.0}
    frames = _leaving_object_frames(40)
    with ss.create("deepls", **params) as seg:
        for f in frames:
            assert seg.apply(cv2.cvtColor(f, cv2.COLOR_GRAY2BGR)).shape == (120, 160)


def test_an_offline_checkpoint_as_start_is_not_a_resume():
    path = str(tiny_checkpoint("unet"))  # a streamseg-train checkpoint: no optimiser state
    with ss.create("deepls", **{**ONLINE, "start": path, "net": {"width": 4}}) as seg:
        run_frames(seg, 1)
        assert seg.stats()["model_version"] == 0 and seg._learner.trainer.steps == 0


def test_the_change_floor_is_the_outlines_not_the_masks():
    """``mask.floor`` thresholds the net's |S|; ``change_floor`` the frame's own change."""
    frames = _leaving_object_frames(6)
    params = {"mode": "sync", "train_every": 1000, "window": 4, "stride": 1, "fusion": "net"}
    with ss.create("deepls", **params, change_floor=0.05, mask={"floor": 0.03}) as seg:
        for f in frames:
            seg.apply(f)
        assert seg._outline is not None and seg._outline.floor == 0.05
    with pytest.raises(ConfigError, match="change_floor"):
        ss.create("deepls", change_floor=1.0)


def _isoluminant_object_frames(n: int = 48) -> tuple[list[np.ndarray], np.ndarray]:
    """A box that differs from the background in colour, hardly in grey (7 levels of luma)."""
    rng = np.random.default_rng(0)
    background = np.empty((120, 160, 3), np.float32)
    background[:] = (60, 150, 150)  # BGR; luma 140
    background += rng.normal(0, 6, (120, 160, 1))
    frames = []
    for t in range(n):
        frame = background + rng.normal(0, 2, background.shape)
        x = (5 + 5 * t) % 130
        frame[40:80, x : x + 30] = (200, 120, 181)  # luma 147
        frames.append(np.clip(frame, 0, 255).astype(np.uint8))
    truth = np.zeros((120, 160), bool)
    truth[40:80, x : x + 30] = True
    return frames, truth


@pytest.mark.parametrize(("colour", "found"), [(False, False), (True, True)])
def test_a_colour_model_finds_what_grey_cannot(colour, found, caplog):
    """``net.colour`` starts from its own shipped model and sees a change of colour only."""
    frames, truth = _isoluminant_object_frames()
    params = {"mode": "sync", "train_every": 1000, "fusion": "net"}  # what the network sees
    with ss.create("deepls", **params, net={"colour": colour}) as seg:
        for frame in frames:
            mask = seg.apply(frame)
    assert "random weights" not in caplog.text
    assert bool((mask[truth] > 0).mean() > 0.8) is found
    assert (mask[~truth] > 0).mean() < 0.01


@pytest.mark.parametrize(("paste", "found"), [(1.0, True), (0.0, False)])
def test_a_still_empty_scene_does_not_make_the_net_blind(paste, found):
    # An empty, motionless scene (sensor noise only) gives the loss nothing sparse: its
    # optimum is S = 0, and without pasted objects the net learned to answer 0 to
    # everything, a box the starting model found included (see deepls.augment).
    background = SyntheticScene(width=160, height=120, frames=1, seed=0).render(0)[0]
    rng = np.random.default_rng(0)

    def noisy(image: np.ndarray) -> np.ndarray:
        return np.clip(image + rng.normal(0, 2, image.shape), 0, 255).astype(np.uint8)

    intruder = background.copy()
    intruder[50:90, 60:100] = (40, 40, 200)
    # The network's own mask: the memory around it would find the box regardless.
    with ss.create("deepls", mode="sync", train_every=1, paste=paste, fusion="net") as seg:
        for _ in range(45):
            seg.apply(noisy(background))
        assert seg.stats()["model_version"] >= 1  # fine-tuned on the still scene
        mask = seg.apply(noisy(intruder), learning_rate=0)
    assert ((mask[50:90, 60:100] > 0).mean() > 0.5) == found


# -- the segmenter's lifecycle: start-up, threads, exit -------------------------------------

NEVER_CLOSED = """
import time
import streamseg as ss
from streamseg.sources.synthetic import SyntheticScene

scene = SyntheticScene(width=160, height=120, frames=50, seed=3)
seg = ss.create("deepls"{params})  # the defaults: online, trained on a background thread
deadline = time.monotonic() + 240
t = 0
while seg.stats().get("train_steps", 0) < 2 and time.monotonic() < deadline:
    seg.apply(scene.render(t % 50)[0])  # the trainer is busy when the script ends
    t += 1
assert seg.stats()["train_steps"] >= 2, seg.stats()
{ending}
"""

COLLECTED = """
import gc, threading
trainer = next(t for t in threading.enumerate() if t.name == "streamseg-trainer")
del seg
gc.collect()
trainer.join(60)
assert not trainer.is_alive(), "the trainer outlived its segmenter"
"""


def run_script(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=600, check=False
    )


@pytest.mark.parametrize(
    ("params", "ending"),
    [("", ""), ("", COLLECTED), (f", trainer_threads={MAX_THREADS}", "")],
    ids=["exit", "collected", "most-threads"],
)
def test_a_script_that_never_closes_exits_cleanly(params, ending):
    # OpenCV's users never call close(): whatever the segmenter started must end with it.
    done = run_script(NEVER_CLOSED.format(params=params, ending=ending))
    assert (done.returncode, done.stderr) == (0, "")


@pytest.mark.parametrize(
    ("field", "value"),
    [("trainer_threads", 1000), ("ort_threads", MAX_THREADS + 1), ("trainer_threads", -1)],
)
def test_thread_counts_are_bounded(field, value):
    message = rf"^deepls: {field} must be in 0\.\.{MAX_THREADS}, got {value} "
    with pytest.raises(ConfigError, match=message):
        ss.create("deepls", **{field: value})


def _stall_export(monkeypatch) -> tuple[threading.Event, threading.Event]:
    """The export of the start-up waits for ``go``; ``inside`` says it got there."""
    from streamseg.segmenters.deepls import onnx

    inside, go = threading.Event(), threading.Event()
    real = onnx.OnnxTemplate.__init__

    def stalled(self, *args, **kwargs):
        inside.set()
        assert go.wait(120)
        real(self, *args, **kwargs)

    monkeypatch.setattr(onnx.OnnxTemplate, "__init__", stalled)
    return inside, go


def test_close_during_the_start_up_does_not_wait_for_it(monkeypatch):
    from streamseg.errors import ClosedError

    inside, go = _stall_export(monkeypatch)
    seg = ss.create("deepls", **{**ONLINE, "mode": "async"})
    outcome: list[BaseException] = []

    def first_frame() -> None:
        try:
            seg.apply(np.zeros((48, 64, 3), np.uint8))
        except BaseException as err:
            outcome.append(err)

    caller = threading.Thread(target=first_frame)
    caller.start()
    try:
        assert inside.wait(120)
        seg.close()
        # The frame's call gave up while the export is still held: neither close() nor
        # the call waited for the start-up.
        caller.join(60)
        assert not caller.is_alive() and not go.is_set()
        assert len(outcome) == 1 and isinstance(outcome[0], ClosedError)
        assert "closed while starting" in str(outcome[0])
    finally:
        go.set()
        caller.join(60)
    # The abandoned start-up ends alone and starts no trainer.
    for thread in threading.enumerate():
        if thread.name == "streamseg-start":
            thread.join(120)
            assert not thread.is_alive()
    assert not any(t.name == "streamseg-trainer" for t in threading.enumerate())


def test_open_loads_before_the_first_frame(monkeypatch):
    from streamseg.segmenters.deepls import onnx

    exports = []
    real = onnx.OnnxTemplate.__init__

    def counted(self, *args, **kwargs):
        exports.append(args[2])  # the processing size
        real(self, *args, **kwargs)

    monkeypatch.setattr(onnx.OnnxTemplate, "__init__", counted)
    scene = SyntheticScene(width=64, height=48, frames=4, seed=3)
    with ss.create("deepls", **ONLINE) as seg:
        assert seg.open(width=64, height=48) is seg
        assert len(exports) == 1
        seg.apply(scene.render(0)[0])
        assert len(exports) == 1  # the first frame found everything loaded
    with ss.create("deepls", **ONLINE) as seg:
        seg.open(width=48, height=64)
        seg.apply(scene.render(0)[0])  # not the size it was opened for: loaded again for it
        assert len(exports) == 3 and exports[1] != exports[2]
    with ss.create("deepls", weights=str(tiny_checkpoint("unet"))) as seg:
        assert not seg.ready
        seg.open()  # a frozen model needs no frame size
        assert seg.ready
    with (
        ss.create("deepls", **ONLINE) as seg,
        pytest.raises(ConfigError, match=r"open\(width=W, height=H\)"),
    ):
        seg.open()


def _static_scene(colour: bool) -> tuple[np.ndarray, list[np.ndarray]]:
    """A textured still background and frames of it with noise and a box crossing it."""
    rng = np.random.default_rng(5)
    small = rng.uniform(40, 210, (12, 16, 3)).astype(np.float32)
    background = cv2.resize(small, (160, 120), interpolation=cv2.INTER_CUBIC)
    if not colour:
        background = background.mean(axis=2)
    background = np.clip(background, 0, 255).astype(np.uint8)
    frames = []
    for t in range(40):
        frame = background.astype(np.float32) + rng.normal(0, 2, background.shape)
        if t > 0:  # the box enters after the first frame
            x = 4 * t
            frame[40:70, x : x + 24] = 20
        frames.append(np.clip(frame, 0, 255).astype(np.uint8))
    return background, frames


@pytest.mark.parametrize("colour", [True, False], ids=["colour", "grey"])
@pytest.mark.parametrize("outline", [3.0, 0.0], ids=["outline", "no-outline"])
def test_background_has_the_frames_size_and_colours(colour, outline):
    background, frames = _static_scene(colour)
    with ss.create("deepls", **{**ONLINE, "outline": outline}) as seg:
        for frame in frames:
            seg.apply(frame)
        bg = seg.background()
    assert bg is not None and bg.shape == background.shape and bg.dtype == np.uint8
    error = np.abs(bg.astype(int) - background).mean()
    if outline:  # the full-resolution background: the scene itself
        assert error < 3
    else:  # the net's L at the processing size, upsampled: close, not sharp
        assert error < 40


# -- paced training: reproducible at the speed of the frames -----------------------------------

PACED = {**ONLINE, "mode": "paced", "train_every": 2, "publish_every": 1}


def test_paced_mode_is_reproducible_whatever_the_trainers_speed(monkeypatch):
    """Rounds start and their models swap in at fixed frames: timing cannot change a mask."""
    with ss.create("deepls", **PACED) as a:
        masks_a, versions_a = [], []
        scene = SyntheticScene(width=64, height=48, frames=24, seed=3)
        for t in range(24):
            masks_a.append(a.apply(scene.render(t)[0]))
            versions_a.append(a.stats()["model_version"])
    from streamseg.segmenters.deepls.train import Trainer

    step = Trainer.step
    delays = iter(np.random.default_rng(0).uniform(0, 0.05, 1000))

    def slow_step(self, *args, **kwargs):  # a trainer that is sometimes slow, sometimes not
        import time

        time.sleep(next(delays))
        return step(self, *args, **kwargs)

    monkeypatch.setattr(Trainer, "step", slow_step)
    with ss.create("deepls", **PACED) as b:
        masks_b, versions_b = [], []
        for t in range(24):
            masks_b.append(b.apply(scene.render(t)[0]))
            versions_b.append(b.stats()["model_version"])
    assert versions_a == versions_b and versions_a[-1] >= 3
    assert all(np.array_equal(x, y) for x, y in zip(masks_a, masks_b, strict=True))


def test_auto_mode_is_paced_in_a_library_loop_and_async_on_a_live_run():
    from streamseg.config import MethodSpec, RunConfig
    from streamseg.pipeline import _fit_to_source

    with ss.create("deepls", **{**ONLINE, "mode": "auto", "train_every": 2}) as seg:
        run_frames(seg, 8)
        assert seg._learner.mode == "paced"
    spec = MethodSpec("deepls", ss.registry.method_config("deepls", {}))
    config = RunConfig(methods=(spec,))
    assert _fit_to_source(config, 25.0, live=True).methods[0].config.mode == "async"
    assert _fit_to_source(config, 25.0, live=False).methods[0].config.mode == "auto"


@pytest.mark.parametrize("fusion", ["veto", "soft", "memory", "and", "or", "net"])
def test_every_fusion_segments_the_synthetic_scene(fusion: str):
    scene = SyntheticScene(width=160, height=120, frames=240, seed=0)
    tp = fp = fn = 0
    with ss.create("deepls", mode="sync", train_every=1000, fusion=fusion) as seg:
        for t in range(scene.frames):
            image, truth = scene.render(t)
            mask = seg.apply(image) > 0
            if t >= 100:  # objects in the first frame have left their ghosts by then
                tp += int((mask & (truth > 0)).sum())
                fp += int((mask & (truth == 0)).sum())
                fn += int((~mask & (truth > 0)).sum())
        assert seg.background().shape == image.shape
    assert 2 * tp / (2 * tp + fp + fn) > 0.6


def test_online_steps_train_on_a_batch_of_the_window():
    seen = []
    from streamseg.segmenters.deepls.train import Trainer

    step = Trainer.step

    def spy(self, frames, context=None):
        seen.append(len(frames))
        return step(self, frames, context)

    import unittest.mock

    with unittest.mock.patch.object(Trainer, "step", spy):
        with ss.create("deepls", **{**ONLINE, "batch": 3}) as seg:
            run_frames(seg, 12)
    assert seen and set(seen) == {3}


def test_the_memory_alone_trains_no_network():
    """fusion=memory shows the memory's mask: the network is neither run nor trained."""
    for fusion, trains in (("veto", True), ("memory", False)):
        with ss.create("deepls", mode="sync", train_every=2, fusion=fusion) as seg:
            run_frames(seg, 40)
            assert (seg.stats()["train_steps"] > 0) is trains
