"""``nade``: the neural autoregressive distribution estimator (Larochelle & Murray 2011).

Every dimension ``d`` (raster order, :func:`zoo.layers.raster_dims`) has its own hidden layer
``h_d = sigmoid(c + W[:, <d] x_<d)``, and the hidden layers share ``W``: ``h_{d+1}`` is ``h_d``'s
pre-activation plus one column, which is what makes exact evaluation O(D·H) per image (a cumulative
sum over dimensions) and sampling O(D·H) too. Binary data gets one logit per dimension,
``b_d + V_d · h_d``; more levels a softmax over ``levels`` logits (inputs are then the scaled level).
"""

from __future__ import annotations

import math

import torch
from pydantic import Field
from torch import nn

import zoo
from zoo.layers import logits_from_dims, outputs_per_dim, raster_dims


class NADEConfig(zoo.ModelConfig):
    hidden: int = Field(500, ge=1, le=65536, description="hidden units shared by every dimension's conditional")
    num_classes: int | None = Field(
        None, ge=1, le=100_000, description="classes for class-conditional biases (None: off)"
    )


class NADE(zoo.AutoregressiveModel):
    """NADE with sigmoid hidden units, tied input weights ``W`` and untied output weights ``V``."""

    architecture = "nade"
    papers = ("1605.02226",)  # Neural Autoregressive Distribution Estimation (the JMLR paper of NADE)
    config_class = NADEConfig

    def __init__(self, config: NADEConfig):
        super().__init__(config)
        D, H, K = config.dims, config.hidden, outputs_per_dim(config.levels)
        self.W = nn.Parameter(torch.empty(H, D).uniform_(-1, 1) / math.sqrt(D))
        self.c = nn.Parameter(torch.zeros(H))
        self.V = nn.Parameter(torch.empty(D, K, H).uniform_(-1, 1) / math.sqrt(H))
        self.b = nn.Parameter(torch.zeros(D, K))
        self.class_hidden = nn.Embedding(config.num_classes, H) if config.num_classes else None
        self.class_out = nn.Embedding(config.num_classes, D * K) if config.num_classes else None

    def hidden_bias(self, n: int, labels) -> torch.Tensor:
        c = self.c.expand(n, -1)
        return c if labels is None else c + self.class_hidden(labels)

    def output_bias(self, n: int, labels) -> torch.Tensor:
        b = self.b.expand(n, -1, -1)
        return b if labels is None else b + self.class_out(labels).view(n, *self.b.shape)

    def logits(self, x, labels=None):
        s = raster_dims(self.scale(x))  # (B, D)
        n = len(x)
        # pre-activation of h_d: c + sum_{j<d} W_j s_j, an exclusive cumulative sum over dimensions
        steps = (s[:, :-1, None] * self.W.T[None, :-1]).cumsum(1)  # (B, D-1, H): h_1 .. h_{D-1}
        pre = torch.cat([steps.new_zeros(n, 1, self.W.shape[0]), steps], 1)
        h = torch.sigmoid(pre + self.hidden_bias(n, labels)[:, None, :])
        out = (h[:, :, None, :] * self.V).sum(-1) + self.output_bias(n, labels)  # (B, D, K)
        return logits_from_dims(out.reshape(n, -1), self.config.shape, self.config.levels)

    def incremental_sampler(self, n, labels=None):
        return NADESampler(self, n, labels)


class NADESampler:
    """Exact fast sampling: the hidden pre-activation gains one weight column per drawn dimension, O(D·H)."""

    def __init__(self, model: NADE, n: int, labels):
        self.model, self.n, self.labels = model, n, labels

    def start(self, x: torch.Tensor) -> None:
        self.pre = self.model.hidden_bias(self.n, self.labels).clone()
        self.b = self.model.output_bias(self.n, self.labels)
        self.added = 0  # dimensions < added are in pre

    def logits_at(self, x: torch.Tensor, i: int, j: int, c: int) -> torch.Tensor:
        m = self.model
        C, _, W = m.config.shape
        d = (i * W + j) * C + c
        if d > self.added:
            s = raster_dims(m.scale(x))[:, self.added : d]
            self.pre += s @ m.W[:, self.added : d].T
            self.added = d
        out = torch.sigmoid(self.pre) @ m.V[d].T + self.b[:, d]  # (n, K)
        return torch.cat([torch.zeros_like(out), out], dim=1) if out.shape[1] == 1 else out
