"""The DeepLS model families (torch): a U-Net that outputs ``S`` and SLNet that outputs ``L``.

* :class:`UNet` (DeepLS, Takeda et al., DICTA 2022): one frame ``d`` in, the signed
  sparse foreground ``S = f(d)`` out (a 1×1 convolution, no activation), so the
  background is ``L = d − S``. Encoder widths ``c, 2c, 4c, ...`` with ``depth``
  poolings; the input is padded (replicate) to a multiple of ``2**depth`` and the
  output cropped back, so any frame size works and the ONNX export keeps dynamic
  height and width.
* :class:`SLNet` (the STORM-microscopy sparse/low-rank net): a short stack of
  ``stack`` frames in (as channels), its low-rank part out; ``S = x − L`` for the
  newest frame (signed), or ``ReLU(x − L)`` with ``relu_sparse``. A much cheaper
  family trained by the same loss on stacks.

This module imports torch: import it lazily (``streamseg --help`` must not pay for it).

Example:
    >>> import torch
    >>> from streamseg.segmenters.deepls.config import ModelConfig
    >>> from streamseg.segmenters.deepls.model import build_model
    >>> config = ModelConfig(width=4)  # the frame, then the window's median and MAD
    >>> net = build_model(config).eval()
    >>> net(torch.zeros(1, config.in_channels, 30, 41)).shape
    torch.Size([1, 1, 30, 41])
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from streamseg.segmenters.deepls.config import ModelConfig

__all__ = ["UNet", "SLNet", "build_model", "model_from_checkpoint"]


def _norm(kind: str, channels: int) -> nn.Module:
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    if kind == "group":
        # Groups of 4 channels (Wu & He 2018 found GroupNorm insensitive to the group size).
        return nn.GroupNorm(max(1, channels // 4), channels)
    return nn.Identity()


class _Block(nn.Sequential):
    """Two 3×3 convolutions, each followed by normalisation and ReLU."""

    def __init__(self, cin: int, cout: int, norm: str) -> None:
        bias = norm == "none"
        super().__init__(
            nn.Conv2d(cin, cout, 3, padding=1, bias=bias),
            _norm(norm, cout),
            nn.ReLU(inplace=True),
            nn.Conv2d(cout, cout, 3, padding=1, bias=bias),
            _norm(norm, cout),
            nn.ReLU(inplace=True),
        )


class UNet(nn.Module):
    """DeepLS's U-Net: ``(B, C, H, W)`` frames in [0, 1] → signed ``S`` ``(B, C_out, H, W)``."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        c, depth = config.width, config.depth
        widths = [c * 2**i for i in range(depth + 1)]
        cin = config.in_channels
        self.encoders = nn.ModuleList(
            _Block(cin if i == 0 else widths[i - 1], widths[i], config.norm)
            for i in range(depth + 1)
        )
        self.decoders = nn.ModuleList(
            _Block(widths[i] + widths[i - 1], widths[i - 1], config.norm)
            for i in range(depth, 0, -1)
        )
        self.head = nn.Conv2d(c, config.frame_channels, 1)  # a signed residual per channel

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2], x.shape[-1]
        m = self.config.multiple
        # Always padded (maybe by zero): a branch on the size would be frozen by ONNX tracing.
        x = F.pad(x, (0, (m - w % m) % m, 0, (m - h % m) % m), mode="replicate")
        skips = []
        for i, enc in enumerate(self.encoders):
            if i:
                x = F.max_pool2d(x, 2)
            x = enc(x)
            skips.append(x)
        for dec, skip in zip(self.decoders, reversed(skips[:-1]), strict=True):
            x = F.interpolate(x, size=skip.shape[-2:], mode="bilinear", align_corners=False)
            x = dec(torch.cat([x, skip], dim=1))
        return self.head(x)[..., :h, :w]


class SLNet(nn.Module):
    """SLNet: a stack of ``T`` frames ``(B, T, H, W)`` → their low-rank part, same shape."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        t, c = config.in_channels, config.width
        layers: list[nn.Module] = [nn.Conv2d(t, c, 3, padding=1), nn.ReLU(inplace=True)]
        for _ in range(max(0, config.depth - 1)):
            layers += [nn.Conv2d(c, c, 3, padding=1), nn.ReLU(inplace=True)]
        layers.append(nn.Conv2d(c, t, 1))
        self.body = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # A residual parametrisation: the net learns the correction from the stack to L.
        return x - self.body(x)


def build_model(config: ModelConfig) -> nn.Module:
    """A fresh, randomly initialised model of ``config``."""
    return UNet(config) if config.family == "unet" else SLNet(config)


def model_from_checkpoint(ckpt: Any, origin: str) -> tuple[ModelConfig, nn.Module]:
    """The architecture and the model (eval mode) of a loaded checkpoint.

    Raises:
        ModelError: an unknown architecture, or weights that do not fit it.
    """
    from streamseg.errors import ConfigError, ModelError

    try:
        net = ModelConfig(**ckpt.model)
    except (TypeError, ConfigError) as err:
        raise ModelError(f"{origin}: unknown architecture ({err})") from None
    model = build_model(net)
    try:
        model.load_state_dict(ckpt.state)
    except RuntimeError as err:
        first = str(err).splitlines()[0]
        raise ModelError(
            f"{origin}: weights do not fit the stored architecture ({first})"
        ) from None
    return net, model.eval()
