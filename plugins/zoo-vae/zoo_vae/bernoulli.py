"""``vae-bernoulli``: the VAE with a Bernoulli decoder, for binary images only (levels = 2)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from pydantic import Field, field_validator

from .base import VAE, VAEConfig

__all__ = ["BernoulliVAEConfig", "BernoulliVAE"]


class BernoulliVAEConfig(VAEConfig):
    """A Bernoulli likelihood is only a likelihood for binary pixels, so levels must be 2."""

    levels: int = Field(2, ge=2, le=65536, description="intensity levels per channel: must be 2 (binary)")

    @field_validator("levels")
    @classmethod
    def _binary_only(cls, v: int) -> int:
        if v != 2:
            raise ValueError(
                f"vae-bernoulli models binary images (levels=2), got levels={v}; "
                "binarize the data (e.g. dataset digits-binarized) or use vae-gaussian"
            )
        return v


class BernoulliVAE(VAE):
    """VAE with an MLP encoder and a Bernoulli decoder for binary images."""

    architecture = "vae-bernoulli"
    config_class = BernoulliVAEConfig

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Logits of p(x = 1 | z), ``(M, C, H, W)``."""
        return self.decoder(z).view(-1, *self.config.shape)

    def log_likelihood(self, x: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
        return -F.binary_cross_entropy_with_logits(logits, x.to(logits.dtype), reduction="none").flatten(1).sum(1)

    def draw(self, logits, generator, temperature):
        u = torch.rand(logits.shape, generator=generator, device=generator.device if generator else logits.device)
        return (u.to(logits.device) < torch.sigmoid(logits / temperature)).long()

    def mode(self, logits):
        return (logits > 0).long()

    def mean_intensity(self, logits):
        return torch.sigmoid(logits)
