"""The default Evaluator: NLL and bits/dim, extra metrics, and metrics written into config.json."""

from __future__ import annotations

import json
import math

import pytest
import torch

import zoo
from zoo import evaluate
from zoo.builtin.independent import Independent
from zoo.data import ImageSet, load_dataset
from zoo.evaluation import DefaultEvaluator, EvalResult, bits_per_dim, record_metrics


def test_bits_per_dim_formula():
    assert bits_per_dim(64 * math.log(17), 64) == pytest.approx(math.log2(17))
    t = bits_per_dim(torch.tensor([math.log(2.0) * 10]), 10)
    assert torch.allclose(t, torch.tensor([1.0]))


def test_uniform_model_scores_log2_levels():
    model = zoo.create("independent")  # zero logits: uniform over 17 levels
    result = DefaultEvaluator().evaluate(model, load_dataset("digits", "test"))
    assert isinstance(result, EvalResult)
    assert result.n_images == 360 and result.split == "test" and result.dataset == "digits"
    assert result.nll_nats == pytest.approx(64 * math.log(17), rel=1e-6)
    assert result.bits_per_dim == pytest.approx(math.log2(17), rel=1e-6)
    assert result.extra == {}


def test_result_independent_of_batch_size_and_mode_restored():
    torch.manual_seed(0)
    model = zoo.create("independent")
    with torch.no_grad():
        model.logit_table.normal_()
    data = load_dataset("digits", "val")
    model.train()
    a = DefaultEvaluator().evaluate(model, data, batch_size=7)
    b = DefaultEvaluator().evaluate(model, data, batch_size=256)
    assert model.training  # evaluation switched to eval mode and back
    assert a.nll_nats == pytest.approx(b.nll_nats, rel=1e-9)
    with torch.no_grad():
        expected = float(-model.log_prob(data.images).double().mean())
    assert a.nll_nats == pytest.approx(expected, rel=1e-6)


class WithBound(Independent):
    """Independent plus a looser per-image 'bound' (nll + 2 nats) reported through metrics()."""

    def metrics(self, x):
        assert not self.training and not torch.is_grad_enabled()
        return {"elbo": -self.log_prob(x) + 2.0}


def test_model_metrics_land_in_extra():
    model = WithBound(Independent.config_class())
    result = DefaultEvaluator().evaluate(model, load_dataset("digits", "test", limit=50))
    assert result.extra["elbo"] == pytest.approx(result.nll_nats + 2.0, rel=1e-6)
    assert result.extra["elbo_bits_per_dim"] == pytest.approx(bits_per_dim(result.nll_nats + 2.0, 64), rel=1e-6)


def test_mismatched_data_is_a_clear_error():
    model = zoo.create("independent", levels=2)
    with pytest.raises(zoo.DatasetError, match="17 levels, but the independent model was built for .* 2 levels"):
        DefaultEvaluator().evaluate(model, load_dataset("digits", "test"))
    bad = ImageSet(torch.zeros(3, 1, 4, 4, dtype=torch.uint8), None, 17, "tiny", "test")
    with pytest.raises(zoo.DatasetError, match=r"\(1, 4, 4\)"):
        DefaultEvaluator().evaluate(zoo.create("independent"), bad)


def test_evaluate_folder_and_record_metrics(tmp_path):
    model = zoo.create("independent", levels=2)
    val_metrics = {
        "split": "val",
        "dataset": "digits-binarized",
        "n_images": 1,
        "nll_nats": 1.0,
        "bits_per_dim": 0.1,
        "extra": {},
    }
    zoo.save_pretrained(model, tmp_path, dataset="digits-binarized", metrics={"val": val_metrics})
    result = evaluate(tmp_path, "digits-binarized", split="test", limit=20)
    assert result.n_images == 20 and result.bits_per_dim == pytest.approx(1.0, rel=1e-6)
    metrics = record_metrics(tmp_path, result)
    stored = json.loads((tmp_path / "config.json").read_text())
    assert stored["metrics"]["test[:20]"] == result.model_dump() == metrics["test[:20]"]  # a part is kept apart
    assert "test" not in stored["metrics"] and result.options == {"limit": 20}
    assert stored["metrics"]["val"] == val_metrics  # other splits are kept
    assert zoo.load(tmp_path).pretrained_info["metrics"]["test[:20]"]["n_images"] == 20
    with pytest.raises(zoo.UnknownNameError, match="unknown evaluator"):
        evaluate(tmp_path, "digits-binarized", evaluator="defualt")
