"""The clock of a run: the learning rate of each step (warm-up, then the schedule), the budgets, and when
the run is over.

:class:`Schedule` keeps no state of its own. Everything it reads or moves (the step, the epoch, the
training time, the plateau counters) lives in the :class:`~zoo.checkpoint.RunState`, which every
checkpoint holds, so a resumed run asks the same questions of the same numbers and continues its
schedule where it stopped. The train step asks it for the learning rate and whether a budget is spent;
the loop asks whether the run is over; the epoch end tells it the monitored NLL (the plateau schedule).
"""

from __future__ import annotations

import math
from typing import Literal

from .checkpoint import RunState
from .train_config import TrainConfig

__all__ = ["Schedule"]

Budget = Literal["max_steps", "max_minutes"]


class Schedule:
    """The learning-rate schedule, warm-up and budgets of ``cfg`` for a run of ``steps_per_epoch`` steps an epoch."""

    def __init__(self, cfg: TrainConfig, steps_per_epoch: int):
        self.cfg, self.steps_per_epoch = cfg, steps_per_epoch

    def progress(self, state: RunState) -> float:
        """How much of the run after the warm-up is spent, from 0 to 1, so that cosine reaches 0 where the run ends.

        The run ends at the first of its epochs, ``max_steps`` and ``max_minutes``: the progress is the
        largest of their shares. The time share is of the training time recorded in the run state, so
        a resumed run continues the schedule where it stopped.
        """
        cfg = self.cfg
        shares = []
        total = None if cfg.epochs is None else cfg.epochs * self.steps_per_epoch
        if cfg.max_steps is not None:
            total = cfg.max_steps if total is None else min(total, cfg.max_steps)
        if total is not None:
            shares.append((state.step - cfg.warmup) / max(1, total - cfg.warmup))
        if cfg.max_minutes is not None:
            span = 60 * cfg.max_minutes - state.warmup_seconds
            shares.append((state.seconds - state.warmup_seconds) / span if span > 0 else 1.0)
        return min(1.0, max([0.0, *shares]))

    def lr(self, state: RunState) -> float:
        """The learning rate of the next step: the schedule's, ramped linearly from lr/warmup over the warm-up."""
        cfg = self.cfg
        warm = min(1.0, (state.step + 1) / cfg.warmup) if cfg.warmup else 1.0
        if cfg.schedule == "cosine":
            return warm * cfg.lr * 0.5 * (1 + math.cos(math.pi * self.progress(state)))
        if cfg.schedule == "step":
            return warm * cfg.lr * cfg.gamma ** (state.epoch // cfg.step_epochs)
        if cfg.schedule == "plateau":
            return warm * cfg.lr * state.lr_factor
        return warm * cfg.lr

    def spent(self, state: RunState) -> Budget | None:
        """The budget that this state has used up, if any."""
        cfg = self.cfg
        if cfg.max_steps is not None and state.step >= cfg.max_steps:
            return "max_steps"
        if cfg.max_minutes is not None and state.seconds >= 60 * cfg.max_minutes:
            return "max_minutes"
        return None

    def finished(self, state: RunState) -> bool:
        """Whether the run is over: its epochs done, stopped early, or its budget spent and that epoch's end done."""
        if state.budget_spent and state.batch == 0:
            return True
        return state.stopped_early or (self.cfg.epochs is not None and state.epoch >= self.cfg.epochs)

    def last_epoch(self, state: RunState) -> bool:
        """Whether the epoch that is ending (``state.epoch`` not yet advanced) is the run's last one."""
        return state.epoch + 1 == self.cfg.epochs or state.budget_spent is not None

    def resumed(self, state: RunState) -> None:
        """A budget extended on resume (``--set max_steps=`` larger): the run trains on."""
        if state.budget_spent and not self.spent(state):
            state.budget_spent = None

    def observe(self, state: RunState, monitored: float | None) -> None:
        """The plateau schedule's step at an epoch's end: ``monitored`` is the NLL it watches (the val NLL, or
        the train NLL without a val split; None after an epoch whose validation was skipped: it waits)."""
        cfg = self.cfg
        if cfg.schedule != "plateau" or monitored is None:
            return
        if state.plateau_best is None or monitored < state.plateau_best:
            state.plateau_best, state.plateau_bad = monitored, 0
        else:
            state.plateau_bad += 1
            if state.plateau_bad > cfg.plateau_patience:
                state.lr_factor *= cfg.gamma
                state.plateau_bad = 0

    def epoch_name(self, epoch: int) -> str:
        """``epoch 3/10``, or ``epoch 3`` when a budget, not a count of epochs, ends the run."""
        return f"epoch {epoch}" if self.cfg.epochs is None else f"epoch {epoch}/{self.cfg.epochs}"
