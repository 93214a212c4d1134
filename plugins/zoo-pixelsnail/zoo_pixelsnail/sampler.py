"""pixelsnail's exact fast sampler: one pixel of every layer per step, with convolution and key/value caches.

Every layer's value at pixel p depends only on the input before p in raster order (and on channels
< c of p for colour group c), so it can be computed once the sampler reaches p, from cached values
at earlier pixels:

- the 3x3 mask-A input conv reads its window straight from the canvas (``zoo.layers.MaskedConvAtPixel``);
- every gated residual keeps its 3x3 conv's input (ELU of the stream) in a zero-padded map, as the
  PixelCNN plugin's stepper does, and reads rows i-1..i, columns j-1..j+1 of it;
- every attention keeps the keys and values of the pixels before p (slot 0 the null key and value),
  so the query of p attends to exactly the slots the causal mask gives it in the full pass.

The keys and values of pixel p need all of its channels, so they are written when the sampler moves
on to pixel p + 1 (its values are all drawn by then) from the block outputs kept from p's last step.

Colour: the step for channel c computes every layer at p in full and stores it. Groups <= c are then
final (they depend on channels < c of p, drawn by now, and on earlier pixels); groups > c are not yet,
but the masks give them zero weight in every group <= c, and the steps for the next channels of p
overwrite them. That costs C times the work of one pixel, and keeps one code path for every C.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from zoo import ArgumentError
from zoo.layers import MaskedConvAtPixel


def _matrix(conv) -> tuple[torch.Tensor, torch.Tensor]:
    """A 1x1 (masked or plain) convolution as a (weight, bias) pair for ``F.linear``."""
    mask = getattr(conv, "mask", None)
    w = conv.weight if mask is None else conv.weight * mask
    return w[:, :, 0, 0].detach(), conv.bias.detach()


def _gate(out: torch.Tensor) -> torch.Tensor:
    a, b = out.chunk(2, 1)
    return a * torch.sigmoid(b)


class PixelSNAILSampler:
    """zoo.sampling's IncrementalSampler for a PixelSNAIL: ``start(x)``, then ``logits_at`` in raster order."""

    def __init__(self, model, n: int, labels: torch.Tensor | None = None):
        cfg = model.config
        self.model, self.n = model, n
        self.C, self.H, self.W = cfg.channels, cfg.height, cfg.width
        p = model.input.weight
        zeros = lambda *shape: torch.zeros(*shape, dtype=p.dtype, device=p.device)  # noqa: E731
        self.input = MaskedConvAtPixel(model, model.input)
        self.biases = model.biases(labels)
        self.background = model.background[0].to(p.dtype).flatten(1).t()  # (H*W, 2)
        h, N = cfg.hidden, self.H * self.W
        self.blocks = []
        for block in model.blocks:
            attention = block.attention
            self.blocks.append(
                dict(
                    residuals=[
                        (
                            (res.conv.weight * res.conv.mask)[:, :, :2].flatten(1).detach(),
                            res.conv.bias.detach(),
                            _matrix(res.gate),
                        )
                        for res in block.residuals
                    ],
                    # the queries' position term is the same for every image: one row per pixel
                    query=_matrix(attention.query),
                    query_position=F.linear(self.background, *_matrix(attention.query_position)),
                    key=_matrix(attention.key),
                    value=_matrix(attention.value),
                    null=(attention.null_key.detach(), attention.null_value.detach()),
                    merge=(_matrix(block.merge.stream), _matrix(block.merge.attended), _matrix(block.merge.gate)),
                )
            )
        # each residual's 3x3 input, zero-padded: row i at i + 1, column j at j + 1
        self.conv_inputs = [[zeros(n, h, self.H + 1, self.W + 2) for _ in b["residuals"]] for b in self.blocks]
        self.keys = [zeros(n, N, cfg.key_channels) for _ in self.blocks]
        self.values = [zeros(n, N, cfg.value_channels) for _ in self.blocks]
        self.outputs = [zeros(n, h) for _ in self.blocks]  # each block's residual output at the current pixel
        w, b = _matrix(model.head)
        L = cfg.levels
        self.head = [(w[c * L : (c + 1) * L], b[c * L : (c + 1) * L]) for c in range(self.C)]  # colour c's rows
        self.step = 0

    def start(self, x: torch.Tensor) -> None:
        for block, keys, values in zip(self.blocks, self.keys, self.values):
            keys[:, 0], values[:, 0] = block["null"]
        for caches in self.conv_inputs:
            for cache in caches:
                cache.zero_()
        self.step = 0

    def _commit(self, x: torch.Tensor, p: int) -> None:
        """Write the keys and values of pixel p, whose channels are all drawn, into slot p + 1 (p < H*W - 1)."""
        i, j = divmod(p, self.W)
        xs, background = self.model.scale(x[:, :, i, j]), self.background[p].expand(self.n, -1)
        for block, r, keys, values in zip(self.blocks, self.outputs, self.keys, self.values):
            content = torch.cat([xs, r, background], 1)
            keys[:, p + 1] = F.linear(content, *block["key"])
            values[:, p + 1] = F.linear(content, *block["value"])

    def logits_at(self, x: torch.Tensor, i: int, j: int, c: int) -> torch.Tensor:
        C, W, n = self.C, self.W, self.n
        p = i * W + j
        if p * C + c != self.step:
            raise ArgumentError(
                f"pixelsnail's cached sampler steps through the raster order one channel at a time: expected "
                f"channel {self.step % C} of pixel {divmod(self.step // C, W)}, got channel {c} of pixel ({i}, {j}); "
                "call start(x) to begin again"
            )
        if c == 0 and p:
            self._commit(x, p - 1)
        self.step += 1
        biases = iter(self.biases)
        h = self.input(x, i, j)
        bias = next(biases)
        if bias is not None:
            h = h + bias
        for k, (block, caches) in enumerate(zip(self.blocks, self.conv_inputs)):
            keys, values = self.keys[k], self.values[k]
            for (w, b, gate), cache in zip(block["residuals"], caches):
                cache[:, :, i + 1, j + 1] = F.elu(h)
                t = F.linear(cache[:, :, i : i + 2, j : j + 3].reshape(n, -1), w, b)
                bias = next(biases)
                if bias is not None:
                    t = t + bias
                h = h + _gate(F.linear(F.elu(t), *gate))
            self.outputs[k] = h
            q = (F.linear(h, *block["query"]) + block["query_position"][p]).view(n, C, 1, -1)
            k_seen = keys[:, None, : p + 1].expand(n, C, p + 1, -1)
            v_seen = values[:, None, : p + 1].expand(n, C, p + 1, -1)
            attended = F.scaled_dot_product_attention(q, k_seen, v_seen).reshape(n, -1)  # (n, C * value)
            stream, att, gate = block["merge"]
            t = F.linear(F.elu(h), *stream) + F.linear(F.elu(attended), *att)
            h = h + _gate(F.linear(F.elu(t), *gate))
        return F.linear(F.elu(h), *self.head[c])
