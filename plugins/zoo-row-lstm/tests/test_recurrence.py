"""The fast Row LSTM layers compute what the row loop of 64d3ba2 computed: outputs and every gradient.

The reference below is that commit's ``RowLSTMLayer.forward`` (a per-row Conv1d and the core's
lstm_cell through autograd), run on the same module's parameters.
"""

from __future__ import annotations

import pytest
import torch

import zoo
from zoo.layers import lstm_cell
from zoo_row_lstm.model import RowLSTMLayer


def reference_layer(layer: RowLSTMLayer, x: torch.Tensor) -> torch.Tensor:
    B, _, H, W = x.shape
    gates_in = layer.input_to_state(x)
    h = x.new_zeros(B, layer.hidden, W)
    c = x.new_zeros(B, layer.hidden, W)
    rows = []
    for r in range(H):
        h, c = lstm_cell(gates_in[:, :, r] + layer.state_to_state(h), c)
        rows.append(h)
    return torch.stack(rows, dim=2)


def reference_logits(model, x: torch.Tensor) -> torch.Tensor:
    out = model.input_conv(model.scale(x))
    for layer in model.lstm:
        out = out + reference_layer(layer, out)
    return model.head(out)


@pytest.mark.parametrize("colours,height,width", [(1, 5, 4), (3, 4, 1), (3, 1, 3)])
def test_layer_equals_the_row_loop_with_its_gradients(colours, height, width):
    torch.manual_seed(0)
    layer = RowLSTMLayer(6, colours).double()
    with torch.no_grad():  # random everything, biases and masked-out weights included
        for p in layer.parameters():
            p.normal_()
    x = torch.randn(3, 6, height, width, dtype=torch.float64, requires_grad=True)
    weight = torch.randn(3, 6, height, width, dtype=torch.float64)
    grads = []
    for forward in (layer, lambda x: reference_layer(layer, x)):
        layer.zero_grad()
        x.grad = None
        out = forward(x)
        (out * weight).sum().backward()
        grads.append((out.detach(), x.grad.clone(), [p.grad.clone() for p in layer.parameters()]))
    (new, new_dx, new_dp), (old, old_dx, old_dp) = grads
    torch.testing.assert_close(new, old, rtol=1e-10, atol=1e-10)
    torch.testing.assert_close(new_dx, old_dx, rtol=1e-10, atol=1e-10)
    for a, b in zip(new_dp, old_dp):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-10)


def test_bundled_mnist_model_gives_the_reference_log_prob_on_real_images(monkeypatch, real_data):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    model = zoo.load("row-lstm-binarized-mnist").eval()
    x = zoo.load_dataset("binarized-mnist", "test", limit=16, dynamic=True).images.long()
    with torch.no_grad():
        new = model.log_prob(x)
        logits = reference_logits(model, x).view(len(x), 1, 2, 28, 28).permute(0, 1, 3, 4, 2)
        old = torch.distributions.Categorical(logits=logits).log_prob(x).flatten(1).sum(1)
    assert (new - old).abs().max() < 1e-4, (new - old).abs().max()
    assert -120 < new.mean() < -60  # a real model on real digits, not a degenerate one
