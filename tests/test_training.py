"""The default trainer: train() end to end, settings routing, optimizers, schedules, early stopping, resume."""

from __future__ import annotations

import json
import math

import pytest
import torch

import zoo
from zoo import evaluate, train
from zoo.data import ImageSet
from zoo.training import DefaultTrainer, TrainConfig, TrainResult
from zoo.weights import load_tensors

from ._train_models import Noisy, NoisyConfig, Plugin

FAST = dict(progress=False, device="cpu")


@pytest.fixture
def noisy_registered():
    zoo.register_plugin(Plugin(), "training-test")
    yield
    zoo.unregister_plugin("training-test")


def fresh(seed=0, **config):
    torch.manual_seed(seed)
    return Noisy(NoisyConfig(**config))


def params(model):
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def same(a, b):
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


# -- the acceptance check -----------------------------------------------------------------


def test_train_independent_on_digits_beats_uniform(tmp_path):
    out = train("independent", "digits", tmp_path / "m", epochs=2, settings={"progress": False})
    result = evaluate(out, "digits", split="test")
    assert result.n_images == 360
    assert result.bits_per_dim < math.log2(17)  # the uniform model
    meta = json.loads((out / "config.json").read_text())
    assert meta["architecture"] == "independent" and meta["dataset"] == "digits"
    assert meta["metrics"]["val"]["split"] == "val" and meta["metrics"]["val"]["n_images"] == 180
    run = json.loads((out / "train_config.json").read_text())
    assert run["train_config"]["epochs"] == 2 and run["model_config"]["levels"] == 17
    summary = TrainResult.model_validate_json((out / "train_result.json").read_text())
    assert summary.epochs == 2 and summary.steps == 2 * math.ceil(1257 / 64)
    assert meta["metrics"]["val"]["nll_nats"] == pytest.approx(summary.best_val_nll, rel=1e-6)
    # the saved model is the best-validation checkpoint
    assert torch.equal(
        load_tensors(out / "model.safetensors")["logit_table"],
        load_tensors(out / "checkpoints" / "best.safetensors")["logit_table"],
    )


# -- settings ------------------------------------------------------------------------------------


def test_settings_go_to_model_or_trainer(tmp_path, noisy_registered):
    out = train(
        "noisy-independent",
        "digits-binarized",
        tmp_path / "a",
        settings={"hidden": 7, "lr": 0.01, "batch_size": 128, **FAST},
        epochs=1,
        dataset_options={"limit": 128},
    )
    run = json.loads((out / "train_config.json").read_text())
    assert run["model_config"] == {"channels": 1, "height": 8, "width": 8, "levels": 2, "hidden": 7}
    assert run["train_config"]["lr"] == 0.01 and run["train_config"]["batch_size"] == 128
    assert run["dataset_options"] == {"limit": 128}
    assert zoo.load(out).config.hidden == 7


def test_bad_settings_are_clear(tmp_path, noisy_registered):
    with pytest.raises(
        zoo.ZooError, match=r"unknown setting\(s\) 'hiden'.*did you mean 'hidden'.*training fields: .*batch_size"
    ):
        train("noisy-independent", "digits", tmp_path / "a", settings={"hiden": 3})
    with pytest.raises(zoo.ZooError, match="dataset 'digits' has levels=17; remove .*levels=2"):
        train("noisy-independent", "digits", tmp_path / "b", settings={"levels": 2})
    with pytest.raises(zoo.ZooError, match="invalid training settings: optimizer"):
        train("noisy-independent", "digits", tmp_path / "c", settings={"optimizer": "adamw"})
    with pytest.raises(zoo.UnknownNameError, match="unknown architecture"):
        train("noisy-independant", "digits", tmp_path / "d")
    with pytest.raises(Exception, match="lrr"):
        TrainConfig(lrr=0.1)


def test_existing_run_is_not_overwritten(tmp_path):
    settings = {"batch_size": 256, **FAST}
    out = train("independent", "digits", tmp_path / "m", epochs=1, settings=settings)
    with pytest.raises(zoo.ZooError, match="already holds a training run; resume it"):
        train("independent", "digits", out, epochs=1, settings=settings)


