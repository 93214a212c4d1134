"""The training objectives beyond the plain ELBO: the IWAE bound (objective=iwae) and the β-VAE (beta),
and the latent-traversal figure on the card."""

from __future__ import annotations

import json

import pytest
import torch

import zoo
from zoo.cards import write_model_card
from zoo.figures import curve_labels
from zoo.testing import check_model
from zoo_vae.bounds import elbo_terms, gaussian_kl

SMALL = dict(height=6, width=6, hidden=[16], latent=3, eval_samples=50)


def _images(n=6, seed=0):
    return torch.randint(0, 2, (n, 1, 6, 6), generator=torch.Generator().manual_seed(seed))


def _model(**extra):
    torch.manual_seed(0)
    model = zoo.create("vae-bernoulli", **{**SMALL, **extra})
    with torch.no_grad():  # q(z|x) away from the prior, so the KL and the importance weights matter
        model.encoder[-1].bias[:3] = 0.7
        model.encoder[-1].bias[3:] = -1.0
    return model


def _grads(model, value):
    model.zero_grad()
    value.backward()
    return [p.grad.clone() for p in model.parameters()]


@pytest.mark.parametrize(
    "extra", [{"objective": "iwae", "samples": 3}, {"beta": 4.0}, {"beta": 0.25, "estimator": "A"}]
)
def test_contract_kit(extra):
    check_model("vae-bernoulli", **{**SMALL, **extra})


def test_defaults_are_the_plain_sgvb_elbo():
    cfg = zoo.create("vae-bernoulli").config
    assert (cfg.objective, cfg.samples, cfg.estimator, cfg.beta) == ("elbo", 1, "B", 1.0)
    model = _model()
    x = _images()
    torch.manual_seed(3)
    loss = model.loss(x)
    torch.manual_seed(3)
    mu, logvar = model.encode(x)
    reference = -elbo_terms(model._log_lik_fn(x), mu, logvar, 1, "B").mean(0).mean()
    assert torch.equal(loss, reference)  # bit for bit what the loss was before objective and beta existed


def test_iwae_with_one_sample_is_the_estimator_a_elbo_value_and_gradient():
    model = _model(objective="iwae", samples=1)
    x = _images()
    iwae = model.iwae(x, generator=torch.Generator().manual_seed(1)).mean()
    elbo = model.elbo(x, samples=1, estimator="A", generator=torch.Generator().manual_seed(1)).mean()
    assert torch.allclose(iwae, elbo, atol=1e-5)
    for a, b in zip(_grads(model, iwae), _grads(model, elbo)):
        assert torch.allclose(a, b, atol=1e-5)
    torch.manual_seed(2)
    loss = model.loss(x)
    torch.manual_seed(2)
    assert torch.allclose(loss, -model.elbo(x, samples=1, estimator="A").mean(), atol=1e-5)


def test_iwae_bound_is_above_the_elbo_on_the_same_draws_and_grows_with_k():
    model = _model().eval()
    x = _images()
    k = 8
    with torch.no_grad():
        iwae = model.iwae(x, k=k, generator=torch.Generator().manual_seed(4))
        # the mean of the k log weights of the same draws: estimator A with L = k
        elbo = model.elbo(x, samples=k, estimator="A", generator=torch.Generator().manual_seed(4))
        assert (iwae >= elbo - 1e-5).all() and (iwae > elbo + 1e-3).any()  # Jensen, draw by draw
        g = torch.Generator().manual_seed(5)
        means = {k: torch.stack([model.iwae(x, k=k, generator=g) for _ in range(200)]).mean() for k in (1, 4, 16)}
    assert means[1] < means[4] < means[16], means


def test_iwae_gradient_is_the_self_normalized_weighted_sum_of_the_sample_gradients():
    model = _model(objective="iwae", samples=5)
    x = _images(2)
    mu, logvar = model.encode(x)
    log_w = elbo_terms(model._log_lik_fn(x), mu, logvar, 5, "A", torch.Generator().manual_seed(6))  # (k, B)
    weights = torch.softmax(log_w.detach(), 0)
    expected = _grads(model, (weights * log_w).sum())
    got = _grads(model, model.iwae(x, generator=torch.Generator().manual_seed(6)).sum())
    for a, b in zip(got, expected):
        assert torch.allclose(a, b, atol=1e-5)


def test_beta_weights_the_kl_in_the_loss_but_not_log_prob():
    plain, heavy = _model(), _model(beta=4.0)
    heavy.load_state_dict(plain.state_dict())
    x = _images()
    torch.manual_seed(7)
    l1 = plain.loss(x)
    torch.manual_seed(7)
    l4 = heavy.loss(x)
    mu, logvar = plain.encode(x)
    assert torch.allclose(l4 - l1, 3.0 * gaussian_kl(mu, logvar).mean(), atol=1e-4)
    lp = [m.eval().log_prob(x, k=20, generator=torch.Generator().manual_seed(8)) for m in (plain, heavy)]
    assert torch.equal(lp[0], lp[1])
    m = [mdl.metrics(x, generator=torch.Generator().manual_seed(9))["neg_elbo"] for mdl in (plain, heavy)]
    assert torch.equal(m[0], m[1])  # the reported ELBO is the true one too
    assert (
        "beta=4" in heavy.loss_estimator(heavy.config)
        and "IWAE bound, k=5" in curve_labels(_model(objective="iwae", samples=5))[1]["train"]
    )


