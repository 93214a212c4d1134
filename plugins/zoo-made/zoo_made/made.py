"""``made``: the masked autoencoder for distribution estimation (Germain et al. 2015).

A multilayer perceptron over the ``D`` dimensions in raster order (:func:`zoo.layers.raster_dims`)
whose weights are masked so that output ``d`` depends on inputs ``< d`` only. Each hidden unit gets a
*degree* ``m`` (it may see inputs ``0..m``), drawn from ``mask_seed`` as in the paper: the masks are not
weights, they are rebuilt from the config, so a saved model holds only the dense matrices.

Input order: zoo's raster order, always. The paper also draws random input orders; a model whose
order is not the raster order cannot give the per-pixel conditionals that zoo's samplers, completion
and contract rely on, so only the *connectivity* is drawn. With ``masks=K`` the model holds K
connectivities (hidden degrees) over the same weights: training draws one per step (connectivity-agnostic
training), and evaluation uses the exact equal-weight mixture of the K models. A mixture of raster-order
models is itself a raster-order model whose conditionals are computable exactly:
``p(x_d | x_<d) = sum_k p_k(x_<d) p_k(x_d | x_<d) / sum_k p_k(x_<d)``, so ``log_prob`` is
``log (1/K) sum_k p_k(x)`` and sampling stays exact and fast.
"""

from __future__ import annotations

from typing import Annotated

import torch
import torch.nn.functional as F
from pydantic import Field
from torch import nn

import zoo
from zoo.layers import logits_from_dims, outputs_per_dim, raster_dims


class MADEConfig(zoo.ModelConfig):
    # Upper bounds, as for every size of a config that may come from anyone: 16 layers of at most 65536 units
    # (the paper's widest is 8000), 64 connectivities (the paper uses up to 32; evaluation costs one pass each).
    hidden: list[Annotated[int, Field(ge=1, le=65536)]] = Field(
        [500], min_length=1, max_length=16, description="sizes of the hidden layers, e.g. [8000] or [500, 500]"
    )
    masks: int = Field(
        1,
        ge=1,
        le=64,
        description="connectivities over the same weights; >1: connectivity-agnostic training "
        "and an exact K-mixture at evaluation",
    )
    mask_seed: int = Field(
        0, ge=0, le=2**32 - 1, description="seed of the hidden units' degrees (the masks are rebuilt from it)"
    )
    num_classes: int | None = Field(
        None, ge=1, le=100_000, description="classes for class-conditional biases (None: off)"
    )


def hidden_degrees(config: MADEConfig) -> list[list[torch.Tensor]]:
    """``[mask][layer]`` degrees of every hidden unit, drawn from ``mask_seed`` on the CPU (never on the meta device).

    Layer ``l``'s degrees are uniform in ``[min(previous degrees), D - 2]`` (the paper's rule, 0-based): a unit
    of degree ``m`` sees inputs ``0..m``, and no unit needs to see the last input.
    """
    D = config.dims
    g = torch.Generator(device="cpu").manual_seed(config.mask_seed)
    out = []
    for _ in range(config.masks):
        low, layers = 0, []
        for size in config.hidden:
            high = max(D - 1, low + 1)
            degrees = torch.randint(low, high, (size,), generator=g, device="cpu")
            layers.append(degrees)
            low = int(degrees.min()) if size else low
        out.append(layers)
    return out


