"""The Gated PixelCNN network (van den Oord et al. 2016b) and its cached stepper.

Two stacks remove the plain PixelCNN's blind spot. The *vertical* stack at (i, j) sees
only rows above i (its first conv reads rows i-3..i-1, later ones rows i-1..i of the stack
below), over the full kernel width, so it needs no colour mask. The *horizontal* stack sees
row i left of j through 1xk masked convs, plus a 1x1 link from the vertical stack.
Both use the gate tanh(a) * sigmoid(b); the horizontal stack is residual.

The stepper computes the vertical stack one whole row at a time (it never sees row i, so
the row can be computed as soon as row i-1 is sampled) and the horizontal stack one
position at a time from a cache of the current row.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from zoo.layers import MaskedConv2d

from .plain import for_group, group_rows, group_slice

INPUT_KERNEL = 7


def gate(t: torch.Tensor) -> torch.Tensor:
    a, b = t.chunk(2, dim=1)
    return torch.tanh(a) * torch.sigmoid(b)


def _add(t: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
    return t if bias is None else t + bias.view(*bias.shape, *([1] * (t.dim() - 2)))


class GatedLayer(nn.Module):
    """One gated layer of p maps per stack: 2x3 vertical conv, 1x2 (masked 1x3) horizontal conv."""

    def __init__(self, p: int, colours: int):
        super().__init__()
        self.v_conv = nn.Conv2d(p, 2 * p, (2, 3))  # rows i-1..i, cols j-1..j+1 of the stack below
        self.link = nn.Conv2d(2 * p, 2 * p, 1)
        self.h_conv = MaskedConv2d(p, 2 * p, (1, 3), "B", colours, out_chunks=2)
        self.h_out = MaskedConv2d(p, p, 1, "B", colours)

    def forward(self, v, h, v_bias=None, h_bias=None):
        vp = _add(self.v_conv(F.pad(v, (1, 1, 1, 0))), v_bias)
        hp = _add(self.h_conv(h) + self.link(vp), h_bias)
        return gate(vp), h + self.h_out(gate(hp))


class GatedNet(nn.Module):
    """Gated input layer (7-wide), ``layers`` gated residual layers, ReLU + 1x1 mask-B twice."""

    def __init__(self, channels: int, hidden: int, layers: int, levels: int):
        super().__init__()
        C, p, k = channels, 2 * hidden, INPUT_KERNEL
        self.v_in = nn.Conv2d(C, 2 * p, (k // 2, k))  # rows i-3..i-1
        self.h_in = MaskedConv2d(C, 2 * p, (1, k), "A", C, out_chunks=2)
        self.link_in = nn.Conv2d(2 * p, 2 * p, 1)
        self.layers = nn.ModuleList(GatedLayer(p, C) for _ in range(layers))
        self.head1 = MaskedConv2d(p, p, 1, "B", C)
        self.head2 = MaskedConv2d(p, C * levels, 1, "B", C)
        self.bias_sizes = [2 * p] * (2 + 2 * layers)  # (vertical, horizontal) per layer

    def forward(self, xs: torch.Tensor, biases: list | None = None) -> torch.Tensor:
        biases = biases or [None] * len(self.bias_sizes)
        r, H = INPUT_KERNEL // 2, xs.shape[2]
        vp = _add(self.v_in(F.pad(xs, (r, r, r, 0)))[:, :, :H], biases[0])
        hp = _add(self.h_in(xs) + self.link_in(vp), biases[1])
        v, h = gate(vp), gate(hp)
        for k, layer in enumerate(self.layers):
            v, h = layer(v, h, biases[2 + 2 * k], biases[3 + 2 * k])
        return self.head2(F.relu(self.head1(F.relu(h))))

    def stepper(self, n: int, height: int, width: int, biases: list | None) -> GatedStepper:
        return GatedStepper(self, n, height, width, biases)


def _d(t: torch.Tensor) -> torch.Tensor:
    return t.detach()


class GatedStepper:
    """Cached evaluation of a :class:`GatedNet`: vertical stack per row, horizontal per pixel.

    As in :class:`~zoo_pixelcnn.plain.PlainStepper`, the step for colour c computes only
    colour group c of the horizontal stack (in both gate chunks) and of the head.
    """

    def __init__(self, net: GatedNet, n: int, height: int, width: int, biases: list | None):
        self.net, self.n, self.H, self.W = net, n, height, width
        r = self.r = INPUT_KERNEL // 2
        C = net.h_in.colours
        p = self.p = net.head1.in_channels
        self.biases = biases or [None] * len(net.bias_sizes)
        h_in = (_d(net.h_in.weight * net.h_in.mask)[:, :, 0, : r + 1].flatten(1), _d(net.h_in.bias))  # cols j-3..j
        layers = []
        for layer in net.layers:
            wh = _d(layer.h_conv.weight * layer.h_conv.mask)[:, :, 0, :2].flatten(1)  # cols j-1..j
            layers.append(
                (
                    (wh, _d(layer.h_conv.bias)),
                    (_d(layer.h_out.weight * layer.h_out.mask).flatten(1), _d(layer.h_out.bias)),
                )
            )
        heads = [(_d(c.weight * c.mask).flatten(1), _d(c.bias)) for c in (net.head1, net.head2)]
        self.per_colour = []
        for c in range(C):
            # group c of both gate chunks, on the weights' device: a CPU index into a CUDA tensor
            # would be copied over, waiting for the device, at every step
            rows2 = group_rows(2 * p, C, c, chunks=2).to(net.head1.weight.device)
            self.per_colour.append(
                dict(
                    rows2=rows2,
                    g=group_slice(p, C, c),
                    h_in=for_group(h_in, C, c, chunks=2),
                    layers=[(for_group(wh, C, c, chunks=2), for_group(wo, C, c)) for wh, wo in layers],
                    head1=for_group(heads[0], C, c),
                    head2=for_group(heads[1], C, c),
                    bias=[None if b is None else b[:, rows2] for b in self.biases],
                )
            )
        zeros = lambda *shape: torch.zeros(*shape, dtype=h_in[0].dtype, device=h_in[0].device)  # noqa: E731
        self.gates = [zeros(n, p) for _ in net.layers]  # the current pixel's gate outputs, by group
        self.hout, self.head = zeros(n, p), zeros(n, p)
        self.hrows = [zeros(n, p, width + 1) for _ in net.layers]  # row i of each layer's input, pad 1
        self.xrow = zeros(n, C, width + r)  # row i of the scaled input, pad 3
        self.row = None

    def reset(self) -> None:
        self.row = None

    def start_row(self, xs_above: torch.Tensor, i: int) -> None:
        """Compute the vertical stack for row i from scale(x[:, :, i-3..i-1]) (clipped at the top)."""
        net, r = self.net, self.r
        with torch.no_grad():
            rows = F.pad(xs_above, (r, r, r - xs_above.shape[2], 0))
            vp = _add(net.v_in(rows), self.biases[0])  # (n, 2p, 1, W)
            self.links = [net.link_in(vp)[:, :, 0]]
            v = gate(vp)
            if i == 0:
                self.v_above = [torch.zeros_like(v) for _ in net.layers]
            for k, layer in enumerate(net.layers):
                both = torch.cat([self.v_above[k], v], dim=2)  # rows i-1, i of the stack below
                vp = _add(layer.v_conv(F.pad(both, (1, 1, 0, 0))), self.biases[2 + 2 * k])
                self.links.append(layer.link(vp)[:, :, 0])
                self.v_above[k] = v
                v = gate(vp)
        for t in (*self.hrows, self.xrow):
            t.zero_()
        self.row = i

    def at(self, xs_left: torch.Tensor, i: int, j: int, c: int) -> torch.Tensor:
        """Logits ``(n, levels)`` of colour c at (i, j); ``xs_left`` is scale(x[:, :, i, j-3..j]) clipped."""
        r, P, n = self.r, self.per_colour[c], self.n
        rows2, g = P["rows2"], P["g"]
        self.xrow[:, :, max(0, j - r) + r : j + r + 1] = xs_left
        hp = F.linear(self.xrow[:, :, j : j + r + 1].reshape(n, -1), *P["h_in"]) + self.links[0][:, rows2, j]
        h = gate(_add(hp, P["bias"][1]))  # group c of the input layer's output
        for k, (wh, wo) in enumerate(P["layers"]):
            self.hrows[k][:, g, j + 1] = h
            hp = F.linear(self.hrows[k][:, :, j : j + 2].reshape(n, -1), *wh) + self.links[k + 1][:, rows2, j]
            self.gates[k][:, g] = gate(_add(hp, P["bias"][3 + 2 * k]))
            h = self.hrows[k][:, g, j + 1] + F.linear(self.gates[k], *wo)
        self.hout[:, g] = h
        self.head[:, g] = F.relu(F.linear(F.relu(self.hout), *P["head1"]))
        return F.linear(self.head, *P["head2"])
