"""The default Trainer: mini-batch training with validation, best-model keeping and exact resume.

The data order of an epoch is a pure function of ``(seed, epoch)`` (a ``DistributedSampler``),
so a run killed at any point and resumed from its last checkpoint (:mod:`zoo.checkpoint`) ends
with exactly the parameters of a run that was never interrupted.

Under ``torchrun`` (``WORLD_SIZE`` > 1) the trainer joins torch.distributed (:mod:`zoo.distributed`),
wraps the model in DistributedDataParallel and splits every batch across the processes;
``batch_size`` is the global batch. Only rank 0 writes checkpoints, logs and the progress bar;
for resume every process reads ``OUT/checkpoints`` (a shared file system).

This module is the loop; its pieces live beside it: the settings and the summary in
:mod:`zoo.train_config`, the learning rate, warm-up and budgets in :mod:`zoo.schedule`, one optimizer
step (precision, compile, EMA, DDP) in :mod:`zoo.train_step`, and the epoch's end (validation, best
model, history, early stopping, checkpoint) as ordered steps in :mod:`zoo.epoch_end`.
"""

from __future__ import annotations

import math
import os
import platform
import random
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist

from .checkpoint import Checkpointer, RunState
from .data import ImageSet, check_compatible
from .distributed import setup
from .epoch_end import EPOCH_END, EpochEnd, Run
from .errors import ConfigError, Interrupted, ZooError
from .evaluation import bits_per_dim
from .events import open_event_log
from .folders import CHECKPOINT_DIR, LATEST, RESUMABLE_CHANGES, RunFolder
from .interfaces import Model, Trainer
from .interrupts import StopOnSignals
from .schedule import Schedule
from .train_config import TrainConfig, TrainResult, split_settings, validated
from .train_step import TrainStep, averaged_model, grad_scaler, loss_module, make_optimizer, prepare_model

__all__ = [
    "TrainConfig",
    "TrainResult",
    "TrainStep",
    "DefaultTrainer",
    "prepare_model",
    "split_settings",
    "validated",
    "CHECKPOINT_DIR",
    "LATEST",
    "RESUMABLE_CHANGES",
]


class _Batches(torch.utils.data.Dataset):
    """Batch ``i`` of an epoch as (images, labels or an empty tensor), for a DataLoader with workers."""

    def __init__(self, images: torch.Tensor, labels: torch.Tensor | None, batches: list[torch.Tensor]):
        self.images, self.labels, self.batches = images, labels, batches

    def __len__(self) -> int:
        return len(self.batches)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        b = self.batches[i]
        return self.images[b], (self.labels[b] if self.labels is not None else torch.empty(0, dtype=torch.long))


class _IndexSet(torch.utils.data.Dataset):
    def __init__(self, n: int):
        self.n = n

    def __len__(self) -> int:
        return self.n


DIVERGED = 1000.0  # a training loss this many times the run's first one (or 1 nat) means the run diverged


def _check_divergence(state, value: float) -> None:
    """Stop a run whose loss grew a thousandfold (``lr=1e30`` trained to 1e32 nats without a word): one line,
    and the last checkpoint is kept, so the run resumes from before it went wrong. (A loss that is not
    finite is refused in the train step, before the optimizer steps on it.)"""
    if state.first_loss is None:
        state.first_loss = value
    elif value > DIVERGED * max(abs(state.first_loss), 1.0):
        raise ZooError(
            f"training loss grew from {state.first_loss:.4g} to {value:.4g} nats at step {state.step + 1} "
            f"(more than {DIVERGED:.0f}x): the run diverged; the last checkpoint is kept; lower lr or set grad_clip"
        )


def describe_hardware(device: torch.device, world: int = 1) -> str:
    """What a model card says the run trained on: the GPU's name, or the CPU's cores and machine type."""
    if device.type == "cuda":
        what = torch.cuda.get_device_name(device)
    else:
        what = f"{os.cpu_count()}-core {platform.machine()} CPU"
    return f"{world} x {what}, torch {torch.__version__}" if world > 1 else f"{what}, torch {torch.__version__}"


def _seed_everything(seed: int) -> None:
    torch.manual_seed(seed)
    random.seed(seed)
    np.random.seed(seed % 2**32)


