"""SLNet for STORM stacks in torch: the net and its two losses (imported lazily).

The net follows the STORM background-removal SLNet (Valera, Page Vizcaíno et al.): a
stack of ``nT`` frames ``(B, nT, H, W)`` in, through two convolutions without bias (1×1
in the paper: each pixel's ``nT`` values are mixed, nothing spatial), with a ReLU at
the output: the stack's low-rank part ``L``, same shape; ``S = ReLU(x − L)``. Weights
start as the paper's: Kaiming-uniform, made non-negative and scaled by ``init_gain``,
so the first ``L`` is a positive blend of the stack's frames.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["StormSLNet", "lowrank_loss", "paper_loss", "stack_singular_values"]


class StormSLNet(nn.Module):
    """``(B, nT, H, W)`` → the low-rank part ``L`` (same shape, ≥ 0)."""

    def __init__(
        self,
        frames: int,
        hidden: int,
        kernel: int = 1,
        hidden_relu: bool = False,
        init_gain: float = 0.5,
    ) -> None:
        super().__init__()
        pad = kernel // 2
        self.conv1 = nn.Conv2d(
            frames, hidden, kernel, padding=pad, bias=False, padding_mode="replicate"
        )
        self.conv2 = nn.Conv2d(
            hidden, frames, kernel, padding=pad, bias=False, padding_mode="replicate"
        )
        self.hidden_relu = hidden_relu
        for conv in (self.conv1, self.conv2):
            nn.init.kaiming_uniform_(conv.weight, a=math.sqrt(2))
            with torch.no_grad():
                conv.weight.abs_().mul_(init_gain)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.conv1(x)
        if self.hidden_relu:
            h = F.relu(h)
        return F.relu(self.conv2(h))


def stack_singular_values(low: torch.Tensor) -> torch.Tensor:
    """The singular values ``(B, nT)`` (ascending) of each item's ``nT × P`` matrix.

    From the ``nT × nT`` Gram matrices in float64, as
    :func:`~streamseg.segmenters.deepls.loss.nuclear_norm` computes them (exact, and far
    cheaper than an SVD of ``nT × P``); eigenvalues are clamped before the root, where
    its gradient is infinite.
    """
    b, t = low.shape[:2]
    m = low.reshape(b, t, -1).double()
    eig = torch.linalg.eigvalsh(m @ m.transpose(1, 2))
    floor = eig[:, -1:].detach().clamp(min=1e-30) * 1e-10
    return torch.maximum(eig, floor).sqrt().to(low.dtype)


def lowrank_loss(x: torch.Tensor, low: torch.Tensor, rank: int, lam: float) -> torch.Tensor:
    """streamseg's low-rank + sparse loss on each stack, for ``S = ReLU(x − L)``.

    ``Σ_{i > rank} σ_i(L) / (nT·sqrt(P)) + lam·mean|S| + mean ReLU(L − x)``: the nuclear
    norm of ``L`` without its ``rank`` largest singular values (a truncated nuclear norm:
    the background's own components are not shrunk, the rest is pushed towards zero),
    RPCA's L1 on the sparse part, and what ``L`` puts above the data (which no
    non-negative ``S`` can explain). Normalised as
    :func:`~streamseg.segmenters.deepls.loss.lowrank_sparse_loss` is.
    """
    b, t = x.shape[:2]
    p = x[0, 0].numel()
    sv = stack_singular_values(low)
    tail = sv[:, : max(0, t - rank)].sum(dim=1).mean()
    sparse = F.relu(x - low)
    return tail / (t * math.sqrt(p)) + lam * sparse.mean() + F.relu(low - x).mean()


def paper_loss(
    x: torch.Tensor, low: torch.Tensor, rank: int, mu: float, alpha: float
) -> torch.Tensor:
    """The loss of the STORM SLNet's code: ``L``'s rank-``rank`` approximation, its singular
    values soft-thresholded by ``mu``, compared with the input in L1; plus ``alpha``
    times the mean sparse part and the mean reconstruction error ``|x − L − S|``."""
    b, t = x.shape[:2]
    m = low.reshape(b, t, -1).transpose(1, 2).float()  # (B, P, nT)
    u, s, vh = torch.linalg.svd(m, full_matrices=False)
    s = F.relu(s[:, :rank] - mu)
    approx = (u[:, :, :rank] * s[:, None, :]) @ vh[:, :rank, :]
    approx = approx.transpose(1, 2).reshape(x.shape)
    sparse = F.relu(x - low)
    return F.l1_loss(approx, x) + alpha * sparse.mean() + (x - low - sparse).abs().mean()