# -- reproducibility, optimizers, schedules, clipping ------------------------------------------------


def test_seeded_runs_are_reproducible(digits_subsets):
    train_set, val_set = digits_subsets
    cfg = TrainConfig(epochs=2, batch_size=32, lr=0.02, seed=1, **FAST)
    a, b, c = fresh(), fresh(), fresh()
    DefaultTrainer().fit(a, train_set, val_set, cfg)
    DefaultTrainer().fit(b, train_set, val_set, cfg)
    DefaultTrainer().fit(c, train_set, val_set, cfg.model_copy(update={"seed": 2}))
    assert same(params(a), params(b))
    assert not same(params(a), params(c))  # another seed: another data order and other draws


@pytest.mark.parametrize("optimizer", ["adam", "adagrad", "sgd", "rmsprop"])
def test_every_optimizer_lowers_the_loss(digits_subsets, optimizer):
    train_set, val_set = digits_subsets
    lr = {"adam": 0.05, "adagrad": 0.1, "sgd": 0.01, "rmsprop": 0.01}[optimizer]
    model = zoo.create("independent")
    result = DefaultTrainer().fit(
        model, train_set, val_set, TrainConfig(epochs=2, batch_size=32, lr=lr, optimizer=optimizer, **FAST)
    )
    assert result.best_val_nll < 64 * math.log(17) - 5


def test_schedules(digits_subsets):
    train_set, _ = digits_subsets
    base = dict(epochs=4, batch_size=128, lr=0.1, **FAST)  # 2 steps per epoch

    def lrs(**kw):
        result = DefaultTrainer().fit(zoo.create("independent"), train_set, None, TrainConfig(**base, **kw))
        return [h["lr"] for h in result.history]

    assert lrs(schedule="constant") == [0.1] * 4
    assert lrs(schedule="step", step_epochs=2, gamma=0.5) == pytest.approx([0.1, 0.1, 0.05, 0.05])
    cosine = lrs(schedule="cosine")  # the lr of each epoch's last step (steps 1, 3, 5, 7 of 8)
    assert cosine == pytest.approx([0.1 * 0.5 * (1 + math.cos(math.pi * s / 8)) for s in (1, 3, 5, 7)])


def test_plateau_schedule_and_early_stopping():
    # training pulls towards all-zero images while validation is all ones: val only gets worse
    zeros = ImageSet(torch.zeros(64, 1, 4, 4, dtype=torch.uint8), None, 2, "zeros", "train")
    ones = ImageSet(torch.ones(16, 1, 4, 4, dtype=torch.uint8), None, 2, "ones", "val")
    model = zoo.create("independent", levels=2, height=4, width=4)
    cfg = TrainConfig(
        epochs=10, batch_size=16, lr=0.05, patience=3, schedule="plateau", plateau_patience=0, gamma=0.5, **FAST
    )
    result = DefaultTrainer().fit(model, zeros, ones, cfg)
    assert result.stopped_early and result.epochs == 4 and result.best_epoch == 1
    assert [h["lr"] for h in result.history] == pytest.approx([0.05, 0.05, 0.025, 0.0125])
    # the model ends with the best (first) epoch's weights
    with torch.no_grad():
        val_nll = float(-model.log_prob(ones.images).mean())
    assert val_nll == pytest.approx(result.history[0]["val_nll"], rel=1e-5)
    with pytest.raises(zoo.ZooError, match="patience .* needs a validation split"):
        DefaultTrainer().fit(model, zeros, None, cfg)


def test_validate_every_skips_epochs_and_patience_counts_validations():
    zeros = ImageSet(torch.zeros(64, 1, 4, 4, dtype=torch.uint8), None, 2, "zeros", "train")
    ones = ImageSet(torch.ones(16, 1, 4, 4, dtype=torch.uint8), None, 2, "ones", "val")
    model = zoo.create("independent", levels=2, height=4, width=4)
    cfg = TrainConfig(epochs=7, batch_size=16, lr=0.05, validate_every=3, **FAST)
    result = DefaultTrainer().fit(model, zeros, ones, cfg)
    assert [h["epoch"] for h in result.history if "val_nll" in h] == [3, 6, 7]  # every 3rd, and the last
    assert result.best_epoch == 3
    model = zoo.create("independent", levels=2, height=4, width=4)
    cfg = TrainConfig(epochs=20, batch_size=16, lr=0.05, validate_every=2, patience=2, **FAST)
    result = DefaultTrainer().fit(model, zeros, ones, cfg)
    assert result.stopped_early and result.epochs == 6  # validations at 2, 4, 6: two without improvement


