"""The trainer's averaged weights (ema), warm-up and budgets (max_steps, max_minutes), and exact resume with them."""

from __future__ import annotations

import json
import math

import pytest
import torch

import zoo
from zoo import train
from zoo.data import ImageSet
from zoo.training import DefaultTrainer, TrainConfig, TrainResult, TrainStep
from zoo.weights import load_tensors

from ._train_models import Noisy, NoisyConfig

FAST = dict(progress=False, device="cpu")


def bits(n=64, seed=0):
    torch.manual_seed(seed)
    return ImageSet(torch.randint(0, 2, (n, 1, 4, 4), dtype=torch.uint8), None, 2, "bits", "train")


def last_checkpoint(out):
    latest = json.loads((out / "checkpoints" / "latest.json").read_text())
    return load_tensors(out / "checkpoints" / latest["tensors"]), latest["state"]


@pytest.fixture
def step_lrs(monkeypatch):
    """The learning rate of every optimizer step the trainer takes, in order."""
    seen: list[float] = []
    call = TrainStep.__call__

    def recording(self, x, step, **labels):
        seen.append(self.opt.param_groups[0]["lr"])
        return call(self, x, step, **labels)

    monkeypatch.setattr(TrainStep, "__call__", recording)
    return seen


# -- ema -------------------------------------------------------------------------------------------


def test_ema_is_the_hand_computed_average_of_the_steps_weights(tmp_path):
    """12 SGD steps on a toy; the EMA's decay ramps in as min(decay, (1 + n) / (10 + n)) after n updates."""
    model = zoo.create("independent", levels=2, height=4, width=4)
    before_each_step = []
    loss = model.loss

    def recording(x):
        before_each_step.append(model.logit_table.detach().double().clone())
        return loss(x)

    model.loss = recording
    cfg = TrainConfig(epochs=3, batch_size=16, lr=0.5, optimizer="sgd", momentum=0.0, ema=0.9, **FAST)
    DefaultTrainer().fit(model, bits(), None, cfg, out=tmp_path)
    tensors, _ = last_checkpoint(tmp_path)
    raw = tensors["model.logit_table"].double()
    after_each_step = before_each_step[1:] + [raw]
    assert len(after_each_step) == 12
    average = after_each_step[0]
    for n, weights in enumerate(after_each_step[1:], start=1):
        decay = min(0.9, (1 + n) / (10 + n))
        average = decay * average + (1 - decay) * weights
    assert torch.allclose(model.logit_table.double(), average, rtol=0, atol=1e-6)  # the model ends averaged
    assert torch.equal(model.logit_table, tensors["ema.module.logit_table"])
    assert int(tensors["ema.n_averaged"]) == 12
    assert (model.logit_table.double() - raw).abs().max() > 1e-3  # the average is not the last weights


def test_ema_weights_are_validated_kept_and_saved(tmp_path):
    out = train(
        "independent",
        "digits",
        tmp_path / "m",
        epochs=2,
        settings={"ema": 0.9, "batch_size": 32, "lr": 0.05, **FAST},
        dataset_options={"limit": 256},
    )
    saved = load_tensors(out / "model.safetensors")["logit_table"]
    assert torch.equal(saved, load_tensors(out / "checkpoints" / "best.safetensors")["logit_table"])
    tensors, _ = last_checkpoint(out)
    assert not torch.equal(saved, tensors["model.logit_table"])  # not the raw weights
    summary = TrainResult.model_validate_json((out / "train_result.json").read_text())
    meta = json.loads((out / "config.json").read_text())
    # the val NLL the trainer judged by is the saved (averaged) model's
    assert meta["metrics"]["val"]["nll_nats"] == pytest.approx(summary.best_val_nll, rel=1e-6)


def test_ema_off_by_default_and_bounded():
    assert TrainConfig().ema is None and TrainConfig().warmup == 0
    assert TrainConfig().max_steps is None and TrainConfig().max_minutes is None
    with pytest.raises(ValueError, match="ema"):
        TrainConfig(ema=1.0)


# -- warm-up ---------------------------------------------------------------------------------------


def test_warmup_ramps_the_lr_then_the_schedule_starts(step_lrs):
    base = dict(epochs=2, batch_size=16, lr=0.1, warmup=4, **FAST)  # 4 steps per epoch, 8 in all
    DefaultTrainer().fit(zoo.create("independent", levels=2, height=4, width=4), bits(), None, TrainConfig(**base))
    assert step_lrs == pytest.approx([0.025, 0.05, 0.075, 0.1, 0.1, 0.1, 0.1, 0.1])
    step_lrs.clear()
    DefaultTrainer().fit(
        zoo.create("independent", levels=2, height=4, width=4), bits(), None, TrainConfig(**base, schedule="cosine")
    )
    cosine = [0.1 * 0.5 * (1 + math.cos(math.pi * s / 4)) for s in range(4)]  # over the 4 steps after the warm-up
    assert step_lrs == pytest.approx([0.025, 0.05, 0.075, 0.1, *cosine])


# -- budgets ---------------------------------------------------------------------------------------


def test_a_budget_alone_lifts_the_epoch_limit():
    assert TrainConfig(max_minutes=60).epochs is None and TrainConfig(max_steps=5).epochs is None
    assert TrainConfig(max_steps=5, epochs=3).epochs == 3  # both given: whichever ends first
    with pytest.raises(ValueError, match="epochs=None needs a budget"):
        TrainConfig(epochs=None)


