"""The end of an epoch of the default trainer, as small steps with one concern each, run in a fixed order.

Each step is a function ``step(run, end)``: ``run`` (:class:`Run`) is the fit's moving parts, which the
training loop in :mod:`zoo.training` shares; ``end`` (:class:`EpochEnd`) is what this epoch's end has
found so far. :data:`EPOCH_END` is the order, and the order is part of the behaviour (a resumed run
repeats it exactly):

1. :func:`measure_training`: the epoch's mean training NLL, summed over the processes, opens the
   history record (with the last step's learning rate);
2. :func:`close_budget`: the clock is read, a budget spent at this step ends the run here, and the
   epoch is known to be the last or not;
3. :func:`validate`: when due (every ``validate_every`` epochs and after the last), the val NLL of the
   judged weights (the averaged ones with ``ema``) through the default evaluator;
4. :func:`keep_best`: a better val NLL keeps those weights; a worse one counts towards ``patience``;
5. :func:`step_schedule`: the plateau schedule sees the NLL it watches;
6. :func:`record_history`: the record joins the history; ``history.csv`` and ``curves.png`` are rewritten;
7. :func:`write_events`: the record goes to TensorBoard;
8. :func:`advance`: the position moves to the first batch of the next epoch;
9. :func:`stop_early`: ``patience`` validations without a better val NLL end the run;
10. :func:`log_epoch`: one line for the log and the progress bar;
11. :func:`checkpoint`: the epoch's checkpoint, the last step, so that it holds everything above.

A trainer that subclasses :class:`~zoo.training.DefaultTrainer` changes the order, or adds a step, by
setting its ``epoch_end`` to another tuple of such functions.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch

from .checkpoint import Checkpointer, RunState
from .data import ImageSet
from .distributed import all_gather
from .evaluation import DefaultEvaluator, bits_per_dim
from .events import EventLog
from .figures import write_history
from .folders import RunFolder
from .interfaces import Model
from .schedule import Schedule
from .train_config import TrainConfig

__all__ = [
    "Run",
    "EpochEnd",
    "EPOCH_END",
    "measure_training",
    "close_budget",
    "validate",
    "keep_best",
    "step_schedule",
    "record_history",
    "write_events",
    "advance",
    "stop_early",
    "log_epoch",
    "checkpoint",
    "validation_nll",
]

logger = logging.getLogger("zoo.training")  # the trainer's log, whichever module speaks


@dataclass
class Run:
    """One fit's moving parts: what the training loop and the epoch-end steps read and write.

    ``folder`` and ``checkpoints`` are None for a run without a run folder (``out=None``): then the best
    weights are kept in memory (``best_memory``) and nothing is written.
    """

    cfg: TrainConfig
    state: RunState
    schedule: Schedule
    model: Model
    train: ImageSet
    val: ImageSet | None
    opt: torch.optim.Optimizer
    folder: RunFolder | None
    checkpoints: Checkpointer | None
    averaged: torch.nn.Module | None  # the AveragedModel of ``ema``
    scaler: torch.amp.GradScaler | None
    order: torch.utils.data.DistributedSampler  # the data order: a function of (seed, epoch)
    train_step: Callable[..., float]  # a zoo.train_step.TrainStep: one optimizer step, returns its loss
    events: EventLog = field(default_factory=EventLog)
    rank: int = 0
    world: int = 1
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))
    started: float = 0.0  # the perf_counter() reading at which the training time was 0 (earlier on resume)
    last_lr: float = 0.0  # the last step's learning rate: the history's ``lr``
    best_memory: dict[str, torch.Tensor] | None = None

    @property
    def judged(self) -> torch.nn.Module:
        """The weights that are validated, kept as the best and saved: the averaged ones with ``ema``."""
        return self.model if self.averaged is None else self.averaged.module

    def clock(self) -> float:
        """The training time so far, in seconds (a resumed run's includes the time before its checkpoint)."""
        return time.perf_counter() - self.started

    def log(self, message: str) -> None:
        """A line for the log and, with ``progress``, above the progress bar; rank 0 alone speaks."""
        if self.rank != 0:
            return
        logger.info(message)
        if self.cfg.progress:
            from tqdm.auto import tqdm

            tqdm.write(message, file=sys.stderr)

    def save(self) -> None:
        """Write a checkpoint of the run as it is now (every process takes part); nothing without a run folder."""
        if self.checkpoints is not None:
            self.checkpoints.save(self.model, self.opt, self.state, self.cfg, self.scaler)


@dataclass
class EpochEnd:
    """What one epoch's end has found, handed from step to step."""

    record: dict[str, Any] = field(default_factory=dict)  # the epoch's row of the history
    monitored: float | None = None  # the NLL the plateau schedule watches; None: no judgement this epoch
    last: bool = False  # the run's last epoch (its epochs done or a budget spent)


def measure_training(run: Run, end: EpochEnd) -> None:
    """Open the epoch's history record with its mean training NLL: every process's loss sums, gathered, so
    the figure is of the whole epoch's images whatever the number of processes."""
    state = run.state
    totals = torch.tensor([state.loss_sum, state.loss_count], dtype=torch.float64)
    if run.world > 1:
        totals = torch.stack(all_gather(totals, run.world, run.device)).sum(0)
    train_nll = float(totals[0] / totals[1])
    end.record = {
        "epoch": state.epoch + 1,
        "step": state.step,
        "train_nll": train_nll,
        "train_bits_per_dim": bits_per_dim(train_nll, run.train.dims),
        "lr": run.last_lr,
    }
    end.monitored = train_nll  # without a val split the plateau schedule watches the training NLL


def close_budget(run: Run, end: EpochEnd) -> None:
    """Read the clock: ``max_minutes`` may run out during the epoch's last step, and then this epoch is the
    run's last one, validated whatever ``validate_every`` says."""
    state = run.state
    state.seconds = run.clock()
    state.budget_spent = state.budget_spent or run.schedule.spent(state)  # also when time ran out just now
    end.last = run.schedule.last_epoch(state)


def validate(run: Run, end: EpochEnd) -> None:
    """The val NLL, when it is due: every ``validate_every`` epochs and after the last."""
    if run.val is None:
        return
    if not ((run.state.epoch + 1) % run.cfg.validate_every == 0 or end.last):
        end.monitored = None  # a skipped validation: the plateau schedule waits for the next one
        return
    val_nll = validation_nll(run)
    end.record.update(val_nll=val_nll, val_bits_per_dim=bits_per_dim(val_nll, run.val.dims))
    end.monitored = val_nll


def validation_nll(run: Run) -> float:
    """The mean val NLL (nats per image) of the judged weights, through the default evaluator.

    Each process measures its share of the images (every ``world``-th from its rank) and the sums are
    gathered. The evaluation runs under an RNG of its own, seeded from the run's seed: a latent-variable
    model's random estimate is then the same whenever the run reaches this epoch, resumed or not, and the
    training's random draws after it are not moved. Only the NLL is measured (``metrics=False``).
    """
    val, rank, world = run.val, run.rank, run.world
    mine = val
    if world > 1:
        part = torch.arange(rank, len(val), world)
        labels = None if val.labels is None else val.labels[part]
        mine = ImageSet(val.images[part], labels, val.levels, val.name, val.split)
    devices = [run.device] if run.device.type == "cuda" else []
    nats = count = 0.0
    if len(mine):
        with torch.random.fork_rng(devices=devices):
            torch.manual_seed(run.cfg.seed + 7919 * (rank + 1))
            result = DefaultEvaluator().evaluate(run.judged, mine, batch_size=run.cfg.eval_batch_size, metrics=False)
        if world == 1:
            return result.nll_nats
        nats, count = result.nll_nats * result.n_images, result.n_images
    total = torch.stack(all_gather(torch.tensor([nats, count], dtype=torch.float64), world, run.device)).sum(0)
    return float(total[0] / total[1])


def keep_best(run: Run, end: EpochEnd) -> None:
    """A better val NLL keeps the judged weights: in ``checkpoints/best.safetensors``, or in memory without a
    run folder. Another validation without one counts towards ``patience``."""
    if "val_nll" not in end.record:
        return
    state, val_nll = run.state, end.record["val_nll"]
    if state.best_val is None or val_nll < state.best_val:
        state.best_val, state.best_epoch, state.bad_epochs = val_nll, state.epoch + 1, 0
        if run.checkpoints is not None:
            run.checkpoints.save_best(run.judged)
        else:
            run.best_memory = {k: v.detach().clone() for k, v in run.judged.state_dict().items()}
    else:
        state.bad_epochs += 1


def step_schedule(run: Run, end: EpochEnd) -> None:
    """Tell the schedule the NLL it watches (the plateau schedule decays on a stall)."""
    run.schedule.observe(run.state, end.monitored)


def record_history(run: Run, end: EpochEnd) -> None:
    """Add the record to the history (which checkpoints keep) and rewrite ``history.csv`` and ``curves.png``
    on rank 0, so the run folder shows the run as far as it has gone."""
    run.state.history.append(end.record)
    if run.rank == 0 and run.folder is not None:
        write_history(run.folder.path, run.state.history, model=run.model)


def write_events(run: Run, end: EpochEnd) -> None:
    """The record as TensorBoard scalars (a no-op log when tensorboard is off or not installed)."""
    if run.rank == 0 and run.folder is not None:
        run.events.write(end.record)


def advance(run: Run, end: EpochEnd) -> None:
    """Move to the first batch of the next epoch, before the checkpoint, so a run resumed from it starts there."""
    state = run.state
    state.epoch += 1
    state.batch = 0
    state.loss_sum = state.loss_count = 0.0


def stop_early(run: Run, end: EpochEnd) -> None:
    """``patience`` validations in a row without a better val NLL end the run."""
    if run.cfg.patience is not None and run.state.bad_epochs >= run.cfg.patience:
        run.state.stopped_early = True


def log_epoch(run: Run, end: EpochEnd) -> None:
    """One line: train and val bits/dim, whether this is the best epoch, and why the run ends if it does."""
    record, state = end.record, run.state
    line = f"{run.schedule.epoch_name(record['epoch'])}: train {record['train_bits_per_dim']:.4f} bits/dim"
    if "val_nll" in record:
        best = " (best)" if state.best_epoch == record["epoch"] else ""
        line += f", val {record['val_nll']:.3f} nats = {record['val_bits_per_dim']:.4f} bits/dim{best}"
    ending = ", stopping early" if state.stopped_early else ""
    if state.budget_spent:
        ending = f", {state.budget_spent} budget spent at step {state.step}"
    run.log(line + ending)


def checkpoint(run: Run, end: EpochEnd) -> None:
    """The epoch's checkpoint, with the training time up to now; last, so that it holds every step above."""
    run.state.seconds = run.clock()
    run.save()


#: the steps of an epoch's end, in the order they run (see the module's docstring)
EPOCH_END: tuple[Callable[[Run, EpochEnd], None], ...] = (
    measure_training,
    close_budget,
    validate,
    keep_best,
    step_schedule,
    record_history,
    write_events,
    advance,
    stop_early,
    log_epoch,
    checkpoint,
)