def test_checkpoints_from_before_a_new_setting_still_resume(tmp_path):
    """A TrainConfig field added after a checkpoint was written counts as its default on resume."""
    import json

    zeros = ImageSet(torch.zeros(32, 1, 4, 4, dtype=torch.uint8), None, 2, "zeros", "train")
    model = zoo.create("independent", levels=2, height=4, width=4)
    DefaultTrainer().fit(model, zeros, None, TrainConfig(epochs=1, batch_size=16, **FAST), out=tmp_path)
    latest = tmp_path / "checkpoints" / "latest.json"
    meta = json.loads(latest.read_text())
    del meta["train_config"]["validate_every"]
    latest.write_text(json.dumps(meta))
    result = DefaultTrainer().fit(
        model, zeros, None, TrainConfig(epochs=2, batch_size=16, **FAST), out=tmp_path, resume=True
    )
    assert result.epochs == 2
    with pytest.raises(zoo.ZooError, match="lr: 0.001 -> 0.5"):
        DefaultTrainer().fit(
            model, zeros, None, TrainConfig(epochs=3, batch_size=16, lr=0.5, **FAST), out=tmp_path, resume=True
        )


def test_gradient_clipping_bounds_each_step():
    data = ImageSet(torch.zeros(8, 1, 4, 4, dtype=torch.uint8), None, 2, "zeros", "train")
    model = zoo.create("independent", levels=2, height=4, width=4)
    before = params(model)["logit_table"]
    cfg = TrainConfig(epochs=1, batch_size=8, lr=1.0, optimizer="sgd", momentum=0.0, grad_clip=0.01, **FAST)
    DefaultTrainer().fit(model, data, None, cfg)
    moved = float((params(model)["logit_table"] - before).norm())
    assert moved == pytest.approx(0.01, rel=1e-4)  # unclipped, the gradient norm is 0.5 * sqrt(32)


def test_mismatched_data_and_bad_batch_are_errors(digits_subsets):
    train_set, _ = digits_subsets
    with pytest.raises(zoo.DatasetError, match="built for"):
        DefaultTrainer().fit(zoo.create("independent", levels=2), train_set, None, TrainConfig(**FAST))
    with pytest.raises(zoo.ZooError, match="loss became nan"):
        model = zoo.create("independent")
        with torch.no_grad():
            model.logit_table.fill_(float("nan"))
        DefaultTrainer().fit(model, train_set, None, TrainConfig(epochs=1, **FAST))


def test_resampled_training_images_change_per_epoch():
    seen = []
    base = torch.randint(0, 2, (32, 1, 4, 4), dtype=torch.uint8)

    def resample(epoch):
        seen.append(epoch)
        return base if epoch % 2 == 0 else 1 - base

    data = ImageSet(base, None, 2, "toy", "train", resample=resample)
    DefaultTrainer().fit(
        zoo.create("independent", levels=2, height=4, width=4), data, None, TrainConfig(epochs=3, batch_size=16, **FAST)
    )
    assert seen == [0, 1, 2]


def test_worker_processes_give_the_same_run(digits_subsets):
    train_set, _ = digits_subsets
    cfg = TrainConfig(epochs=1, batch_size=64, lr=0.02, **FAST)
    a, b = fresh(), fresh()
    DefaultTrainer().fit(a, train_set, None, cfg)
    DefaultTrainer().fit(b, train_set, None, cfg.model_copy(update={"num_workers": 1}))
    assert same(params(a), params(b))


# -- resume in process (the SIGKILL version is in test_resume.py) ------------------------------------


class Crash(RuntimeError):
    pass


