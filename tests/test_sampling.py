"""The generic sampler: right distribution, raster and channel order, completion, reproducibility."""

import itertools

import numpy as np
import pytest
import torch
from PIL import Image

import zoo
from zoo.errors import ImageError
from zoo.figures import image_grid, save_grid
from zoo.sampling import NaiveSampler, draw, occlusion_mask


class Chain(zoo.AutoregressiveModel):
    """Two pixels, two channels, three levels; each value's distribution depends on all before it."""

    architecture = "chain-test"

    def __init__(self, config=None):
        super().__init__(config or zoo.ModelConfig(channels=2, height=1, width=2, levels=3))
        g = torch.Generator().manual_seed(3)
        self.table = torch.nn.Parameter(torch.randn(4, 3**3, 3, generator=g) * 1.5)

    def logits(self, x):
        B = x.shape[0]
        flat = x.permute(0, 2, 3, 1).reshape(B, 4)  # raster order: (p0 c0, p0 c1, p1 c0, p1 c1)
        out = []
        for k in range(4):
            # index the table by the values before position k (zeroed after it)
            prefix = flat[:, :k]
            idx = (prefix * (3 ** torch.arange(k))).sum(1) if k else torch.zeros(B, dtype=torch.long)
            out.append(self.table[k, idx])
        logits = torch.stack(out, -1)  # (B, levels, 4)
        return logits.view(B, 3, 1, 2, 2).permute(0, 1, 4, 2, 3)


def exact_probs(model):
    images = torch.tensor(list(itertools.product(range(3), repeat=4))).view(-1, 1, 2, 2).permute(0, 3, 1, 2)
    with torch.no_grad():
        return images, model.log_prob(images).exp()


def test_chain_model_is_normalised():
    _, probs = exact_probs(Chain())
    assert abs(probs.sum().item() - 1) < 1e-5


def test_samples_follow_the_model_distribution():
    model = Chain()
    images, probs = exact_probs(model)
    samples = model.sample(20000, generator=torch.Generator().manual_seed(0))
    codes = lambda t: (t.permute(0, 2, 3, 1).reshape(len(t), 4) * (3 ** torch.arange(4))).sum(1)  # noqa: E731
    freq = torch.bincount(codes(samples), minlength=81).double() / len(samples)
    expected = torch.zeros(81, dtype=torch.double)
    expected[codes(images)] = probs.double()
    assert (freq - expected).abs().max() < 0.012
    # the sampler's own log-probabilities agree: KL(empirical || model) is tiny
    assert torch.allclose(freq.sum(), torch.tensor(1.0, dtype=torch.double))


def test_completion_conditions_on_known_pixels():
    model = Chain()
    x = torch.tensor([[[[2, 0]], [[1, 0]]]]).repeat(20000, 1, 1, 1)  # pixel 0 known = (2, 1)
    known = torch.zeros(1, 2, 1, 2, dtype=torch.bool)
    known[..., 0] = True
    done = model.complete(x, known, generator=torch.Generator().manual_seed(1))
    assert (done[:, :, 0, 0] == torch.tensor([2, 1])).all()
    images, probs = exact_probs(model)
    keep = (images[:, 0, 0, 0] == 2) & (images[:, 1, 0, 0] == 1)
    cond = probs[keep] / probs[keep].sum()
    second = done[:, 0, 0, 1] * 3 + done[:, 1, 0, 1]
    freq = torch.bincount(second, minlength=9).double() / len(done)
    order = images[keep][:, 0, 0, 1] * 3 + images[keep][:, 1, 0, 1]
    assert (freq[order] - cond.double()).abs().max() < 0.015


def test_seeded_sampling_is_reproducible_and_temperature_sharpens():
    model = Chain()
    a = model.sample(50, generator=torch.Generator().manual_seed(5))
    b = model.sample(50, generator=torch.Generator().manual_seed(5))
    assert torch.equal(a, b)
    cold = model.sample(200, generator=torch.Generator().manual_seed(5), temperature=1e-3)
    assert (cold == cold[0]).all()  # near-greedy: one image


def test_draw_inverse_cdf():
    logits = torch.log(torch.tensor([[0.2, 0.3, 0.5]])).repeat(30000, 1)
    values = draw(logits, 1.0, torch.Generator().manual_seed(0))
    freq = torch.bincount(values, minlength=3).double() / 30000
    assert torch.allclose(freq, torch.tensor([0.2, 0.3, 0.5], dtype=torch.double), atol=0.01)


def test_bad_arguments_are_rejected():
    model = Chain()
    with pytest.raises(ValueError, match="temperature must be > 0"):
        model.sample(2, temperature=0)
    with pytest.raises(ValueError, match="n must be a positive integer"):
        model.sample(0)
    with pytest.raises(ValueError, match="method must be one of auto, naive, fast"):
        model.sample(2, method="quick")
    with pytest.raises(ValueError, match="has no fast sampler"):
        model.sample(2, method="fast")
    x = torch.zeros(1, 2, 1, 2, dtype=torch.long)
    with pytest.raises(ImageError, match="known must be a bool tensor"):
        model.complete(x, torch.ones_like(x))
    with pytest.raises(ImageError, match="does not broadcast"):
        model.complete(x, torch.ones(3, 3, dtype=torch.bool))


