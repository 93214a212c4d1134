"""``hvae``: a hierarchical VAE with top-down inference, as in the ladder VAE (Sønderby et al. 2016) and
VD-VAE (Child 2021).

The generative model is p(z_L) p(z_{L-1} | z_L) ... p(z_1 | z_>1) p(x | z), each p(z_i | z_>i) a diagonal
Gaussian computed by the top-down path. Inference shares that path: a deterministic bottom-up pass
over x gives one feature map per layer, and q(z_i | z_>i, x) combines it with the top-down state, so
the posterior of every layer is conditioned on the layers above as they were drawn. p(x | z) is a
Bernoulli per pixel for binary images (levels = 2) and a categorical over the levels otherwise.

``loss`` is the negative ELBO with the KL of each layer in closed form (given the z_>i drawn), optionally
with free bits; ``log_prob`` is the importance-weighted bound of Burda et al. with ``eval_samples``
samples, a lower bound on log p(x) like the VAE's.
"""

from __future__ import annotations

import math
from typing import ClassVar

import torch
import torch.nn.functional as F
from pydantic import Field

import zoo
from zoo.bounds import draws, importance_weighted, iwae_estimator
from zoo.layers import logits_from_features
from zoo.sampling import check_count, check_temperature, draw

from .cells import BottomUp, Decoder, TopDownLayer, resolutions
from .gaussians import gaussian_kl, log_normal, log_normal_at_eps, randn

__all__ = ["HVAEConfig", "HVAE"]


class HVAEConfig(zoo.ModelConfig):
    """Sizes of the two paths and of the hierarchy; the bound's k; free bits."""

    loss_settings = ("eval_samples", "free_bits")  # a fine-tune may change these

    hidden: int = Field(32, ge=1, le=4096, description="channels of the bottom-up and top-down paths")
    layers: int = Field(4, ge=1, le=128, description="stochastic layers z_1..z_L of the top-down path")
    latent: int = Field(8, ge=1, le=1024, description="channels of each stochastic layer's latent map")
    downsample: int = Field(
        2, ge=0, le=8, description="stride-2 steps from the image to the latents' resolution (28x28 -> 7x7 at 2)"
    )
    blocks: int = Field(1, ge=0, le=8, description="residual blocks per resolution step, in each direction")
    eval_samples: int = Field(
        50, ge=1, le=1_000_000, description="default k of the importance-weighted bound in log_prob"
    )
    free_bits: float = Field(
        0.0,
        ge=0.0,
        le=1000.0,
        description="nats per stochastic layer (batch mean) below which its KL is not pushed down; 0: the ELBO",
    )


