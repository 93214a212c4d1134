"""What every flow shares: dequantization, the bound as ``log_prob``, the loss and one-pass sampling.

A subclass is a bijection ``encode(v) -> (z, log|det dz/dv|)`` with its exact inverse ``decode(z)``
and a prior on z (``prior_log_prob``, ``prior_sample``). Here it becomes a model of integer images:

* the continuous variable is v = (x + u) / levels - 1/2 in [-1/2, 1/2)^D (Glow's convention), with
  u the dequantization noise of :mod:`zoo_flow.dequantization`; the change of variables from x + u to v
  costs D log(levels) nats, so that log p(x + u) = log p_v(v) - D log(levels);
* ``log_prob(x)`` is the importance-weighted dequantization bound with k draws (``eval_samples``), a
  lower bound on log P(x) that tightens as k grows, and ``nll_estimator`` says so ("uniform
  dequantization k=16"), so every figure prints as an upper bound on the NLL;
* ``loss(x)`` is minus the one-draw bound (k = 1), mean nats per image: what Glow and NICE train on;
* ``sample`` draws z at a temperature (z ~ prior with its noise scaled by T) and decodes it in one
  inverse pass; the image is floor(levels * (v + 1/2)), clamped to 0..levels-1.
"""

from __future__ import annotations

import abc
import math
from typing import ClassVar, Literal

import torch
from pydantic import Field

import zoo
from zoo.bounds import draws, importance_weighted
from zoo.sampling import check_count, check_temperature

from .dequantization import UniformDequantizer, VariationalDequantizer

__all__ = ["FlowConfig", "Flow"]


class FlowConfig(zoo.ModelConfig):
    """Settings of the dequantization and the bound, shared by every flow."""

    dequantization: Literal["uniform", "variational"] = Field(
        "uniform", description="noise q(u|x) that turns levels into reals: uniform, or a learned conditional one"
    )
    dequantizer_hidden: int = Field(32, ge=1, le=4096, description="dequantization=variational: its conv net's width")
    eval_samples: int = Field(
        16, ge=1, le=100_000, description="k: dequantization draws per image of the bound that log_prob returns"
    )


class Flow(zoo.Model):
    """Base of the flows: ``log_prob`` is a dequantization lower bound in nats, not the exact likelihood."""

    config_class: ClassVar[type[FlowConfig]] = FlowConfig

    def __init__(self, config: FlowConfig):
        super().__init__(config)
        if config.dequantization == "variational":
            self.dequantizer = VariationalDequantizer(config.channels, config.dequantizer_hidden)
        else:
            self.dequantizer = UniformDequantizer()

    # -- the bijection and the prior, per subclass ----------------------------
    @abc.abstractmethod
    def encode(self, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(z, logdet)``: latents ``(B, D)`` of continuous images ``v`` ``(B, C, H, W)``; log|det dz/dv| ``(B,)``."""

    @abc.abstractmethod
    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """The exact inverse of :meth:`encode`: continuous images ``(B, C, H, W)`` of latents ``(B, D)``."""

    @abc.abstractmethod
    def prior_log_prob(self, z: torch.Tensor) -> torch.Tensor:
        """log p(z) ``(B,)`` in nats of latents ``(B, D)``."""

    @abc.abstractmethod
    def prior_sample(self, n: int, temperature: float, generator: torch.Generator | None) -> torch.Tensor:
        """``(n, D)`` latents from the prior, its noise scaled by ``temperature``."""

    # -- densities and bounds --------------------------------------------------
    def log_density(self, v: torch.Tensor) -> torch.Tensor:
        """log p_v(v) ``(B,)`` in nats: the flow's exact density of continuous images, by change of variables."""
        z, logdet = self.encode(v)
        return self.prior_log_prob(z) + logdet

    def dequantized_bound(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """One draw of log p(x + u) - log q(u | x) ``(B,)`` in nats for checked int images ``x``."""
        levels = self.config.levels
        scaled = self.scale(x)
        u, log_q = self.dequantizer(x, scaled, generator)
        v = (x.to(scaled.dtype) + u) / levels - 0.5
        return self.log_density(v) - self.config.dims * math.log(levels) - log_q

    @classmethod
    def nll_estimator(cls, config: FlowConfig) -> str:
        """``log_prob`` is the importance-weighted dequantization bound with ``eval_samples`` draws."""
        return f"{config.dequantization} dequantization k={config.eval_samples}"

    def loss(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """Minus the one-draw dequantization bound, mean nats per image. Flows here are unconditional."""
        x = self.check_images(x)
        self.check_labels(labels, len(x))
        return -self.dequantized_bound(x).mean()

    @torch.no_grad()
    def log_prob(
        self,
        x: torch.Tensor,
        k: int | None = None,
        generator: torch.Generator | None = None,
        labels: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Lower bound on log P(x) ``(B,)`` in nats: log (1/k) sum_i p(x + u_i) / q(u_i | x), k draws u_i ~ q.

        A random estimate (pass ``generator`` for a reproducible one) whose expectation is at most log P(x)
        for every k, and exp of which is an unbiased estimate of P(x). The k draws run one batch at a time.
        """
        x = self.check_images(x)
        self.check_labels(labels, len(x))
        k = draws(k, self.config.eval_samples, "dequantization draws")

        def log_weights(m: int) -> torch.Tensor:  # one batch-sized pass per draw, averaged in float64
            return torch.stack([self.dequantized_bound(x, generator).double() for _ in range(m)])

        bound = importance_weighted(log_weights, k, per_pass=k)
        return bound.to(torch.promote_types(self.dtype, torch.float32))

    # -- generation --------------------------------------------------------------
    @torch.no_grad()
    def sample(
        self,
        n: int,
        generator: torch.Generator | None = None,
        temperature: float = 1.0,
        labels: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """``n`` int64 images: z from the prior at ``temperature`` (its noise times T), one inverse pass, then
        each value's level, floor(levels * (v + 1/2)) clamped to 0..levels-1."""
        check_count(n)
        check_temperature(temperature)
        self.check_labels(labels, n)
        v = self.decode(self.prior_sample(n, temperature, generator))
        levels = self.config.levels
        return torch.floor((v.float() + 0.5) * levels).clamp_(0, levels - 1).long()
