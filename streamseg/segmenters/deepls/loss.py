"""The low-rank + sparse loss of DeepLS: RPCA's objective as a training loss.

On a batch ``D`` of N frames (an N×P matrix, one flattened frame per row) and the
net's sparse part ``S = f(D)``:

    loss = (||D − S||_* + λ·||S||_1) / (N·sqrt(P)) + μ·TV_aniso(S)

with λ = ``lam_scale``/sqrt(P), RPCA's weight (Candès et al. 2009; P ≥ N here).
Dividing by N·sqrt(P) makes the L1 term ``lam_scale · mean|S|`` and the nuclear
term of a rank-one background ``≈ rms(D)/sqrt(N)``, so the defaults keep their
meaning across resolutions and batch sizes. The anisotropic total variation is
the mean absolute difference of neighbouring pixels of ``S`` (optional, as in
the DeepLS cell demo and ADMM DIP-TV).

The nuclear norm is computed from the N×N Gram matrix: its eigenvalues are the
squared singular values, so ``||L||_* = Σ sqrt(eig(L Lᵀ))``. ``eigvalsh`` on N×N
is ~10× faster than ``svdvals`` on N×P. The eigenvalues are clamped *before* the
square root: a rank-deficient batch has zero eigenvalues, where the gradient of
sqrt is infinite.

Example:
    >>> import torch
    >>> from streamseg.segmenters.deepls.loss import nuclear_norm
    >>> m = torch.randn(6, 50, dtype=torch.float64)
    >>> bool(torch.allclose(nuclear_norm(m), torch.linalg.svdvals(m).sum()))
    True
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

__all__ = ["nuclear_norm", "tv_aniso", "LossTerms", "lowrank_sparse_loss"]


def nuclear_norm(m: torch.Tensor, rel_eps: float = 1e-10) -> torch.Tensor:
    """``||m||_*`` of an ``N × P`` matrix (N ≤ P) from its Gram matrix, in float64.

    Eigenvalues below ``rel_eps`` times the largest are clamped (their share of
    the norm is below 1e-5 of the top singular value), which keeps gradients finite.
    """
    # float64 before the product: in float32 the Gram matrix of a rank-deficient batch has
    # rounding-level eigenvalues (~1e-3 for 80×60 frames) whose roots bias the norm.
    md = m.double()
    gram = md @ md.transpose(0, 1)
    eig = torch.linalg.eigvalsh(gram)
    floor = (eig[-1].detach().clamp(min=1e-30) * rel_eps).item()
    return eig.clamp(min=floor).sqrt().sum().to(m.dtype)


def tv_aniso(s: torch.Tensor) -> torch.Tensor:
    """Anisotropic total variation of ``(B, C, H, W)``: mean |vertical| + mean |horizontal| step."""
    return (s[..., 1:, :] - s[..., :-1, :]).abs().mean() + (
        s[..., :, 1:] - s[..., :, :-1]
    ).abs().mean()


@dataclass(frozen=True)
class LossTerms:
    """The loss and its parts (unnormalised) for logging and the RPCA comparison."""

    loss: torch.Tensor
    nuclear: float
    l1: float
    lam: float

    @property
    def objective(self) -> float:
        """RPCA's objective ``||L||_* + λ||S||_1`` of this batch (comparable to :func:`pcp`)."""
        return self.nuclear + self.lam * self.l1


def lowrank_sparse_loss(
    d: torch.Tensor, s: torch.Tensor, lam_scale: float = 1.0, tv: float = 0.0
) -> LossTerms:
    """The DeepLS loss of batch ``d`` ``(N, C, H, W)`` and its sparse part ``s`` (same shape)."""
    n = d.shape[0]
    p = d[0].numel()
    lam = lam_scale / math.sqrt(p)
    nuc = nuclear_norm((d - s).reshape(n, -1))
    l1 = s.abs().sum()
    loss = (nuc + lam * l1) / (n * math.sqrt(p))
    if tv > 0:
        loss = loss + tv * tv_aniso(s)
    return LossTerms(loss, float(nuc.detach()), float(l1.detach()), lam)