class MADE(zoo.AutoregressiveModel):
    """A masked MLP with ReLU hidden layers; one logit per binary dimension, ``levels`` logits otherwise."""

    architecture = "made"
    papers = ("1502.03509",)  # MADE: Masked Autoencoder for Distribution Estimation
    config_class = MADEConfig

    def __init__(self, config: MADEConfig):
        super().__init__(config)
        D, K = config.dims, outputs_per_dim(config.levels)
        sizes = [D, *config.hidden]
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:]))
        self.out = nn.Linear(sizes[-1], D * K)
        self.class_hidden = nn.Embedding(config.num_classes, sizes[1]) if config.num_classes else None
        self.class_out = nn.Embedding(config.num_classes, D * K) if config.num_classes else None
        self._degrees: list[list[torch.Tensor]] | None = None
        self._masks: dict[int, list[torch.Tensor]] = {}

    @property
    def degrees(self) -> list[list[torch.Tensor]]:
        """``[mask][layer]`` hidden degrees, drawn on first use, never in the constructor: sizing an untrusted
        config on the meta device (:func:`zoo.load_folder`) must cost nothing, whatever ``masks`` asks for."""
        if self._degrees is None:
            self._degrees = hidden_degrees(self.config)
        return self._degrees

    def masks_for(self, k: int) -> list[torch.Tensor]:
        """Connectivity ``k``'s masks, one per linear layer (the output's last), in the weights' dtype and device."""
        w = self.out.weight
        if k not in self._masks:  # built on first use; _apply (a move or a cast) empties the cache
            D, K = self.config.dims, outputs_per_dim(self.config.levels)
            prev = torch.arange(D)
            masks = []
            for degrees in self.degrees[k]:
                masks.append((degrees[:, None] >= prev[None, :]).to(w.device, w.dtype))
                prev = degrees
            out_degrees = torch.arange(D).repeat_interleave(K)
            masks.append((out_degrees[:, None] > prev[None, :]).to(w.device, w.dtype))
            self._masks[k] = masks
        return self._masks[k]

    def _apply(self, fn, *args, **kwargs):
        self._masks = {}  # moved or cast: rebuild the masks on first use
        return super()._apply(fn, *args, **kwargs)

    def hidden_bias(self, labels):
        return 0 if labels is None else self.class_hidden(labels)

    def output_bias(self, labels):
        return 0 if labels is None else self.class_out(labels)

    def outputs(self, s: torch.Tensor, k: int, labels=None) -> torch.Tensor:
        """``(B, D * K)`` raw outputs of connectivity ``k`` for the scaled inputs ``s`` ``(B, D)``."""
        masks = self.masks_for(k)
        h = s
        for index, (layer, mask) in enumerate(zip(self.layers, masks)):
            h = F.linear(h, layer.weight * mask, layer.bias)
            if index == 0:
                h = h + self.hidden_bias(labels)
            h = F.relu(h)
        return F.linear(h, self.out.weight * masks[-1], self.out.bias) + self.output_bias(labels)

    def logits(self, x, labels=None):
        s = raster_dims(self.scale(x))
        shape, levels = self.config.shape, self.config.levels
        if self.config.masks == 1:
            return logits_from_dims(self.outputs(s, 0, labels), shape, levels)
        # the exact mixture's conditionals: weight each connectivity by its likelihood of the earlier dimensions
        observed = raster_dims(x)  # (B, D)
        mixed = []
        for k in range(self.config.masks):
            lp = F.log_softmax(self.dim_logits(self.outputs(s, k, labels)), -1)  # (B, D, levels)
            seen = lp.gather(-1, observed[..., None])[..., 0]
            before = seen.cumsum(1) - seen  # log p_k(x_<d)
            mixed.append((before, lp))
        before = torch.stack([b for b, _ in mixed])  # (K, B, D)
        lp = torch.stack([p for _, p in mixed])  # (K, B, D, levels)
        conditional = torch.logsumexp(before[..., None] + lp, 0) - torch.logsumexp(before, 0)[..., None]
        B, D, L = conditional.shape
        C, H, W = shape
        return conditional.reshape(B, H, W, C, L).permute(0, 4, 3, 1, 2)

    def dim_logits(self, out: torch.Tensor) -> torch.Tensor:
        """``(B, D * K)`` raw outputs as ``(B, D, levels)`` logits."""
        levels = self.config.levels
        if levels == 2:
            out = torch.stack([torch.zeros_like(out), out], -1)
        return out.reshape(out.shape[0], -1, levels)

    def loss(self, x, labels=None):
        """Mean NLL; while training with ``masks > 1``, of one connectivity drawn per step (the paper's training)."""
        if not (self.training and self.config.masks > 1):
            return super().loss(x, labels)
        x = self.check_images(x)
        labels = self.check_labels(labels, len(x))
        k = int(torch.randint(self.config.masks, ()))
        lp = F.log_softmax(self.dim_logits(self.outputs(raster_dims(self.scale(x)), k, labels)), -1)
        return -lp.gather(-1, raster_dims(x)[..., None]).sum((1, 2)).mean()

    def incremental_sampler(self, n, labels=None):
        return MADESampler(self, n, labels)


