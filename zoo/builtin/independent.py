"""``independent``: every channel of every pixel is its own categorical distribution.

The baseline row of every likelihood table: it knows the marginal of each pixel and
nothing about how pixels relate. It ships with the core so the whole path (train, save,
load, sample, evaluate) works with no plugin installed.
"""

from __future__ import annotations

import torch
from torch import nn

from ..interfaces import AutoregressiveModel, ModelConfig


class IndependentConfig(ModelConfig):
    """Only the image spec: the model has one logit per level, channel and pixel."""


class _ConstantSampler:
    """Logits do not depend on earlier pixels, so each step is a lookup."""

    def __init__(self, model):
        self.table = model.logit_table

    def start(self, x):
        pass

    def logits_at(self, x, i, j, c):
        return self.table[:, c, i, j].expand(x.shape[0], -1)


class Independent(AutoregressiveModel):
    """Per-pixel independent categorical model (the baseline)."""

    architecture = "independent"
    config_class = IndependentConfig

    def __init__(self, config: IndependentConfig):
        super().__init__(config)
        self.logit_table = nn.Parameter(torch.zeros(config.levels, *config.shape))

    def logits(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        return self.logit_table.unsqueeze(0).expand(x.shape[0], -1, -1, -1, -1)

    def incremental_sampler(self, n: int, labels: torch.Tensor | None = None):
        return _ConstantSampler(self)
