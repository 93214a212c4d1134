"""The fast Diagonal BiLSTM layers compute what the skewed column loop of 64d3ba2 computed, gradients too.

The reference below is that commit's ``DiagonalLSTM`` and ``DiagonalBiLSTMLayer`` forward (skew,
a per-column Conv1d and the core's lstm_cell through autograd, flips for the second direction),
run on the same modules' parameters.
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

import zoo
from zoo.layers import lstm_cell
from zoo_diagonal_bilstm.model import DiagonalBiLSTMLayer, skew, unskew


def reference_direction(lstm, x, extra=None):
    B, _, H, W = x.shape
    gates_in = lstm.input_to_state(x)
    gates_in = skew(gates_in if extra is None else gates_in + extra)
    h = x.new_zeros(B, lstm.hidden, H)
    c = x.new_zeros(B, lstm.hidden, H)
    columns = []
    for k in range(W + H - 1):
        h, c = lstm_cell(gates_in[:, :, :, k] + lstm.state_to_state(F.pad(h, (1, 0))), c)
        columns.append(h)
    return unskew(torch.stack(columns, dim=3), W)


def reference_layer(layer, x, image=None):
    H = x.shape[2]
    extra = None if layer.image_to_state is None else layer.image_to_state(image.flip(3))
    right = reference_direction(layer.right_to_left, x.flip(3), extra).flip(3)
    right = F.pad(right, (0, 0, 1, 0))[:, :, :H]
    return reference_direction(layer.left_to_right, x) + right


def reference_logits(model, x):
    image = model.scale(x)
    out = model.input_conv(image)
    for layer in model.lstm:
        out = out + reference_layer(layer, out, image)
    return model.head(out)


@pytest.mark.parametrize(
    "colours,height,width,image", [(1, 5, 4, 1), (3, 4, 6, 3), (1, 1, 3, 0), (3, 4, 1, 0), (1, 3, 3, 0)]
)
def test_layer_equals_the_skewed_loop_with_its_gradients(colours, height, width, image):
    torch.manual_seed(0)
    layer = DiagonalBiLSTMLayer(6, colours, image_channels=image).double()
    with torch.no_grad():  # random everything, biases and masked-out weights included
        for p in layer.parameters():
            p.normal_()
    x = torch.randn(3, 6, height, width, dtype=torch.float64, requires_grad=True)
    img = torch.randn(3, image, height, width, dtype=torch.float64) if image else None
    weight = torch.randn(3, 6, height, width, dtype=torch.float64)
    grads = []
    for forward in (layer, lambda x, img: reference_layer(layer, x, img)):
        layer.zero_grad()
        x.grad = None
        out = forward(x, img)
        (out * weight).sum().backward()
        grads.append((out.detach(), x.grad.clone(), [p.grad.clone() for p in layer.parameters()]))
    (new, new_dx, new_dp), (old, old_dx, old_dp) = grads
    torch.testing.assert_close(new, old, rtol=1e-10, atol=1e-10)
    torch.testing.assert_close(new_dx, old_dx, rtol=1e-10, atol=1e-10)
    for a, b in zip(new_dp, old_dp):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-10)


def test_one_direction_equals_the_skewed_loop():
    torch.manual_seed(0)
    lstm = DiagonalBiLSTMLayer(4, 1).double().left_to_right
    x = torch.randn(2, 4, 3, 5, dtype=torch.float64)
    extra = torch.randn(2, 16, 3, 5, dtype=torch.float64)
    torch.testing.assert_close(lstm(x, extra), reference_direction(lstm, x, extra), rtol=1e-10, atol=1e-10)


def test_bundled_mnist_model_gives_the_reference_log_prob_on_real_images(monkeypatch, real_data):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    model = zoo.load("diagonal-bilstm-binarized-mnist").eval()
    x = zoo.load_dataset("binarized-mnist", "test", limit=16, dynamic=True).images.long()
    with torch.no_grad():
        new = model.log_prob(x)
        logits = reference_logits(model, x).view(len(x), 1, 2, 28, 28).permute(0, 1, 3, 4, 2)
        old = torch.distributions.Categorical(logits=logits).log_prob(x).flatten(1).sum(1)
    assert (new - old).abs().max() < 1e-4, (new - old).abs().max()
    assert -120 < new.mean() < -60  # a real model on real digits, not a degenerate one