def test_occlusion_masks():
    m = occlusion_mask((3, 4, 4), "bottom-half")
    assert m[:, :2].all() and not m[:, 2:].any()
    assert not occlusion_mask((1, 4, 4), "right-half")[:, :, 2:].any()
    with pytest.raises(ValueError, match="occlude must be"):
        occlusion_mask((1, 4, 4), "middle")


def test_png_grid(tmp_path):
    images = torch.randint(0, 17, (10, 1, 8, 8))
    grid = image_grid(images, 17, nrow=5)
    assert grid.shape == (2 * 9 + 1, 5 * 9 + 1) and grid.dtype == np.uint8
    assert grid[1:9, 1:9].tolist() == (images[0, 0].float() * 255 / 16).round().to(torch.uint8).tolist()
    path = save_grid(torch.randint(0, 256, (4, 3, 4, 4)), 256, tmp_path / "g.png")
    assert Image.open(path).mode == "RGB"


def per_step_sampler(model, x, known, generator, temperature=1.0):
    """Today's sampler before the uniforms were drawn up front: one CPU draw and round trip per value."""
    sampler = model.incremental_sampler(x.shape[0]) or NaiveSampler(model)
    sampler.start(x)
    _, C, H, W = x.shape
    for i in range(H):
        for j in range(W):
            for c in range(C):
                logits = sampler.logits_at(x, i, j, c)
                probs = torch.softmax(logits.double() / temperature, dim=-1)
                u = torch.rand(probs.shape[0], 1, generator=generator, dtype=torch.float64, device="cpu")
                value = (probs.cumsum(-1).cpu() < u).sum(-1).clamp_(max=probs.shape[-1] - 1)
                x[:, c, i, j] = value if known is None else torch.where(known[:, c, i, j], x[:, c, i, j], value)
    return x


@pytest.mark.parametrize("block", [None, 1])
def test_uniforms_drawn_up_front_give_the_per_step_samples(block):
    from zoo.sampling import UNIFORMS_PER_BLOCK, complete_autoregressive, sample_autoregressive

    block = block or UNIFORMS_PER_BLOCK  # 1: draw a row at a time, as for very many images
    torch.manual_seed(0)
    model = zoo.create("pixelcnn", channels=3, height=5, width=4, levels=4, hidden=6, layers=1).eval()
    with torch.no_grad():
        for method in ("fast", "naive"):
            g = torch.Generator().manual_seed(7)
            ours = sample_autoregressive(model, 3, g, temperature=0.8, method=method, uniforms_per_block=block)
            ref = per_step_sampler(
                model,
                torch.zeros(3, 3, 5, 4, dtype=torch.long),
                None,
                torch.Generator().manual_seed(7),
                temperature=0.8,
            )
            assert torch.equal(ours, ref), method
        images = torch.randint(0, 4, (3, 3, 5, 4))
        known = occlusion_mask((3, 5, 4), "bottom-half")
        g = torch.Generator().manual_seed(8)
        ours = complete_autoregressive(model, images, known, g, uniforms_per_block=block)
        ref = per_step_sampler(model, images.clone(), known.expand(3, -1, -1, -1), torch.Generator().manual_seed(8))
        assert torch.equal(ours, ref)
    chain = Chain()
    assert torch.equal(
        chain.sample(64, generator=torch.Generator().manual_seed(2)),
        per_step_sampler(chain, torch.zeros(64, 2, 1, 2, dtype=torch.long), None, torch.Generator().manual_seed(2)),
    )


def test_one_draw_of_many_uniforms_is_the_stream_of_many_small_draws():
    from zoo.sampling import draw_uniforms

    up_front = draw_uniforms(300, (3, 4, 5), torch.Generator().manual_seed(1), "cpu")
    g = torch.Generator().manual_seed(1)
    steps = torch.stack([torch.rand(300, 1, generator=g, dtype=torch.float64) for _ in range(4 * 5 * 3)])
    assert torch.equal(up_front.flatten(0, 2), steps)


def test_fast_samplers_run_on_one_thread_and_the_count_comes_back():
    """Per-position steps are tiny: OpenMP threads waiting for each other cost more than they save."""
    model = zoo.create("fvsbn", height=3, width=3, levels=2)
    seen = []
    fast = model.incremental_sampler

    def recording(n, labels=None):
        sampler = fast(n, labels)
        step = sampler.logits_at

        def logits_at(x, i, j, c):
            seen.append(torch.get_num_threads())
            return step(x, i, j, c)

        sampler.logits_at = logits_at
        return sampler

    model.incremental_sampler = recording
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        model.sample(2, method="fast")
        assert set(seen) == {1} and torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)