class HVAE(zoo.Model):
    """Hierarchical VAE, top-down inference (ladder VAE / VD-VAE); log_prob is the importance-weighted bound."""

    architecture = "hvae"
    config_class: ClassVar[type[HVAEConfig]] = HVAEConfig
    papers = ("1602.02282", "2011.10650", "1509.00519")  # ladder VAE; VD-VAE; the importance-weighted bound

    def __init__(self, config: HVAEConfig):
        super().__init__(config)
        C, H, W = config.shape
        hidden, L = config.hidden, config.layers
        self.sizes = resolutions(H, W, config.downsample)
        depth = 2 * L + 2 * config.downsample * config.blocks
        scale = 1.0 / math.sqrt(max(depth, 1))
        self.bottom_up = BottomUp(C, hidden, L, config.downsample, config.blocks, scale)
        self.top_down = torch.nn.ModuleList(TopDownLayer(hidden, config.latent, scale) for _ in range(L))
        self.start = torch.nn.Parameter(torch.zeros(1, hidden, *self.sizes[-1]))  # the state above z_L
        self.outputs = 1 if config.levels == 2 else config.levels
        self.decoder = Decoder(hidden, C * self.outputs, self.sizes, config.blocks, scale)

    # -- p(x | z) --------------------------------------------------------------
    def _log_likelihood(self, x: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
        """log p(x | z) in nats per image ``(N,)``, from the decoder's output ``out`` for images ``x``."""
        if self.outputs == 1:
            return -F.binary_cross_entropy_with_logits(out, x.to(out.dtype), reduction="none").flatten(1).sum(1)
        logits = logits_from_features(out, self.config.channels, self.config.levels)
        return logits.log_softmax(1).gather(1, x.unsqueeze(1)).flatten(1).sum(1)

    def _pixel_logits(self, out: torch.Tensor) -> torch.Tensor:
        """``(N * C * H * W, levels)`` logits of every pixel, in the layout of ``x.flatten()``."""
        if self.outputs == 1:
            flat = out.reshape(-1, 1)
            return torch.cat([torch.zeros_like(flat), flat], 1)
        logits = logits_from_features(out, self.config.channels, self.config.levels)
        return logits.movedim(1, -1).reshape(-1, self.config.levels)

    # -- the two passes ----------------------------------------------------------
    def _infer(self, features: list[torch.Tensor], generator=None):
        """One top-down pass with the posterior: ``(state, kl (N, L), log p(z) - log q(z|x) (N,))``.

        ``features`` are the bottom-up maps (shallowest first), one row per image and draw.
        """
        n = features[0].shape[0]
        s = self.start.expand(n, -1, -1, -1)
        kls, log_ratio = [], 0.0
        for i, layer in enumerate(self.top_down):
            mean_p, std_p, feature = layer.prior_of(s)
            mean_q, std_q = layer.posterior_of(s, features[-1 - i])  # z_L sees the deepest feature
            eps = randn(mean_q.shape, mean_q, generator)
            z = mean_q + std_q * eps
            kls.append(gaussian_kl(mean_q, std_q, mean_p, std_p).flatten(1).sum(1))
            log_ratio = log_ratio + (log_normal(z, mean_p, std_p) - log_normal_at_eps(eps, std_q)).flatten(1).sum(1)
            s = layer.merge(s, feature, z)
        return s, torch.stack(kls, 1), log_ratio

    def _generate(self, n: int, generator, temperature: float) -> torch.Tensor:
        """Decoder outputs of ``n`` draws from the prior, each prior's std scaled by ``temperature``."""
        s = self.start.expand(n, -1, -1, -1)
        for layer in self.top_down:
            mean_p, std_p, feature = layer.prior_of(s)
            z = mean_p + temperature * std_p * randn(mean_p.shape, mean_p, generator)
            s = layer.merge(s, feature, z)
        return self.decoder(s)

    # -- the model contract --------------------------------------------------------
    def elbo_terms(self, x: torch.Tensor, generator=None) -> tuple[torch.Tensor, torch.Tensor]:
        """``(log p(x | z) (B,), KL (B, L))`` of one posterior draw per image: ELBO = first - second.sum(1)."""
        x = self.check_images(x)
        features = self.bottom_up(self.scale(x))
        s, kl, _ = self._infer(features, generator)
        return self._log_likelihood(x, self.decoder(s)), kl

    def loss(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """Negative ELBO, mean nats per image (with free bits: each layer's batch-mean KL counts at least
        ``free_bits``). The model is unconditional: ``labels`` must be None."""
        self.check_labels(labels, 0)
        ll, kl = self.elbo_terms(x)
        kl_per_layer = kl.mean(0)
        if self.config.free_bits > 0:
            kl_per_layer = kl_per_layer.clamp(min=self.config.free_bits)
        return -ll.mean() + kl_per_layer.sum()

    @classmethod
    def loss_estimator(cls, config: HVAEConfig) -> str:
        fb = f", free bits {config.free_bits:g} nats per layer" if config.free_bits > 0 else ""
        return f"negative ELBO, one draw{fb}"

    @classmethod
    def nll_estimator(cls, config: HVAEConfig) -> str:
        """``log_prob`` is the importance-weighted bound with ``eval_samples`` samples."""
        return iwae_estimator(config.eval_samples)

    @torch.no_grad()
    def log_prob(
        self,
        x: torch.Tensor,
        k: int | None = None,
        generator: torch.Generator | None = None,
        images_per_pass: int = 2048,
        labels: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Importance-weighted lower bound on log p(x), ``(B,)`` nats, with k samples (config default).

        log (1/k) sum_j p(x, z^j) / q(z^j | x), each z^j drawn through the whole hierarchy: a lower bound
        for every k, tighter as k grows, the ELBO at k = 1. The bottom-up pass runs once; the top-down
        pass runs on up to ``images_per_pass`` (image, draw) pairs at a time, so memory does not grow
        with k. A random estimate: pass ``generator`` for a reproducible number.
        """
        x = self.check_images(x)
        self.check_labels(labels, len(x))
        k = draws(k, self.config.eval_samples)
        if not isinstance(images_per_pass, int) or images_per_pass < 1:
            raise ValueError(f"images_per_pass must be a positive integer, got {images_per_pass!r}")
        B = len(x)
        if B == 0:
            return torch.zeros(0, dtype=self.dtype, device=x.device)
        features = self.bottom_up(self.scale(x))

        def log_weights(m: int) -> torch.Tensor:
            s, _, log_ratio = self._infer([f.repeat(m, 1, 1, 1) for f in features], generator)
            log_w = self._log_likelihood(x.repeat(m, 1, 1, 1), self.decoder(s)) + log_ratio
            return log_w.view(m, B)

        return importance_weighted(log_weights, k, max(1, min(k, images_per_pass // B)))

    @torch.no_grad()
    def metrics(self, x: torch.Tensor, generator: torch.Generator | None = None) -> dict[str, torch.Tensor]:
        """``{"neg_elbo": (B,), "kl": (B,)}``: minus the ELBO (one draw per image) and its KL part, in nats.

        The negative ELBO is an upper bound on the NLL, looser than ``log_prob``'s; the KL says how much
        of it the latents carry (a collapsed hierarchy has a KL near zero).
        """
        ll, kl = self.elbo_terms(x, generator)
        return {"neg_elbo": -(ll - kl.sum(1)), "kl": kl.sum(1)}

    @torch.no_grad()
    def kl_per_layer(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """Mean KL(q(z_i | z_>i, x) || p(z_i | z_>i)) of each layer over the batch, ``(L,)`` nats, top layer first."""
        return self.elbo_terms(x, generator)[1].mean(0)

    @torch.no_grad()
    def sample(
        self,
        n: int,
        generator: torch.Generator | None = None,
        temperature: float = 1.0,
        mean: bool = False,
        labels: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """``n`` images: z_L, ..., z_1 from the priors, then x ~ p(x | z) (its most likely value when ``mean``).

        ``temperature`` scales the standard deviation of every prior p(z_i | z_>i), as in VD-VAE (below 1:
        more typical images); the pixels are drawn from p(x | z) as it is.
        """
        check_count(n)
        check_temperature(temperature)
        self.check_labels(labels, n)
        out = self._generate(n, generator, temperature)
        logits = self._pixel_logits(out)
        values = logits.argmax(-1) if mean else draw(logits, 1.0, generator)
        return values.view(n, *self.config.shape).to(out.device)
