from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import torch

from streamseg.errors import ModelError
from streamseg.segmenters.deepls.checkpoint import Checkpoint, load_checkpoint, save_checkpoint
from streamseg.segmenters.deepls.config import ModelConfig
from streamseg.segmenters.deepls.model import build_model
from streamseg.segmenters.masking import MaskRule


def make(tmp_path: Path) -> tuple[Path, dict]:
    net = ModelConfig(width=4)
    state = build_model(net).state_dict()
    path = save_checkpoint(
        Checkpoint(dataclasses.asdict(net), (24, 32), MaskRule(k=5), state, {"steps": 7}),
        tmp_path / "m.pt",
    )
    return path, state


def test_round_trip(tmp_path: Path):
    path, state = make(tmp_path)
    ckpt = load_checkpoint(path)
    assert ckpt.size == (24, 32) and ckpt.mask.k == 5 and ckpt.meta["steps"] == 7
    model = build_model(ModelConfig(**ckpt.model))
    model.load_state_dict(ckpt.state)
    assert all(torch.equal(ckpt.state[k], state[k]) for k in state)
    assert not list(tmp_path.glob(".*.tmp"))


@pytest.mark.parametrize(
    ("content", "match"),
    [
        (b"", "not a readable streamseg checkpoint"),
        (b"hello world" * 10, "not a readable streamseg checkpoint"),
    ],
)
def test_bad_files(tmp_path: Path, content, match):
    path = tmp_path / "bad.pt"
    path.write_bytes(content)
    with pytest.raises(ModelError, match=match):
        load_checkpoint(path)


def test_truncated_foreign_and_missing(tmp_path: Path):
    path, _ = make(tmp_path)
    cut = tmp_path / "cut.pt"
    cut.write_bytes(path.read_bytes()[:2000])
    with pytest.raises(ModelError, match="truncated"):
        load_checkpoint(cut)
    foreign = tmp_path / "foreign.pt"
    torch.save({"weights": torch.zeros(3)}, foreign)
    with pytest.raises(ModelError, match="not a streamseg DeepLS checkpoint"):
        load_checkpoint(foreign)
    with pytest.raises(ModelError, match="no such model file"):
        load_checkpoint(tmp_path / "none.pt")
