from __future__ import annotations

import pytest
import torch

from streamseg.errors import ConfigError
from streamseg.segmenters.deepls.config import ModelConfig
from streamseg.segmenters.deepls.model import build_model


@pytest.mark.parametrize("norm", ["group", "batch", "none"])
@pytest.mark.parametrize(("h", "w"), [(60, 80), (61, 83), (7, 9)])
def test_unet_any_size_signed_output(norm, h, w):
    config = ModelConfig(width=4, norm=norm)
    net = build_model(config).eval()
    out = net(torch.rand(2, config.in_channels, h, w))
    assert out.shape == (2, 1, h, w)


def test_colour_depth_and_context_channels():
    config = ModelConfig(width=4, depth=3, colour=True)
    assert config.in_channels == 3 + 6  # the frame, then the window's median and MAD
    net = build_model(config).eval()
    assert net(torch.rand(1, 9, 40, 48)).shape == (1, 3, 40, 48)  # S per channel
    assert ModelConfig(context="none").in_channels == 1
    assert ModelConfig(context="median").in_channels == 2
    assert ModelConfig(family="slnet", stack=5).in_channels == 5  # SLNet ignores context


def test_slnet_outputs_the_stack():
    net = build_model(ModelConfig(family="slnet", width=8, stack=5))
    assert net(torch.rand(2, 5, 20, 30)).shape == (2, 5, 20, 30)


@pytest.mark.parametrize(
    "kwargs", [{"width": 0}, {"depth": 0}, {"depth": 9}, {"stack": 1}, {"norm": "layer"}]
)
def test_bad_architecture(kwargs):
    from streamseg.params import build

    with pytest.raises(ConfigError):
        build(ModelConfig, kwargs)
