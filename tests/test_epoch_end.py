"""The default trainer's pieces: the epoch end's ordered steps, validation through the evaluator, the schedule."""

from __future__ import annotations

import pytest
import torch

import zoo
from zoo.checkpoint import RunState
from zoo.data import load_dataset
from zoo.epoch_end import EPOCH_END
from zoo.evaluation import DefaultEvaluator
from zoo.schedule import Schedule
from zoo.training import DefaultTrainer, TrainConfig

FAST = dict(progress=False, device="cpu", tensorboard=False)


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits", "train", limit=128), load_dataset("digits", "val", limit=40)


def independent(seed=0):
    torch.manual_seed(seed)
    return zoo.create("independent", channels=1, height=8, width=8, levels=17)


def test_a_trainer_subclass_adds_a_step_after_the_others(digits, tmp_path):
    seen = []

    def note(run, end):  # after the checkpoint step: the position has moved on and the checkpoint holds it
        seen.append((end.record["epoch"], run.state.epoch, "val_nll" in end.record, run.checkpoints.exists()))

    class Noting(DefaultTrainer):
        epoch_end = (*EPOCH_END, note)

    cfg = TrainConfig(epochs=3, batch_size=64, validate_every=2, **FAST)
    Noting().fit(independent(), *digits, cfg, out=tmp_path / "run")
    # validated every 2 epochs and after the last
    assert seen == [(1, 1, False, True), (2, 2, True, True), (3, 3, True, True)]


def test_validation_is_the_default_evaluators_nll(digits):
    train, val = digits
    model = independent()
    result = DefaultTrainer().fit(model, train, val, TrainConfig(epochs=1, batch_size=32, **FAST))
    assert result.history[0]["val_nll"] == DefaultEvaluator().evaluate(model, val).nll_nats


def test_the_schedule_ends_cosine_where_the_first_budget_ends():
    state = RunState()
    cfg = TrainConfig(lr=1.0, schedule="cosine", epochs=10, max_steps=20, warmup=4)
    schedule = Schedule(cfg, steps_per_epoch=5)  # 50 steps of epochs, but max_steps ends the run at 20
    assert schedule.lr(state) == pytest.approx(0.25)  # step 1 of a 4-step warm-up
    state.step = 12
    assert schedule.progress(state) == pytest.approx(0.5) and schedule.lr(state) == pytest.approx(0.5)
    assert schedule.spent(state) is None and not schedule.finished(state)
    state.step, state.batch, state.budget_spent = 20, 4, "max_steps"
    assert schedule.spent(state) == "max_steps" and schedule.progress(state) == 1.0
    assert not schedule.finished(state)  # spent mid-epoch: that epoch's end is still to run
    state.batch = 0
    assert schedule.finished(state)
    assert schedule.epoch_name(3) == "epoch 3/10" and Schedule(TrainConfig(max_steps=5), 5).epoch_name(3) == "epoch 3"


def test_the_plateau_schedule_decays_after_patience_stalls():
    state = RunState()
    schedule = Schedule(TrainConfig(lr=1.0, schedule="plateau", plateau_patience=1, gamma=0.5), steps_per_epoch=1)
    for nll in (3.0, 2.0, 2.5, 2.5, None, 2.6):  # None: a skipped validation, which does not count
        schedule.observe(state, nll)
    assert state.lr_factor == 0.5 and schedule.lr(state) == 0.5 and state.plateau_best == 2.0
