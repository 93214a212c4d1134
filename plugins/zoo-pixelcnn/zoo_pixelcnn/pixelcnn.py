"""``pixelcnn``: PixelCNN (van den Oord et al. 2016) and, with ``gated=True``, Gated PixelCNN.

Every colour channel of every pixel gets a ``levels``-way softmax; the likelihood is exact.
With ``num_classes`` set the model is class-conditional: a learned bias per class is added
inside every layer, and ``loss``/``log_prob``/``sample``/``complete`` take ``labels``.
Sampling uses a cached stepper (see :mod:`zoo_pixelcnn.plain` and :mod:`zoo_pixelcnn.gated`)
that gives exactly the samples of ``method="naive"`` many times faster.
"""

from __future__ import annotations

import torch
from pydantic import Field
from torch import nn

from zoo import AutoregressiveModel, ModelConfig
from zoo.layers import logits_from_features

from .gated import GatedNet
from .plain import INPUT_KERNEL, PlainNet


class PixelCNNConfig(ModelConfig):
    """Image spec plus the network size; the residual stream carries 2*hidden maps."""

    hidden: int = Field(64, ge=1, le=4096, description="h: residual blocks work on h maps, the stream has 2h")
    layers: int = Field(
        5, ge=0, le=256, description="residual blocks (gated layers with gated=True) after the 7x7 input layer"
    )
    num_classes: int | None = Field(
        None, ge=1, le=100_000, description="class-conditional with this many labels (None = unconditional)"
    )
    gated: bool = Field(False, description="Gated PixelCNN: vertical + horizontal stacks, no blind spot")

    colour_grouped = ("hidden",)


class _FastSampler:
    """The zoo.sampling protocol on top of a network stepper: one position per call."""

    def __init__(self, model: PixelCNN, n: int, labels: torch.Tensor | None = None):
        self.model = model
        self.stepper = model.net.stepper(n, model.config.height, model.config.width, model._biases(labels))

    def start(self, x: torch.Tensor) -> None:
        self.stepper.reset()

    def logits_at(self, x: torch.Tensor, i: int, j: int, c: int) -> torch.Tensor:
        cfg, r = self.model.config, INPUT_KERNEL // 2
        step = self.stepper
        if cfg.gated:
            if step.row != i:
                step.start_row(self.model.scale(x[:, :, max(0, i - r) : i]), i)
            return step.at(self.model.scale(x[:, :, i, max(0, j - r) : j + 1]), i, j, c)
        window = x[:, :, max(0, i - r) : i + 1, max(0, j - r) : j + r + 1]
        return step.at(self.model.scale(window), i, j, c)


class _PlainFastSampler(_FastSampler):
    """Plain nets also step with the position in a device tensor: zoo.sampling replays one pixel as a CUDA graph."""

    def _pixel(self, x: torch.Tensor, pos: torch.Tensor) -> torch.Tensor:
        n, C = x.shape[:2]
        return self.model.scale(x.view(n, C, -1).index_select(2, pos.view(1)))

    def logits_at_position(self, x: torch.Tensor, pos: torch.Tensor, c: int) -> torch.Tensor:
        return self.stepper.at_position(self._pixel(x, pos), pos, c)

    def commit(self, x: torch.Tensor, pos: torch.Tensor) -> None:
        self.stepper.write_pixel(self._pixel(x, pos), pos)


class PixelCNN(AutoregressiveModel):
    """PixelCNN with masks A and B (optionally gated and class-conditional)."""

    architecture = "pixelcnn"
    config_class = PixelCNNConfig
    papers = ("1601.06759", "1606.05328")  # Pixel Recurrent Neural Networks; Conditional Image Generation (gated)

    def __init__(self, config: PixelCNNConfig):
        super().__init__(config)
        net_class = GatedNet if config.gated else PlainNet
        self.net = net_class(config.channels, config.hidden, config.layers, config.levels)
        self.class_bias = (
            nn.ModuleList(nn.Embedding(config.num_classes, size) for size in self.net.bias_sizes)
            if config.num_classes
            else None
        )

    # -- class conditioning: the core checks labels (Model.check_labels) and passes them in ----------
    def _biases(self, labels: torch.Tensor | None) -> list | None:
        """Per-layer class biases of the images' labels; None for an unconditional model."""
        if self.class_bias is None:
            return None
        return [emb(labels) for emb in self.class_bias]

    # -- the model ------------------------------------------------------------
    def logits(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        cfg = self.config
        out = self.net(self.scale(x), self._biases(labels))
        return logits_from_features(out, cfg.channels, cfg.levels)

    def incremental_sampler(self, n: int, labels: torch.Tensor | None = None) -> _FastSampler:
        return _FastSampler(self, n, labels) if self.config.gated else _PlainFastSampler(self, n, labels)
