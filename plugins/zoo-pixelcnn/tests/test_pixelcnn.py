"""PixelCNN: contract kit, blind spot, exact fast sampling, class conditioning."""

from __future__ import annotations

import json

import pytest
import torch

import zoo
from zoo.testing import allowed_context, check_fast_sampler, check_model, receptive_field


@pytest.mark.parametrize("gated", [False, True], ids=["plain", "gated"])
@pytest.mark.parametrize(
    "shape",
    [dict(channels=1, height=5, width=5, levels=3), dict(channels=3, height=4, width=4, levels=2)],
    ids=["grey", "colour"],
)
def test_contract(shape, gated):
    model = check_model("pixelcnn", hidden=6, layers=1, gated=gated, **shape)
    assert model.config.gated is gated


def test_plain_receptive_field_has_the_blind_spot():
    model = zoo.create("pixelcnn", height=8, width=8, hidden=4, layers=2)
    i, j = 4, 1
    field = receptive_field(model, i, j)[0]
    past = allowed_context((1, 8, 8), i, j, 0)[0]
    assert not (field & ~past).any()
    # the 7x7 mask-A kernel reaches (i-1, j+3); stacked 3x3 convs grow only up-right of it
    assert field[i - 1, j + 3] and field[i - 2, j + 4]
    # (i-1, j+4) comes before (i, j) in raster order yet is never seen: the blind spot
    assert not field[i - 1, j + 4 :].any()
    assert (past & ~field).sum() >= 5


def test_gated_receptive_field_has_no_blind_spot():
    plain = zoo.create("pixelcnn", height=6, width=6, hidden=4, layers=2)
    gated = zoo.create("pixelcnn", height=6, width=6, hidden=4, layers=2, gated=True)
    past = allowed_context((1, 6, 6), 5, 1, 0)
    assert torch.equal(receptive_field(gated, 5, 1), past)  # every earlier pixel, nothing else
    assert not receptive_field(plain, 5, 1)[0, 4, 5]  # the plain one misses (4, 5)


def test_colour_receptive_field_follows_channel_order():
    # the field is read off gradients: random non-zero weights, so an unlucky init cannot hide a connection
    model = _trained_like(
        zoo.create("pixelcnn", channels=3, height=4, width=4, levels=4, hidden=6, layers=1, gated=True)
    )
    for c in range(3):
        field = receptive_field(model, 3, 3, c)
        assert torch.equal(field[:, 3, 3], torch.arange(3) < c)  # R sees none, G sees R, B sees R and G


CASES = [
    dict(channels=1, height=6, width=7, levels=4),
    dict(channels=3, height=5, width=4, levels=3),
]


def _trained_like(model):
    """Random non-zero weights everywhere so an indexing error cannot hide behind zeros."""
    g = torch.Generator().manual_seed(7)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * 0.3)
    return model.eval()


@pytest.mark.parametrize("gated", [False, True], ids=["plain", "gated"])
@pytest.mark.parametrize("shape", CASES, ids=["grey", "colour"])
def test_fast_sampling_is_exact_with_large_weights(shape, gated):
    """check_model checks fast == naive on a lightly trained model; here on larger random weights."""
    check_fast_sampler(_trained_like(zoo.create("pixelcnn", hidden=6, layers=2, gated=gated, **shape)))


@pytest.mark.parametrize("gated", [False, True], ids=["plain", "gated"])
def test_class_conditioning(gated):
    model = _trained_like(
        zoo.create("pixelcnn", height=5, width=5, levels=3, hidden=4, layers=1, num_classes=4, gated=gated)
    )
    x = torch.randint(0, 3, (4, 1, 5, 5))
    a = model.log_prob(x, labels=torch.tensor([0, 1, 2, 3]))
    b = model.log_prob(x, labels=torch.tensor([1, 1, 2, 3]))
    assert a.shape == (4,) and a[0] != b[0] and torch.equal(a[1:], b[1:])
    with pytest.raises(ValueError, match="class-conditional"):
        model.log_prob(x)
    with pytest.raises(ValueError, match=r"0\.\.3"):
        model.log_prob(x, labels=torch.tensor([0, 1, 2, 4]))
    with pytest.raises(ValueError, match="shape"):
        model.sample(2, labels=torch.tensor([0, 1, 2]))
    labels = torch.tensor([0, 3, 3])
    naive = model.sample(3, generator=torch.Generator().manual_seed(2), method="naive", labels=labels)
    fast = model.sample(3, generator=torch.Generator().manual_seed(2), method="fast", labels=labels)
    assert torch.equal(naive, fast)
    known = zoo.sampling.occlusion_mask((1, 5, 5), "bottom-half")
    done = [
        model.complete(x[:3], known, generator=torch.Generator().manual_seed(4), method=m, labels=labels)
        for m in ("naive", "fast")
    ]
    assert torch.equal(*done)
    assert not hasattr(model, "_labels")  # labels are arguments all the way down, never state on the model
    uncond = zoo.create("pixelcnn", height=5, width=5, levels=3, hidden=4, layers=1)
    with pytest.raises(ValueError, match="unconditional"):
        uncond.sample(2, labels=torch.tensor([0, 1]))