def test_max_steps_stops_at_the_step_and_saves(tmp_path):
    out = train(
        "independent",
        "digits",
        tmp_path / "m",
        settings={"max_steps": 5, "schedule": "cosine", "batch_size": 64, "lr": 0.05, **FAST},
        dataset_options={"limit": 256},
    )  # 4 steps an epoch: the budget ends one step into the second epoch
    summary = TrainResult.model_validate_json((out / "train_result.json").read_text())
    assert summary.steps == 5 and summary.epochs == 2 and summary.budget_spent == "max_steps"
    assert "val_nll" in summary.history[-1] and summary.best_val_nll is not None  # validated at the end
    assert summary.history[-1]["lr"] == pytest.approx(0.05 * 0.5 * (1 + math.cos(math.pi * 4 / 5)))  # cosine over 5
    _, state = last_checkpoint(out)
    assert state["step"] == 5 and state["budget_spent"] == "max_steps"
    assert (out / "model.safetensors").is_file() and (out / "checkpoints" / "best.safetensors").is_file()
    run = json.loads((out / "train_config.json").read_text())
    assert run["train_config"]["epochs"] is None and run["train_config"]["max_steps"] == 5
    # resumed with a larger budget it trains on; with the same one there is nothing left to do
    train("independent", "digits", out, resume=True, settings={"max_steps": 7})
    assert last_checkpoint(out)[1]["step"] == 7


def test_max_minutes_stops_and_resume_continues_its_clock(tmp_path, monkeypatch, step_lrs):
    monkeypatch.setenv("ZOO_TEST_STEP_SLEEP", "0.04")  # Noisy sleeps in each step
    data = bits(n=256)
    cfg = TrainConfig(batch_size=16, lr=0.1, schedule="cosine", max_minutes=0.02, **FAST)  # 1.2 s; 16 steps an epoch
    assert cfg.epochs is None
    torch.manual_seed(0)
    result = DefaultTrainer().fit(Noisy(NoisyConfig(height=4, width=4, levels=2)), data, None, cfg, out=tmp_path)
    assert result.budget_spent == "max_minutes"
    assert 3 <= result.steps <= 1.2 / 0.04 + 1
    _, state = last_checkpoint(tmp_path)
    assert state["seconds"] >= 1.2 and state["step"] == result.steps
    assert step_lrs[0] == pytest.approx(0.1, rel=0.02) and step_lrs[-1] < 0.02  # the cosine spans the minutes
    # doubling the budget on resume: the schedule goes on from the recorded time, not from the start
    step_lrs.clear()
    torch.manual_seed(0)
    more = DefaultTrainer().fit(
        Noisy(NoisyConfig(height=4, width=4, levels=2)),
        data,
        None,
        cfg.model_copy(update={"max_minutes": 0.04}),
        out=tmp_path,
        resume=True,
    )
    assert more.steps > result.steps and more.budget_spent == "max_minutes"
    assert step_lrs[0] <= 0.1 * 0.5 * (1 + math.cos(math.pi * 0.5)) + 1e-9


# -- exact resume with all of them -----------------------------------------------------------------


class Crash(RuntimeError):
    pass


@pytest.mark.parametrize("kill", [2, 7, 13, 20, "budget end"])
def test_resume_is_exact_with_ema_warmup_and_max_steps(tmp_path, digits_subsets, kill, monkeypatch):
    """8 steps an epoch, checkpoints every 3 steps, a budget of 21 steps: kills mid-epoch, after an
    epoch's end, and after the checkpoint of the budget's last step but before the run's end."""
    train_set, val_set = digits_subsets
    cfg = TrainConfig(
        batch_size=32, lr=0.05, seed=4, checkpoint_every=3, ema=0.8, warmup=5, schedule="cosine", max_steps=21, **FAST
    )

    def fresh():
        torch.manual_seed(9)
        return Noisy(NoisyConfig())

    reference = fresh()
    ref_result = DefaultTrainer().fit(reference, train_set, val_set, cfg, out=tmp_path / "ref")

    victim = fresh()
    if kill == "budget end":
        end_epoch = DefaultTrainer._end_epoch

        def dies_at_the_end(self, run):
            if run.state.budget_spent:
                raise Crash("killed at the budget's end")
            return end_epoch(self, run)

        monkeypatch.setattr(DefaultTrainer, "_end_epoch", dies_at_the_end)
    else:
        calls = {"n": 0}
        loss = victim.loss

        def dies(x):
            calls["n"] += 1
            if calls["n"] == kill:
                raise Crash(f"killed at step {kill}")
            return loss(x)

        victim.loss = dies
    with pytest.raises(Crash):
        DefaultTrainer().fit(victim, train_set, val_set, cfg, out=tmp_path / "run")
    monkeypatch.undo()
    again = fresh()
    result = DefaultTrainer().fit(again, train_set, val_set, cfg, out=tmp_path / "run", resume=True)

    assert all(torch.equal(a, b) for a, b in zip(again.state_dict().values(), reference.state_dict().values()))
    ref_last, ref_state = last_checkpoint(tmp_path / "ref")
    last, state = last_checkpoint(tmp_path / "run")
    assert "ema.module.logit_table" in last
    assert ref_last.keys() == last.keys() and all(torch.equal(ref_last[k], last[k]) for k in last)
    assert result.history == ref_result.history and result.steps == ref_result.steps == 21
    assert state["budget_spent"] == ref_state["budget_spent"] == "max_steps"