class DefaultTrainer(Trainer):
    """Adam (or Adagrad, SGD, RMSprop), mini-batches, clipping, validation, best model, exact resume."""

    name = "default"
    config_class = TrainConfig
    #: the steps of an epoch's end, in order (:mod:`zoo.epoch_end`); a subclass may add or reorder them
    epoch_end = EPOCH_END

    def fit(
        self,
        model: Model,
        train: ImageSet,
        val: ImageSet | None = None,
        config: TrainConfig | None = None,
        out: str | Path | None = None,
        resume: bool = False,
    ) -> TrainResult:
        """Train ``model`` in place; it ends with the best-validation weights (the last ones without ``val``).

        With ``ema`` those are the averaged weights. With a budget (``max_steps``, ``max_minutes``)
        the run ends at the first step that uses it up, as at an epoch's end: validation, best
        model, checkpoint. A ``max_minutes`` run is not bit-for-bit reproducible: where it ends and,
        with cosine, its learning rates follow the clock. Resumed, it continues from the training
        time in its checkpoint, but the steps after that checkpoint are trained again at other
        readings of the clock than the killed run had, so it differs from an uninterrupted run.

        With ``out``, checkpoints go to ``out/checkpoints``; ``resume=True`` continues from the
        last one (a fresh start when there is none). A folder with a checkpoint and
        ``resume=False`` is an error, so a finished run is never overwritten by accident.
        """
        cfg = config or self.config_class()
        self._check(model, train, val, cfg)
        run = self._start(model, train, val, cfg, out, resume)
        try:
            with StopOnSignals() as self._stop:  # SIGTERM/SIGINT: checkpoint at the next step, then stop
                while not run.schedule.finished(run.state):
                    self._train_epoch(run)
                    self._end_epoch(run)
                    if self._stop.requested(run.world, run.device):
                        self._interrupted(run)
        finally:
            run.events.close()  # also when a run dies: what it logged is flushed and the writer thread ends
        if val is not None and run.state.best_epoch is not None:
            self._restore_best(run)
        elif run.averaged is not None:
            model.load_state_dict(run.averaged.module.state_dict())
        return self._result(run)

    # -- the run: checks, start (or resume), epochs, result ----------------------------------------
    def _check(self, model: Model, train: ImageSet, val: ImageSet | None, cfg: TrainConfig) -> None:
        check_compatible(model, train)
        if val is not None:
            check_compatible(model, val)
        if cfg.patience is not None and val is None:
            raise ConfigError("patience (early stopping) needs a validation split")

    def _start(self, model: Model, train: ImageSet, val: ImageSet | None, cfg: TrainConfig, out, resume: bool) -> Run:
        """Join the processes, place the model, make the optimizer, the schedule and the train step; resume
        when asked (a fresh start seeds everything from ``seed``)."""
        rank, world, device = setup(cfg.device)
        if cfg.batch_size % world:
            raise ConfigError(f"batch_size {cfg.batch_size} must be divisible by the {world} processes")
        folder = RunFolder(out) if out is not None else None
        if folder is not None:
            folder.check_start(resume=resume, trainer=True)
        checkpoints = Checkpointer(folder.checkpoints, rank, world, device) if folder is not None else None
        prepare_model(model, cfg, device)
        model.train()
        opt = make_optimizer(model, cfg)
        scaler = grad_scaler(cfg, device)
        averaged = averaged_model(model, cfg)
        if checkpoints is not None:
            checkpoints.averaged = averaged  # its weights and update count go into every checkpoint
        order = torch.utils.data.DistributedSampler(
            _IndexSet(len(train)), num_replicas=world, rank=rank, shuffle=True, seed=cfg.seed, drop_last=False
        )
        state = RunState()
        resuming = checkpoints is not None and checkpoints.exists()
        if resuming:
            state = checkpoints.load(model, opt, cfg, scaler)
        else:
            _seed_everything(cfg.seed + rank)
        run = Run(
            cfg=cfg,
            state=state,
            schedule=Schedule(cfg, steps_per_epoch=math.ceil(len(order) / (cfg.batch_size // world))),
            model=model,
            train=train,
            val=val,
            opt=opt,
            folder=folder,
            checkpoints=checkpoints,
            averaged=averaged,
            scaler=scaler,
            order=order,
            train_step=TrainStep(loss_module(model, world, device), opt, cfg, device, scaler),
            events=open_event_log(out, state.epoch + 1, cfg.tensorboard and rank == 0),
            rank=rank,
            world=world,
            device=device,
            started=time.perf_counter() - state.seconds,  # the training time continues from the checkpoint's
        )
        if resuming:
            run.schedule.resumed(state)
            run.log(
                f"resumed from {checkpoints.folder / LATEST}: epoch {state.epoch + 1}, batch {state.batch}, "
                f"step {state.step}"
            )
        run.last_lr = state.last_lr if state.last_lr is not None else run.schedule.lr(state)
        return run

    def _train_epoch(self, run: Run) -> None:
        """The batches of one epoch, from ``state.batch`` on (mid-epoch after a resume)."""
        cfg, state, device, model, schedule = run.cfg, run.state, run.device, run.model, run.schedule
        run.order.set_epoch(state.epoch)
        batches = list(torch.tensor(list(run.order), dtype=torch.long).split(cfg.batch_size // run.world))
        labels = run.train.labels if model.conditional else None
        bar = self._bar(run, len(batches))
        for x, y in self._loader(run, run.train.epoch_images(state.epoch), labels, batches, state.batch):
            if state.budget_spent:  # resumed from a checkpoint at the budget's last step: only the end is left
                break
            x = x.to(device, non_blocking=True)
            kw = {"labels": y.to(device)} if labels is not None else {}
            state.seconds = run.clock()
            lr = run.last_lr = state.last_lr = schedule.lr(state)
            for group in run.opt.param_groups:
                group["lr"] = lr
            value = run.train_step(x, state.step + 1, **kw)
            _check_divergence(state, value)
            if run.averaged is not None:
                run.averaged.update_parameters(model)
            state.step += 1
            if state.step == cfg.warmup:
                state.warmup_seconds = run.clock()
            state.batch += 1
            state.loss_sum += value * len(x)
            state.loss_count += len(x)
            if bar is not None:
                mean = state.loss_sum / state.loss_count
                bar.set_postfix(loss=f"{mean:.3f}", bpd=f"{bits_per_dim(mean, run.train.dims):.4f}", refresh=False)
                bar.update(1)
            state.seconds = run.clock()
            state.budget_spent = schedule.spent(state)
            if cfg.checkpoint_every and state.step % cfg.checkpoint_every == 0:
                run.save()
            if self._stop.requested(run.world, device):
                if bar is not None:
                    bar.close()
                state.seconds = run.clock()
                run.save()
                self._interrupted(run)
            if state.budget_spent:
                break  # the run ends here as at an epoch's end
        if bar is not None:
            bar.close()

    def _end_epoch(self, run: Run) -> None:
        """The steps of :attr:`epoch_end`, in order, on one fresh :class:`~zoo.epoch_end.EpochEnd`."""
        end = EpochEnd()
        for step in self.epoch_end:
            step(run, end)

    def _interrupted(self, run: Run) -> None:
        """Stop on a signal (a checkpoint was just written), saying where the run is and how it continues."""
        state = run.state
        where = f"epoch {state.epoch + 1}, batch {state.batch} (step {state.step})"
        then = (
            f"checkpoint written to {run.checkpoints.folder}: continue with --resume (resume=True)"
            if run.checkpoints is not None
            else "no run folder (out=None), so nothing was saved"
        )
        raise Interrupted(f"stopped by {self._stop.name} at {where}; {then}", self._stop.received)

    def _restore_best(self, run: Run) -> None:
        if run.best_memory is not None:
            run.model.load_state_dict(run.best_memory)
        elif run.checkpoints is not None:
            if run.world > 1:
                dist.barrier()
            run.checkpoints.load_best(run.model)

    def _result(self, run: Run) -> TrainResult:
        state = run.state
        last = state.history[-1] if state.history else {}
        return TrainResult(
            epochs=state.epoch,
            steps=state.step,
            best_epoch=state.best_epoch,
            best_val_nll=state.best_val,
            best_val_bits_per_dim=None if state.best_val is None else bits_per_dim(state.best_val, run.train.dims),
            final_train_nll=last.get("train_nll"),
            seconds=run.clock(),
            hardware=describe_hardware(run.device, run.world),
            stopped_early=state.stopped_early,
            budget_spent=state.budget_spent,
            history=state.history,
        )

    # -- data, progress ----------------------------------------------------------------------------
    def _loader(self, run: Run, images: torch.Tensor, labels, batches: list[torch.Tensor], start: int):
        epoch = _Batches(images, labels, batches[start:])
        if run.cfg.num_workers == 0:
            return (epoch[i] for i in range(len(epoch)))
        return torch.utils.data.DataLoader(
            epoch,
            batch_size=None,
            num_workers=run.cfg.num_workers,
            pin_memory=run.device.type == "cuda",
            generator=torch.Generator().manual_seed(0),  # else the loader draws from the global RNG
        )

    def _bar(self, run: Run, total: int):
        if run.rank != 0 or not run.cfg.progress or not sys.stderr.isatty():
            return None  # a redirected log gets the epoch lines, not a bar's carriage-return updates
        from tqdm.auto import tqdm

        return tqdm(
            total=total,
            initial=run.state.batch,
            desc=run.schedule.epoch_name(run.state.epoch + 1),
            leave=False,
            file=sys.stderr,
            dynamic_ncols=True,
        )
