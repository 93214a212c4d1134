"""``fvsbn``: the fully visible sigmoid belief net (Frey 1998), a logistic regression per dimension.

Dimension ``d`` (raster order, :func:`zoo.layers.raster_dims`) is predicted from the values of
dimensions ``< d`` by one linear map: for binary data a logistic regression, for more levels a
softmax regression. It is the simplest exact autoregressive model, the baseline every other family
in the zoo is measured against.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from pydantic import Field
from torch import nn

import zoo
from zoo.layers import logits_from_dims, outputs_per_dim, raster_dims


class FVSBNConfig(zoo.ModelConfig):
    num_classes: int | None = Field(
        None, ge=1, le=100_000, description="classes for class-conditional biases (None: off)"
    )


class FVSBN(zoo.AutoregressiveModel):
    """``logit_d = b_d + sum_{j<d} W_dj x_j``: one (masked) linear layer over the raster order."""

    architecture = "fvsbn"
    config_class = FVSBNConfig

    def __init__(self, config: FVSBNConfig):
        super().__init__(config)
        D, K = config.dims, outputs_per_dim(config.levels)
        self.weight = nn.Parameter(torch.zeros(D * K, D))
        self.bias = nn.Parameter(torch.zeros(D * K))
        self.class_bias = nn.Embedding(config.num_classes, D * K) if config.num_classes else None
        if self.class_bias is not None:
            nn.init.zeros_(self.class_bias.weight)
        # Output row r belongs to dimension r // K and may see inputs j < r // K (built lazily: it is D*K x D).
        self._mask: torch.Tensor | None = None

    def mask(self) -> torch.Tensor:
        """The strictly lower-triangular connectivity, ``(D * K, D)`` of the weight's dtype and device."""
        w = self.weight
        if self._mask is None or self._mask.device != w.device or self._mask.dtype != w.dtype:
            D, K = self.config.dims, outputs_per_dim(self.config.levels)
            rows = torch.arange(D, device=w.device).repeat_interleave(K)
            self._mask = (torch.arange(D, device=w.device)[None, :] < rows[:, None]).to(w.dtype)
        return self._mask

    def masked_weight(self) -> torch.Tensor:
        return self.weight * self.mask()

    def biases(self, n: int, labels: torch.Tensor | None) -> torch.Tensor:
        """``(n, D * K)``: the output bias, plus the class bias of each image's label."""
        bias = self.bias.expand(n, -1)
        return bias if labels is None else bias + self.class_bias(labels)

    def logits(self, x, labels=None):
        inputs = raster_dims(self.scale(x))
        out = F.linear(inputs, self.masked_weight()) + self.biases(len(x), labels)
        return logits_from_dims(out, self.config.shape, self.config.levels)

    def incremental_sampler(self, n, labels=None):
        return FVSBNSampler(self, n, labels)


class FVSBNSampler:
    """Exact fast sampling: the running sums ``b + sum_{j<d} W_:j x_j`` gain one column per drawn dimension.

    A sample costs O(D^2 K) instead of the naive sampler's D full passes, O(D^3 K).
    """

    def __init__(self, model: FVSBN, n: int, labels: torch.Tensor | None):
        self.model, self.n, self.labels = model, n, labels
        self.K = outputs_per_dim(model.config.levels)

    def start(self, x: torch.Tensor) -> None:
        self.weight = self.model.masked_weight()
        self.acc = self.model.biases(self.n, self.labels).clone()
        self.added = 0  # dimensions < added are in acc

    def logits_at(self, x: torch.Tensor, i: int, j: int, c: int) -> torch.Tensor:
        C, _, W = self.model.config.shape
        d = (i * W + j) * C + c
        if d > self.added:
            values = raster_dims(self.model.scale(x))[:, self.added : d]
            self.acc += values @ self.weight[:, self.added : d].T
            self.added = d
        out = self.acc[:, d * self.K : (d + 1) * self.K]
        return torch.cat([torch.zeros_like(out), out], dim=1) if self.K == 1 else out