@pytest.mark.parametrize(
    "bad, message",
    [
        ({"objective": "iwae", "beta": 2.0}, "objective=iwae has no separate KL term"),
        ({"objective": "vimco"}, "objective"),
        ({"beta": -1.0}, "beta"),
    ],
)
def test_bad_settings_are_named(bad, message):
    with pytest.raises(ValueError, match=message):
        zoo.create("vae-bernoulli", **bad)


def test_the_settings_are_recorded_in_config_json_and_load_back(tmp_path):
    model = _model(objective="iwae", samples=5)
    zoo.save_pretrained(model, tmp_path / "iwae")
    meta = json.loads((tmp_path / "iwae" / "config.json").read_text())
    assert meta["config"]["objective"] == "iwae" and meta["config"]["samples"] == 5 and meta["config"]["beta"] == 1.0
    back = zoo.load(tmp_path / "iwae")
    assert back.config == model.config
    zoo.save_pretrained(_model(beta=0.5), tmp_path / "beta")
    assert zoo.load(tmp_path / "beta").config.beta == 0.5


@pytest.mark.parametrize("name", ["vae-bernoulli-digits", "vae-gaussian-digits"])
def test_bundled_models_from_before_the_settings_load_as_plain_vaes(name):
    folder = zoo.get_registry().entry(name).folder
    stored = json.loads((folder / "config.json").read_text())["config"]
    assert "objective" not in stored and "beta" not in stored  # written before the fields existed
    model = zoo.load(name)  # and the sha256 pin of their weights is checked on the way
    assert (model.config.objective, model.config.beta) == ("elbo", 1.0)


def test_traversals_vary_one_latent_and_rank_the_active_ones_first():
    model = _model().eval()
    with torch.no_grad():
        model.decoder[0].weight[:, 1] = 0.0  # latent 1 is inactive: the decoder ignores it
    dims, images = model.traverse(span=2.0, steps=5)
    assert images.shape == (3, 5, 1, 6, 6) and dims[-1] == 1 and sorted(dims) == [0, 1, 2]
    assert ((images >= 0) & (images <= 1)).all()
    assert torch.allclose(images[-1], images[-1, :1].expand_as(images[-1]))  # the inactive row never changes
    same, centre = model.traverse(dims=[2], steps=3)
    assert same == [2] and torch.allclose(centre[0, 1], torch.sigmoid(model.decode(torch.zeros(1, 3)))[0])
    with pytest.raises(ValueError, match="dims must be latent indices in 0..2"):
        model.traverse(dims=[3])
    with pytest.raises(ValueError, match="steps"):
        model.traverse(steps=1)


def test_the_card_shows_the_traversal_figure_and_beta(tmp_path):
    model = _model(beta=4.0)
    zoo.save_pretrained(model, tmp_path)
    card = write_model_card(tmp_path, recipe="zoo train vae-bernoulli --dataset digits-binarized --set beta=4")
    text = card.read_text()
    figure = tmp_path / "figure-traversals.png"
    assert figure.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "## Latent traversals" in text and "(figure-traversals.png)" in text
    assert "| `beta` | 4" in text


def test_a_run_recorded_before_the_settings_existed_resumes(tmp_path):
    """The campaign's VAE runs wrote train_config.json without objective and beta: --resume must go on."""
    out = tmp_path / "run"
    settings = dict(latent=2, hidden=[8], eval_samples=5, batch_size=256, progress=False, tensorboard=False)
    zoo.train("vae-bernoulli", "digits-binarized", out=out, settings=settings, epochs=1)
    spec_file = out / "train_config.json"
    spec = json.loads(spec_file.read_text())
    for field in ("objective", "beta"):
        del spec["model_config"][field]
    spec_file.write_text(json.dumps(spec))
    zoo.train("vae-bernoulli", "digits-binarized", out=out, epochs=2, resume=True)
    assert json.loads((out / "train_result.json").read_text())["epochs"] == 2
    with pytest.raises(zoo.ConfigError, match="the model config"):  # a real change is still refused
        zoo.train("vae-bernoulli", "digits-binarized", out=out, epochs=3, resume=True, settings={"beta": 2.0})


def test_a_trained_vae_is_fine_tuned_on_the_iwae_bound(tmp_path):
    """`zoo train vae-bernoulli-binarized-mnist --set objective=iwae --set samples=5`: the loss changes, the
    weights carry over; a setting that changes the parameters is still refused."""
    base = zoo.create("vae-bernoulli", height=8, width=8, latent=2, hidden=[8], eval_samples=5)
    zoo.save_pretrained(base, tmp_path / "base")
    fast = dict(batch_size=256, progress=False, tensorboard=False, lr=1e-9)
    out = zoo.train(
        str(tmp_path / "base"),
        "digits-binarized",
        out=tmp_path / "ft",
        epochs=1,
        settings=dict(objective="iwae", samples=3, **fast),
    )
    tuned = zoo.load(out)
    assert (tuned.config.objective, tuned.config.samples, tuned.config.latent) == ("iwae", 3, 2)
    assert json.loads((out / "train_config.json").read_text())["model_config"]["objective"] == "iwae"
    for a, b in zip(base.state_dict().values(), tuned.state_dict().values()):
        assert torch.allclose(a, b, atol=1e-5)  # lr 1e-9: the weights it started from
    with pytest.raises(zoo.ConfigError, match=r"cannot set latent \(a fine-tune may set objective, samples"):
        zoo.train(str(tmp_path / "base"), "digits-binarized", out=tmp_path / "no", epochs=1, settings={"latent": 3})
