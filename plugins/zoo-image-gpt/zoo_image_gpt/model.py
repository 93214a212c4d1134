"""``image-gpt``: a decoder-only transformer over the raster sequence of pixel values (Chen et al. 2020).

The sequence is the image in zoo raster order, one position per colour channel of every pixel
(rows top to bottom, pixels left to right, channels R, G, B inside a pixel): C*H*W positions.
Making channels sequence positions is what makes the model exact for colour with nothing but
a causal mask: channel c of a pixel sees the channels before it as earlier positions.

Position t is fed the value at t - 1 (a learned start vector at t = 0) and predicts the value
at t, so with a causal mask no position ever sees its own value. Inputs are token embeddings
plus learned positional embeddings (plus a learned class embedding with ``num_classes``); the
blocks are pre-norm (LayerNorm, causal multi-head attention through
``torch.nn.functional.scaled_dot_product_attention``, LayerNorm, GELU MLP), then a final
LayerNorm and a linear head to ``levels`` logits.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from pydantic import Field, model_validator
from torch import nn

from zoo import AutoregressiveModel, ModelConfig

from .sampler import KVCacheSampler

MAX_POSITIONS = 16384  # C*H*W: 128x128 grey or 64x64 RGB; attention cost grows with its square


class ImageGPTConfig(ModelConfig):
    """Image spec plus the transformer's size (the defaults are the peer library's MNIST model)."""

    hidden: int = Field(64, ge=1, le=4096, description="width of the residual stream (a multiple of heads)")
    layers: int = Field(8, ge=1, le=256, description="transformer blocks")
    heads: int = Field(2, ge=1, le=256, description="attention heads per block (each gets hidden/heads dims)")
    mlp_ratio: int = Field(4, ge=1, le=16, description="width of each block's MLP, as a multiple of hidden")
    num_classes: int | None = Field(
        None, ge=1, le=100_000, description="class-conditional with this many labels (None = unconditional)"
    )

    @model_validator(mode="after")
    def _check_sizes(self):
        if self.hidden % self.heads:
            raise ValueError(
                f"hidden={self.hidden} must be a multiple of heads={self.heads} (each head gets hidden/heads dims); "
                f"set hidden to a multiple of {self.heads} or change heads"
            )
        if self.dims > MAX_POSITIONS:
            raise ValueError(
                f"channels x height x width = {self.dims} sequence positions is more than image-gpt's "
                f"{MAX_POSITIONS} (attention costs their square); use smaller images"
            )
        return self


class Block(nn.Module):
    """Pre-norm transformer block: x + attn(LN(x)), then x + MLP(LN(x)); attention is causal."""

    def __init__(self, width: int, heads: int, mlp_ratio: int):
        super().__init__()
        self.heads = heads
        self.norm1 = nn.LayerNorm(width)
        self.qkv = nn.Linear(width, 3 * width)
        self.proj = nn.Linear(width, width)
        self.norm2 = nn.LayerNorm(width)
        self.mlp = nn.Sequential(nn.Linear(width, mlp_ratio * width), nn.GELU(), nn.Linear(mlp_ratio * width, width))

    def split_heads(self, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """q, k, v of ``h`` (..., N, width) as (..., heads, N, width / heads)."""
        *lead, N, D = h.shape
        qkv = self.qkv(self.norm1(h)).view(*lead, N, 3, self.heads, D // self.heads)
        return qkv.movedim(-3, 0).transpose(-3, -2).unbind(0)

    def finish(self, h: torch.Tensor, attended: torch.Tensor) -> torch.Tensor:
        """The rest of the block after attention: ``attended`` (..., heads, N, head dims) back into ``h``."""
        h = h + self.proj(attended.transpose(-3, -2).flatten(-2))
        return h + self.mlp(self.norm2(h))

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        q, k, v = self.split_heads(h)
        return self.finish(h, F.scaled_dot_product_attention(q, k, v, is_causal=True))


class ImageGPT(AutoregressiveModel):
    """A causal transformer over the C*H*W raster sequence, one categorical per position."""

    architecture = "image-gpt"
    config_class = ImageGPTConfig

    def __init__(self, config: ImageGPTConfig):
        super().__init__(config)
        D, L, N = config.hidden, config.levels, config.dims
        self.token = nn.Embedding(L, D)
        # the value's scaled intensity times a learned direction, added to its token embedding: the
        # network input goes through self.scale (the contract kit's gradient checks hook in there),
        # and it tells the model that levels are ordered
        self.intensity = nn.Parameter(torch.zeros(D))
        self.start = nn.Parameter(torch.zeros(D))
        self.position = nn.Parameter(torch.zeros(N, D))
        self.class_embedding = nn.Embedding(config.num_classes, D) if config.num_classes else None
        self.blocks = nn.ModuleList(Block(D, config.heads, config.mlp_ratio) for _ in range(config.layers))
        self.norm = nn.LayerNorm(D)
        self.head = nn.Linear(D, L)
        for p in (self.intensity, self.start, self.position, self.token.weight):
            nn.init.normal_(p, std=0.02)

    def embed(self, values: torch.Tensor, scaled: torch.Tensor) -> torch.Tensor:
        """Input vectors of pixel values ``values`` (int64, any shape) with their ``scaled`` intensities."""
        return self.token(values) + scaled[..., None] * self.intensity

    def raster(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) -> (B, C*H*W) in zoo raster order: channels inside a pixel."""
        return x.permute(0, 2, 3, 1).reshape(x.shape[0], -1)

    def logits(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        cfg = self.config
        B = x.shape[0]
        tokens = self.embed(self.raster(x), self.raster(self.scale(x)))
        h = torch.cat([self.start.expand(B, 1, -1), tokens[:, :-1]], 1) + self.position  # shifted by one
        if labels is not None:
            h = h + self.class_embedding(labels)[:, None]
        for block in self.blocks:
            h = block(h)
        out = self.head(self.norm(h))  # (B, C*H*W, levels)
        return out.view(B, cfg.height, cfg.width, cfg.channels, cfg.levels).permute(0, 4, 3, 1, 2)

    def incremental_sampler(self, n: int, labels: torch.Tensor | None = None):
        return KVCacheSampler(self, n, labels)