def test_config_errors():
    with pytest.raises(ValueError, match="hidden=.* must be a multiple of channels=3"):
        zoo.create("pixelcnn", channels=3, hidden=8)
    with pytest.raises(ValueError, match="hiden"):
        zoo.create("pixelcnn", hiden=8)


def test_quickly_trained_model_beats_the_independent_baseline(tmp_path):
    from zoo import evaluate, train
    from zoo.data import load_dataset

    # the baseline at its optimum: per-pixel level frequencies of the training split (add-one smoothed)
    train_set = load_dataset("digits", "train")
    baseline = zoo.create("independent", levels=17)
    counts = torch.nn.functional.one_hot(train_set.images.long(), 17).sum(0).permute(3, 0, 1, 2)
    with torch.no_grad():
        baseline.logit_table.copy_((counts + 1.0).log())
    base = evaluate(baseline, "digits", split="test")

    torch.manual_seed(0)
    out = train(
        "pixelcnn",
        "digits",
        tmp_path / "run",
        settings=dict(hidden=32, layers=2, epochs=4, lr=3e-3, batch_size=32, progress=False),
    )
    result = evaluate(zoo.load(out), "digits", split="test")
    assert result.bits_per_dim < base.bits_per_dim - 0.2, (result.bits_per_dim, base.bits_per_dim)


def test_pretrained_entries_and_recipes():
    from zoo.recipes import Recipe
    from zoo.registry import get_registry
    from zoo.training import TrainConfig, split_settings
    from zoo_pixelcnn import PixelCNNConfig

    reg = get_registry()
    names = reg.list_models("pixelcnn-*", True)  # every entry, the unpublished CIFAR-10 one too
    assert set(names) >= {
        "pixelcnn-digits",
        "pixelcnn-digits-binarized",
        "pixelcnn-binarized-mnist",
        "pixelcnn-mnist",
        "pixelcnn-cifar10",
    }
    for name in names:
        entry = reg.entry(name)
        recipe = Recipe.parse(entry.recipe)
        assert recipe.architecture == "pixelcnn" and recipe.dataset == entry.dataset
        model_part, train_part = split_settings(PixelCNNConfig, recipe.settings)
        TrainConfig(**train_part)
        data = reg.dataset(entry.dataset)
        shape = dict(zip(("channels", "height", "width"), data.shape), levels=data.levels)
        zoo.create("pixelcnn", **shape, **model_part)  # the recipe builds a valid model for its data
        assert entry.repo_id == f"zoo-models/{name}" or entry.repo_id is None
        if entry.bundled:
            model = zoo.load(name)
            assert model.pretrained_info["metrics"]["test"]["bits_per_dim"] > 0
        else:
            assert not entry.published and entry.sha256 is None


def test_class_conditional_model_trains_evaluates_and_samples_through_the_core(tmp_path, capsys):
    """The default trainer and evaluator pass labels to a conditional model, and the labels matter."""
    from zoo import train
    from zoo.cli import main
    from zoo.data import load_dataset

    out = train(
        "pixelcnn",
        "digits-binarized",
        tmp_path / "c",
        epochs=4,
        settings={"hidden": 16, "layers": 1, "num_classes": 10, "lr": 0.01, "progress": False},
    )
    model = zoo.load(out)
    assert model.conditional and model.pretrained_info["metrics"]["val"]["nll_nats"] > 0
    test = load_dataset("digits-binarized", "test")
    x = test.images.long()
    with torch.no_grad():
        right = -model.log_prob(x, labels=test.labels).mean().item()
        wrong = -model.log_prob(x, labels=(test.labels + 1) % 10).mean().item()
    assert right < wrong - 1.0  # the class carries information the model uses
    assert main(["eval", str(out), "--dataset", "digits-binarized", "--json"]) == 0
    assert abs(json.loads(capsys.readouterr().out)["nll_nats"] - right) < 1e-3
    assert main(["sample", str(out), "--n", "10", "--label", "3", "--out", str(tmp_path / "s.png")]) == 0
    assert (
        main(["complete", str(out), "--dataset", "digits-binarized", "--n", "3", "--out", str(tmp_path / "f.png")]) == 0
    )