class MADESampler:
    """Exact fast sampling: the first layer's pre-activation gains one weight column per drawn dimension, and
    only dimension ``d``'s output rows are computed; a sample costs O(D·H) with one hidden layer, not D passes.

    With ``masks > 1`` it keeps each connectivity's running ``log p_k(x_<d)`` to mix the conditionals exactly.
    """

    def __init__(self, model: MADE, n: int, labels):
        self.model, self.n, self.labels = model, n, labels
        self.K = outputs_per_dim(model.config.levels)

    def start(self, x: torch.Tensor) -> None:
        m = self.model
        first = m.layers[0]
        self.masks = [m.masks_for(k) for k in range(m.config.masks)]
        self.first = [first.weight * masks[0] for masks in self.masks]
        bias = first.bias + m.hidden_bias(self.labels)
        self.pre = [bias.expand(self.n, -1).clone() for _ in self.masks]
        self.added = 0  # dimensions < added are in pre
        self.before = torch.zeros(len(self.masks), self.n, dtype=m.dtype, device=x.device)
        self.scored = 0  # dimensions < scored are in before
        self.last: tuple[int, torch.Tensor] | None = None

    def _log_probs(self, x: torch.Tensor, d: int) -> torch.Tensor:
        """``(masks, n, levels)``: each connectivity's logits of dimension ``d``, given ``x``'s dimensions ``< d``."""
        if self.last is not None and self.last[0] == d:
            return self.last[1]
        m = self.model
        if d > self.added:
            s = raster_dims(m.scale(x))[:, self.added : d]
            for pre, w in zip(self.pre, self.first):
                pre += s @ w[:, self.added : d].T
            self.added = d
        rows = slice(d * self.K, (d + 1) * self.K)
        outs = []
        for pre, masks in zip(self.pre, self.masks):
            h = F.relu(pre)
            for layer, mask in zip(m.layers[1:], masks[1:-1]):
                h = F.relu(F.linear(h, layer.weight * mask, layer.bias))
            out = F.linear(h, m.out.weight[rows] * masks[-1][rows], m.out.bias[rows]) + self._out_bias(rows)
            outs.append(torch.cat([torch.zeros_like(out), out], 1) if self.K == 1 else out)
        self.last = (d, torch.stack(outs))
        return self.last[1]

    def _out_bias(self, rows: slice):
        bias = self.model.output_bias(self.labels)
        return bias if isinstance(bias, int) else bias[:, rows]

    def logits_at(self, x: torch.Tensor, i: int, j: int, c: int) -> torch.Tensor:
        C, _, W = self.model.config.shape
        d = (i * W + j) * C + c
        if len(self.masks) == 1:
            return self._log_probs(x, d)[0]
        values = raster_dims(x)
        while self.scored < d:  # fold the drawn dimensions into each connectivity's log p_k(x_<d)
            lp = F.log_softmax(self._log_probs(x, self.scored), -1)
            self.before += lp.gather(-1, values[None, :, self.scored, None].expand(len(self.masks), -1, 1))[..., 0]
            self.scored += 1
        lp = F.log_softmax(self._log_probs(x, d), -1)
        return torch.logsumexp(self.before[..., None] + lp, 0) - torch.logsumexp(self.before, 0)[:, None]