def crash_at(model, step):
    """Make ``model.loss`` raise on its ``step``-th call, like a kill between two steps."""
    calls = {"n": 0}
    loss = model.loss

    def wrapped(x):
        calls["n"] += 1
        if calls["n"] == step:
            raise Crash(f"killed at step {step}")
        return loss(x)

    model.loss = wrapped


@pytest.mark.parametrize("kill_step", [2, 7, 9, 13, 17])
def test_interrupted_run_resumes_exactly(tmp_path, digits_subsets, kill_step):
    """8 steps per epoch, checkpoints every 3 steps: kills before any checkpoint, mid-epoch and at epoch ends."""
    train_set, val_set = digits_subsets
    cfg = TrainConfig(epochs=3, batch_size=32, lr=0.05, seed=4, checkpoint_every=3, **FAST)
    reference = fresh(seed=9)
    ref_result = DefaultTrainer().fit(reference, train_set, val_set, cfg, out=tmp_path / "ref")

    victim = fresh(seed=9)
    crash_at(victim, kill_step)
    with pytest.raises(Crash):
        DefaultTrainer().fit(victim, train_set, val_set, cfg, out=tmp_path / "run")
    again = fresh(seed=9)  # a new process would rebuild the model from the same seed
    result = DefaultTrainer().fit(again, train_set, val_set, cfg, out=tmp_path / "run", resume=True)

    assert same(params(again), params(reference))  # best weights
    ref_last = load_tensors(
        tmp_path
        / "ref"
        / "checkpoints"
        / json.loads((tmp_path / "ref" / "checkpoints" / "latest.json").read_text())["tensors"]
    )
    last = load_tensors(
        tmp_path
        / "run"
        / "checkpoints"
        / json.loads((tmp_path / "run" / "checkpoints" / "latest.json").read_text())["tensors"]
    )
    assert ref_last.keys() == last.keys() and all(torch.equal(ref_last[k], last[k]) for k in last)
    assert result.history == ref_result.history and result.steps == 24


def test_resume_extends_a_finished_run_and_checks_settings(tmp_path, digits_subsets):
    train_set, val_set = digits_subsets
    cfg = TrainConfig(epochs=2, batch_size=64, lr=0.05, **FAST)
    three = fresh()
    DefaultTrainer().fit(three, train_set, val_set, cfg.model_copy(update={"epochs": 3}), out=tmp_path / "three")
    two = fresh()
    DefaultTrainer().fit(two, train_set, val_set, cfg, out=tmp_path / "run")
    more = fresh()
    result = DefaultTrainer().fit(
        more, train_set, val_set, cfg.model_copy(update={"epochs": 3}), out=tmp_path / "run", resume=True
    )
    assert result.epochs == 3 and same(params(more), params(three))
    with pytest.raises(zoo.ZooError, match=r"different settings \(lr: 0.05 -> 0.1\)"):
        DefaultTrainer().fit(
            fresh(), train_set, val_set, cfg.model_copy(update={"lr": 0.1}), out=tmp_path / "run", resume=True
        )


def test_train_resume_reuses_stored_settings(tmp_path):
    out = train(
        "independent",
        "digits",
        tmp_path / "m",
        epochs=1,
        settings={"batch_size": 128, "lr": 0.05, **FAST},
        dataset_options={"limit": 256},
    )
    first = load_tensors(out / "model.safetensors")["logit_table"]
    train("independent", "digits", out, epochs=2, resume=True, settings={"progress": False})
    run = json.loads((out / "train_config.json").read_text())
    assert run["train_config"]["lr"] == 0.05 and run["train_config"]["epochs"] == 2
    assert run["dataset_options"] == {"limit": 256}
    state = json.loads((out / "checkpoints" / "latest.json").read_text())["state"]
    assert state["epoch"] == 2 and state["step"] == 4
    assert not torch.equal(first, load_tensors(out / "model.safetensors")["logit_table"])
    stored = (out / "train_config.json").read_text()
    with pytest.raises(zoo.ZooError, match=r"cannot resume with different settings \(lr: 0.05 -> 0.5\)"):
        train("independent", "digits", out, epochs=3, resume=True, settings={"lr": 0.5})
    assert (out / "train_config.json").read_text() == stored  # untouched by the refused resume
