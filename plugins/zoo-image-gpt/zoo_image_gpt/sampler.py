"""image-gpt's exact fast sampler: one sequence position per step, with a key/value cache per block.

Step t runs only position t through the network. Everything in a block but attention works on
one position at a time, and the causal mask lets position t attend to positions 0..t exactly:
their keys and values, stored as each step computes them, are all the attention needs. So a
step costs one position's worth of work plus an attention over t cached keys, instead of a
full forward pass over C*H*W positions, and the logits are those of ``ImageGPT.logits`` (the
same sums, in the same float precision).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from zoo import ArgumentError


class KVCacheSampler:
    """zoo.sampling's IncrementalSampler for an ImageGPT: ``start(x)``, then ``logits_at`` in raster order."""

    def __init__(self, model, n: int, labels: torch.Tensor | None = None):
        cfg = model.config
        self.model, self.n = model, n
        p = model.position
        shape = (n, cfg.heads, cfg.dims, cfg.hidden // cfg.heads)
        self.keys = [torch.zeros(shape, dtype=p.dtype, device=p.device) for _ in model.blocks]
        self.values = [torch.zeros(shape, dtype=p.dtype, device=p.device) for _ in model.blocks]
        self.label_embedding = None if labels is None else model.class_embedding(labels)  # (n, hidden)
        self.t = 0

    def start(self, x: torch.Tensor) -> None:
        self.t = 0  # the caches are read only up to the current step: no need to clear them

    def logits_at(self, x: torch.Tensor, i: int, j: int, c: int) -> torch.Tensor:
        m, cfg = self.model, self.model.config
        C, W = cfg.channels, cfg.width
        t = (i * W + j) * C + c
        if t != self.t:
            raise ArgumentError(
                f"image-gpt's cached sampler steps through the raster order one position at a time: "
                f"expected step {self.t}, got channel {c} of pixel ({i}, {j}) (step {t}); call start(x) to begin again"
            )
        if t == 0:
            h = m.start.expand(self.n, -1)
        else:  # position t is fed the value at t - 1, drawn by now
            pi, rest = divmod(t - 1, W * C)
            pj, pc = divmod(rest, C)
            value = x[:, pc, pi, pj]
            h = m.embed(value, m.scale(value))
        h = h + m.position[t]
        if self.label_embedding is not None:
            h = h + self.label_embedding
        h = h[:, None]  # (n, 1, hidden): a sequence of one position
        for block, keys, values in zip(m.blocks, self.keys, self.values):
            q, k, v = block.split_heads(h)  # (n, heads, 1, head dims)
            keys[:, :, t : t + 1] = k
            values[:, :, t : t + 1] = v
            h = block.finish(h, F.scaled_dot_product_attention(q, keys[:, :, : t + 1], values[:, :, : t + 1]))
        self.t += 1
        return m.head(m.norm(h[:, 0]))
