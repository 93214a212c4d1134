"""The invertible layers of the Glow-style flow (Kingma & Dhariwal 2018), each with its exact inverse.

Every layer maps ``x -> (y, logdet)`` with logdet = log|det dy/dx| per image ``(B,)``, and ``inverse(y)``
gives x back. Images are ``(B, C, H, W)`` floats.

* :class:`ActNorm`: per-channel affine y = (x + b) * exp(s), initialised from the data so that the
  first training batch comes out with zero mean and unit variance per channel (see its docstring for
  why the initialisation survives saving, loading, resuming, averaging and several processes);
* :class:`InvConv1x1`: an invertible 1x1 convolution, a C x C matrix W started as a random rotation,
  either LU-decomposed (W = P L (U + diag(sign * exp(log_s))), log|det| = sum log_s, O(C)) or plain
  (log|det| = slogdet(W), O(C^3));
* :class:`AffineCoupling`: the second half of the channels is shifted and scaled by a conv net of
  the first half (scale = sigmoid(raw + 2), as Glow's code), or only shifted (``affine=False``);
* :func:`squeeze` / :func:`unsqueeze`: 2x2 pixels into 4 channels and back (no volume change);
* :class:`SplitPrior`: the multiscale split. Half the channels leave the flow here; Glow models them
  with a Gaussian whose mean and scale a zero-initialised conv reads from the kept half. Written as
  the affine bijection eps = (z - mu) / sigma, which leaves eps standard normal, so that every latent
  of the flow has the prior N(0, I) and sampling is one inverse pass;
* :class:`LearnedPrior`: the same for the last scale, with a learned mean and scale per position.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["ActNorm", "InvConv1x1", "AffineCoupling", "FlowStep", "SplitPrior", "LearnedPrior", "squeeze", "unsqueeze"]


def squeeze(x: torch.Tensor) -> torch.Tensor:
    """``(B, C, H, W) -> (B, 4C, H/2, W/2)``: each 2x2 block of pixels becomes 4 channels."""
    B, C, H, W = x.shape
    x = x.view(B, C, H // 2, 2, W // 2, 2).permute(0, 1, 3, 5, 2, 4)
    return x.reshape(B, 4 * C, H // 2, W // 2)


def unsqueeze(x: torch.Tensor) -> torch.Tensor:
    """The inverse of :func:`squeeze`."""
    B, C4, H, W = x.shape
    C = C4 // 4
    x = x.view(B, C, 2, 2, H, W).permute(0, 1, 4, 2, 5, 3)
    return x.reshape(B, C, 2 * H, 2 * W)


def zero_conv(cin: int, cout: int, kernel: int = 3) -> nn.Conv2d:
    """A conv whose weights and bias start at zero: the layer it ends starts as the identity."""
    conv = nn.Conv2d(cin, cout, kernel, padding=kernel // 2)
    nn.init.zeros_(conv.weight)
    nn.init.zeros_(conv.bias)
    return conv


class ActNorm(nn.Module):
    """y = (x + loc) * exp(log_scale) per channel, initialised from the first training batch.

    The initialisation runs once, on the first forward pass in training mode, and is recorded in
    ``ready``, a parameter (not a buffer, and never trained) so that it travels with the weights:
    a saved, loaded or resumed model is never initialised again, and the weight average of ``ema``
    (which averages parameters only) carries it too. Under torch.distributed the batch statistics
    are averaged over the processes first, so every replica starts from the same weights.
    """

    def __init__(self, channels: int):
        super().__init__()
        self.loc = nn.Parameter(torch.zeros(1, channels, 1, 1))
        self.log_scale = nn.Parameter(torch.zeros(1, channels, 1, 1))
        self.ready = nn.Parameter(torch.zeros(()), requires_grad=False)
        self._known_ready = False  # a host-side copy of ``ready``, so a trained model reads no device value

    def _load_from_state_dict(self, *args, **kwargs):
        self._known_ready = False  # new weights: read ``ready`` again
        super()._load_from_state_dict(*args, **kwargs)

    @torch.no_grad()
    def initialize(self, x: torch.Tensor) -> None:
        """Set loc and log_scale so that ``x`` comes out with zero mean and unit variance per channel."""
        x = x.detach().float().transpose(0, 1).flatten(1)  # (C, B*H*W)
        stats = torch.stack([x.sum(1), x.pow(2).sum(1), torch.full_like(x[:, 0], x.shape[1])])
        if torch.distributed.is_available() and torch.distributed.is_initialized():
            torch.distributed.all_reduce(stats)
        mean = stats[0] / stats[2]
        std = (stats[1] / stats[2] - mean.pow(2)).clamp_min(0).sqrt()
        self.loc.copy_(-mean.view_as(self.loc))
        self.log_scale.copy_(-torch.log(std + 1e-6).view_as(self.log_scale))
        self.ready.fill_(1.0)
        self._known_ready = True

    def _check_ready(self, x: torch.Tensor) -> None:
        if self.training and not self._known_ready:
            self._known_ready = bool(self.ready > 0.5)
            if not self._known_ready:
                self.initialize(x)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        self._check_ready(x)
        logdet = (x.shape[2] * x.shape[3]) * self.log_scale.sum()
        return (x + self.loc) * self.log_scale.exp(), logdet.expand(x.shape[0])

    def inverse(self, y: torch.Tensor) -> torch.Tensor:
        return y * (-self.log_scale).exp() - self.loc


class InvConv1x1(nn.Module):
    """An invertible 1x1 convolution, started as a random rotation (log|det| = 0)."""

    def __init__(self, channels: int, lu: bool = True):
        super().__init__()
        self.lu = lu
        rotation = torch.linalg.qr(torch.randn(channels, channels))[0]
        if lu:
            perm, lower, upper = torch.linalg.lu(rotation)
            diagonal = torch.diagonal(upper)
            self.register_buffer("perm", perm)
            self.register_buffer("sign", torch.sign(diagonal))
            self.lower = nn.Parameter(torch.tril(lower, -1))  # only the strict triangles are used
            self.upper = nn.Parameter(torch.triu(upper, 1))
            self.log_s = nn.Parameter(diagonal.abs().log())
        else:
            self.weight = nn.Parameter(rotation)

    def matrix(self) -> torch.Tensor:
        """W, ``(C, C)``."""
        if not self.lu:
            return self.weight
        eye = torch.eye(self.log_s.shape[0], device=self.log_s.device, dtype=self.log_s.dtype)
        lower = torch.tril(self.lower, -1) + eye
        upper = torch.triu(self.upper, 1) + torch.diag(self.sign * self.log_s.exp())
        return self.perm @ lower @ upper

    def log_abs_det(self) -> torch.Tensor:
        if self.lu:
            return self.log_s.sum()
        w = self.weight
        return torch.linalg.slogdet(w if w.dtype in (torch.float32, torch.float64) else w.float())[1]

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        w = self.matrix()
        logdet = (x.shape[2] * x.shape[3]) * self.log_abs_det()
        return F.conv2d(x, w.view(*w.shape, 1, 1).to(x.dtype)), logdet.expand(x.shape[0])

    def inverse(self, y: torch.Tensor) -> torch.Tensor:
        w = self.matrix()
        inv = torch.linalg.inv(w.double()).to(y.dtype)  # float64: the inverse pass undoes the forward exactly
        return F.conv2d(y, inv.view(*inv.shape, 1, 1))


class AffineCoupling(nn.Module):
    """y_b = (x_b + shift(x_a)) * sigmoid(raw(x_a) + 2), y_a = x_a: a, b the first and second half of the channels."""

    def __init__(self, channels: int, hidden: int, affine: bool = True):
        super().__init__()
        self.split = channels // 2
        rest = channels - self.split
        self.affine = affine
        self.net = nn.Sequential(
            nn.Conv2d(self.split, hidden, 3, padding=1),
            nn.ReLU(),
            nn.Conv2d(hidden, hidden, 1),
            nn.ReLU(),
            zero_conv(hidden, 2 * rest if affine else rest),
        )

    def _shift_and_raw(self, xa: torch.Tensor):
        h = self.net(xa)
        if not self.affine:
            return h, None
        rest = h.shape[1] // 2
        return h[:, :rest], h[:, rest:] + 2.0

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        xa, xb = x[:, : self.split], x[:, self.split :]
        shift, raw = self._shift_and_raw(xa)
        if raw is None:
            return torch.cat([xa, xb + shift], 1), x.new_zeros(x.shape[0])
        yb = (xb + shift) * torch.sigmoid(raw)
        return torch.cat([xa, yb], 1), F.logsigmoid(raw).flatten(1).sum(1)

    def inverse(self, y: torch.Tensor) -> torch.Tensor:
        ya, yb = y[:, : self.split], y[:, self.split :]
        shift, raw = self._shift_and_raw(ya)
        xb = yb - shift if raw is None else yb / torch.sigmoid(raw) - shift
        return torch.cat([ya, xb], 1)


class FlowStep(nn.Module):
    """One step of flow: actnorm, invertible 1x1 convolution, coupling."""

    def __init__(self, channels: int, hidden: int, lu: bool, affine: bool):
        super().__init__()
        self.layers = nn.ModuleList(
            [ActNorm(channels), InvConv1x1(channels, lu), AffineCoupling(channels, hidden, affine)]
        )

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        total = x.new_zeros(x.shape[0])
        for layer in self.layers:
            x, logdet = layer(x)
            total = total + logdet
        return x, total

    def inverse(self, y: torch.Tensor) -> torch.Tensor:
        for layer in reversed(self.layers):
            y = layer.inverse(y)
        return y


class SplitPrior(nn.Module):
    """Half the channels leave: eps = (z - mu(kept)) * exp(-log_sigma(kept)), standard normal under the prior."""

    def __init__(self, channels: int):
        super().__init__()
        self.keep = channels - channels // 2
        self.net = zero_conv(self.keep, 2 * (channels // 2))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(kept, eps, logdet)``."""
        kept, z = x[:, : self.keep], x[:, self.keep :]
        mu, log_sigma = self.net(kept).chunk(2, 1)
        return kept, (z - mu) * (-log_sigma).exp(), -log_sigma.flatten(1).sum(1)

    def inverse(self, kept: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
        mu, log_sigma = self.net(kept).chunk(2, 1)
        return torch.cat([kept, mu + log_sigma.exp() * eps], 1)


class LearnedPrior(nn.Module):
    """The last scale's Gaussian, a learned mean and scale per channel and position (zero: N(0, I))."""

    def __init__(self, shape: tuple[int, int, int]):
        super().__init__()
        self.mu = nn.Parameter(torch.zeros(1, *shape))
        self.log_sigma = nn.Parameter(torch.zeros(1, *shape))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        logdet = -self.log_sigma.sum()
        return (x - self.mu) * (-self.log_sigma).exp(), logdet.expand(x.shape[0])

    def inverse(self, eps: torch.Tensor) -> torch.Tensor:
        return self.mu + self.log_sigma.exp() * eps
