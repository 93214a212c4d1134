"""The default Trainer: mini-batch training with validation, best-model keeping and exact resume.

The data order of an epoch is a pure function of ``(seed, epoch)`` (a ``DistributedSampler``),
so a run killed at any point and resumed from its last checkpoint (:mod:`zoo.checkpoint`) ends
with exactly the parameters of a run that was never interrupted.

Under ``torchrun`` (``WORLD_SIZE`` > 1) the trainer joins torch.distributed (:mod:`zoo.distributed`),
wraps the model in DistributedDataParallel and splits every batch across the processes;
``batch_size`` is the global batch. Only rank 0 writes checkpoints, logs and the progress bar;
for resume every process reads ``OUT/checkpoints`` (a shared file system).
"""

from __future__ import annotations

import logging
import math
import os
import platform
import random
import sys
import time
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
import torch.distributed as dist
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from .checkpoint import Checkpointer, RunState
from .data import ImageSet, check_compatible
from .distributed import all_gather, setup
from .errors import ConfigError, Interrupted, ZooError, unknown_name, validation_problems
from .evaluation import bits_per_dim, label_kwargs
from .events import open_event_log
from .figures import write_history
from .folders import CHECKPOINT_DIR, LATEST, RESUMABLE_CHANGES, RunFolder
from .interfaces import Model, Trainer
from .interrupts import StopOnSignals

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

log = logging.getLogger("zoo.training")


class TrainConfig(BaseModel):
    """How to train; every field can be set with ``zoo train --set key=value``."""

    model_config = ConfigDict(extra="forbid")

    epochs: int | None = Field(
        10, ge=1, description="passes over the training split (None, the default with a budget: until the budget ends)"
    )
    batch_size: int = Field(64, ge=1, description="images per optimizer step (global, split across processes)")
    lr: float = Field(1e-3, gt=0, description="learning rate")
    optimizer: Literal["adam", "adagrad", "sgd", "rmsprop"] = "adam"
    momentum: float = Field(0.9, ge=0, description="SGD momentum")
    schedule: Literal["constant", "cosine", "step", "plateau"] = Field(
        "constant",
        description="cosine: to 0 over all steps; step: x gamma every step_epochs; plateau: x gamma on a stall",
    )
    gamma: float = Field(0.5, gt=0, le=1, description="decay factor of the step and plateau schedules")
    step_epochs: int = Field(10, ge=1, description="epochs between decays of the step schedule")
    plateau_patience: int = Field(2, ge=0, description="epochs without improvement before a plateau decay")
    weight_decay: float = Field(0.0, ge=0)
    grad_clip: float | None = Field(None, gt=0, description="max global gradient norm (None: no clipping)")
    seed: int = Field(
        0, ge=0, le=2**32 - 1, description="seeds the initialisation, the data order and every random draw"
    )
    device: Literal["auto", "cpu", "cuda"] = "auto"
    patience: int | None = Field(None, ge=1, description="stop after this many epochs without a better val NLL")
    checkpoint_every: int | None = Field(None, ge=1, description="also checkpoint every N steps (always at epoch ends)")
    eval_batch_size: int = Field(256, ge=1)
    validate_every: int = Field(
        1, ge=1, description="validate every N epochs (and after the last); patience counts validations"
    )
    num_workers: int = Field(0, ge=0, description="DataLoader worker processes that gather batches")
    progress: bool = Field(True, description="tqdm progress bar and epoch log lines (rank 0)")
    tensorboard: bool = Field(True, description="per-epoch TensorBoard events in OUT/tensorboard (if it is installed)")
    precision: Literal["fp32", "bf16", "fp16"] = Field(
        "fp32", description="bf16: bfloat16 autocast; fp16: float16 autocast with a grad scaler; weights stay fp32"
    )
    channels_last: bool = Field(False, description="NHWC memory layout of weights and images (faster convs)")
    compile: bool = Field(False, description="torch.compile the training loss (first steps are slow while it compiles)")
    compile_mode: Literal["default", "reduce-overhead", "max-autotune", "max-autotune-no-cudagraphs"] = Field(
        "default", description="torch.compile mode; reduce-overhead uses CUDA graphs"
    )
    # -- what buys more NLL per second: averaged weights, a warm-up, a budget the schedule spans --------
    ema: float | None = Field(
        None,
        ge=0,
        lt=1,
        description="decay of an exponential moving average of the weights (e.g. 0.999), used for validation, "
        "the best model and the saved model; 0 or None: off",
    )
    warmup: int = Field(0, ge=0, description="steps of linear learning-rate warm-up before the schedule starts")
    max_steps: int | None = Field(None, ge=1, description="end the run after this many optimizer steps")
    max_minutes: float | None = Field(
        None, gt=0, description="end the run after this much training time (cosine then follows the clock)"
    )

    @model_validator(mode="before")
    @classmethod
    def _budget_replaces_epochs(cls, data: Any) -> Any:
        """``--set max_minutes=60`` alone trains for an hour: a budget without ``epochs`` lifts the epoch limit."""
        if isinstance(data, dict) and "epochs" not in data and (data.get("max_steps") or data.get("max_minutes")):
            return {**data, "epochs": None}
        return data

    @model_validator(mode="after")
    def _run_ends(self) -> TrainConfig:
        if self.epochs is None and self.max_steps is None and self.max_minutes is None:
            raise ValueError("epochs=None needs a budget: set epochs, max_steps or max_minutes")
        return self


class TrainResult(BaseModel):
    """Summary of a fit; ``history`` has one entry per epoch."""

    epochs: int
    steps: int
    best_epoch: int | None = None
    best_val_nll: float | None = None
    best_val_bits_per_dim: float | None = None
    final_train_nll: float | None = None
    seconds: float
    stopped_early: bool = False
    budget_spent: Literal["max_steps", "max_minutes"] | None = Field(
        None, description="the budget that ended the run (None: it ran its epochs or stopped early)"
    )
    hardware: str = Field("", description="where the run trained, e.g. 'NVIDIA H200' or '2-core x86_64 CPU'")
    history: list[dict[str, int | float]] = Field(default_factory=list)


class _LossModule(torch.nn.Module):
    """DDP wraps ``forward``; zoo models expose ``loss``. This makes the loss the forward."""

    def __init__(self, model: Model):
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor, **labels: torch.Tensor) -> torch.Tensor:
        return self.model.loss(x, **labels)


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


def describe_hardware(device: torch.device, world: int = 1) -> str:
    """What a model card says the run trained on: the GPU's name, or the CPU's cores and machine type."""
    if device.type == "cuda":
        what = torch.cuda.get_device_name(device)
    else:
        what = f"{os.cpu_count()}-core {platform.machine()} CPU"
    return f"{world} x {what}, torch {torch.__version__}" if world > 1 else f"{what}, torch {torch.__version__}"


def _progress(cfg: TrainConfig, state: RunState, steps_per_epoch: int) -> float:
    """How much of the run after the warm-up is spent, from 0 to 1, so that cosine reaches 0 where the run ends.

    The run ends at the first of its epochs, ``max_steps`` and ``max_minutes``: the progress is the
    largest of their shares. The time share is of the training time recorded in the run state
    (which a checkpoint keeps), so a resumed run continues the schedule where it stopped.
    """
    shares = []
    total = None if cfg.epochs is None else cfg.epochs * steps_per_epoch
    if cfg.max_steps is not None:
        total = cfg.max_steps if total is None else min(total, cfg.max_steps)
    if total is not None:
        shares.append((state.step - cfg.warmup) / max(1, total - cfg.warmup))
    if cfg.max_minutes is not None:
        span = 60 * cfg.max_minutes - state.warmup_seconds
        shares.append((state.seconds - state.warmup_seconds) / span if span > 0 else 1.0)
    return min(1.0, max([0.0, *shares]))


def _lr(cfg: TrainConfig, state: RunState, steps_per_epoch: int) -> float:
    """The learning rate of the next step: the schedule's, ramped linearly from lr/warmup over the warm-up."""
    warm = min(1.0, (state.step + 1) / cfg.warmup) if cfg.warmup else 1.0
    if cfg.schedule == "cosine":
        return warm * cfg.lr * 0.5 * (1 + math.cos(math.pi * _progress(cfg, state, steps_per_epoch)))
    if cfg.schedule == "step":
        return warm * cfg.lr * cfg.gamma ** (state.epoch // cfg.step_epochs)
    if cfg.schedule == "plateau":
        return warm * cfg.lr * state.lr_factor
    return warm * cfg.lr


def _spent(cfg: TrainConfig, state: RunState) -> Literal["max_steps", "max_minutes"] | None:
    """The budget that this state has used up, if any."""
    if cfg.max_steps is not None and state.step >= cfg.max_steps:
        return "max_steps"
    if cfg.max_minutes is not None and state.seconds >= 60 * cfg.max_minutes:
        return "max_minutes"
    return None


def _finished(cfg: TrainConfig, state: RunState) -> bool:
    """Whether the run is over: its epochs done, stopped early, or its budget spent and that epoch's end done."""
    if state.budget_spent and state.batch == 0:
        return True
    return state.stopped_early or (cfg.epochs is not None and state.epoch >= cfg.epochs)


def _ema_update(decay: float):
    """The EMA step for :class:`~torch.optim.swa_utils.AveragedModel`, with the decay ramped in over the first steps.

    ``min(decay, (1 + n) / (10 + n))`` after ``n`` updates (TensorFlow's ``ExponentialMovingAverage``
    with ``num_updates``): a fixed 0.999 would keep over half of its weight on the first steps' weights
    for the first 700 steps, and validation would judge those.
    """

    @torch.no_grad()
    def update(averaged: list[torch.Tensor], current: list[torch.Tensor], n: torch.Tensor) -> None:
        count = int(n)
        torch._foreach_lerp_(averaged, current, 1.0 - min(decay, (1 + count) / (10 + count)))

    return update


def _of(cfg: TrainConfig) -> str:
    """``/10`` after an epoch number, or nothing when a budget, not a count of epochs, ends the run."""
    return "" if cfg.epochs is None else f"/{cfg.epochs}"


def make_optimizer(model: torch.nn.Module, cfg: TrainConfig) -> torch.optim.Optimizer:
    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        raise ZooError(f"{type(model).__name__} has no trainable parameters")
    wd = cfg.weight_decay
    if cfg.optimizer == "adam":
        return torch.optim.Adam(params, lr=cfg.lr, weight_decay=wd)
    if cfg.optimizer == "adagrad":
        return torch.optim.Adagrad(params, lr=cfg.lr, weight_decay=wd)
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(params, lr=cfg.lr, momentum=cfg.momentum, weight_decay=wd)
    return torch.optim.RMSprop(params, lr=cfg.lr, weight_decay=wd)


def _seed_everything(seed: int) -> None:
    torch.manual_seed(seed)
    random.seed(seed)
    np.random.seed(seed % 2**32)


def _grad_scaler(cfg: TrainConfig, device: torch.device) -> torch.amp.GradScaler | None:
    """fp16 gradients underflow without loss scaling; bf16 has fp32's range and needs none."""
    return torch.amp.GradScaler(device.type) if cfg.precision == "fp16" else None


class TrainStep:
    """One optimizer step with the fast paths of a :class:`TrainConfig`; the trainer and ``benchmarks/gpu.py`` run it.

    * ``precision``: autocast around the forward pass only; the weights, their gradients and
      the optimizer state stay fp32 (autocast keeps the loss itself in fp32). fp16 scales the
      loss with a GradScaler, whose state goes into checkpoints so resume stays exact.
    * ``channels_last``: the caller converts the model once (:func:`prepare_model`); each
      batch's images are converted here, so every convolution sees NHWC on both sides.
    * ``compile``: ``torch.compile`` of the loss function (forward and backward; the optimizer
      step stays eager). ``reduce-overhead`` replays CUDA graphs, the cure for small models
      that are bound by kernel launches.

    The loss is read back to the host after ``backward`` is queued, not before: the device
    works through the backward pass while the host checks that the loss is finite.
    """

    def __init__(
        self,
        loss_fn,
        opt: torch.optim.Optimizer,
        cfg: TrainConfig,
        device: torch.device,
        scaler: torch.amp.GradScaler | None = None,
    ):
        self.opt, self.cfg, self.device, self.scaler = opt, cfg, device, scaler
        self.dtype = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}[cfg.precision]
        self.params = [p for group in opt.param_groups for p in group["params"]]
        self.loss_fn = torch.compile(loss_fn, mode=cfg.compile_mode) if cfg.compile else loss_fn

    def __call__(self, x: torch.Tensor, step: int, **labels: torch.Tensor) -> float:
        """Run step number ``step`` (for the error message) on a batch; returns its loss."""
        opt, scaler = self.opt, self.scaler
        if self.cfg.channels_last and x.dim() == 4:
            x = x.contiguous(memory_format=torch.channels_last)
        opt.zero_grad(set_to_none=True)
        with torch.autocast(self.device.type, dtype=self.dtype, enabled=self.dtype is not None):
            loss = self.loss_fn(x, **labels)
        (loss if scaler is None else scaler.scale(loss)).backward()
        value = float(loss.detach())
        if not math.isfinite(value):
            raise ZooError(f"training loss became {value} at step {step}; lower lr or set grad_clip")
        if self.cfg.grad_clip is not None:
            if scaler is not None:
                scaler.unscale_(opt)
            torch.nn.utils.clip_grad_norm_(self.params, self.cfg.grad_clip)
        if scaler is None:
            opt.step()
        else:
            scaler.step(opt)
            scaler.update()
        return value


def prepare_model(model: torch.nn.Module, cfg: TrainConfig, device: torch.device) -> None:
    """Move the model to the device (and to channels_last), before its optimizer is made."""
    model.to(device)
    if cfg.channels_last:
        model.to(memory_format=torch.channels_last)


class DefaultTrainer(Trainer):
    """Adam (or Adagrad, SGD, RMSprop), mini-batches, clipping, validation, best model, exact resume."""

    name = "default"

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
        cfg = config or TrainConfig()
        self._check(model, train, val, cfg)
        opt, checkpoints, state = self._start(model, cfg, out, resume)
        sampler = torch.utils.data.DistributedSampler(
            _IndexSet(len(train)), num_replicas=self.world, rank=self.rank, shuffle=True, seed=cfg.seed, drop_last=False
        )
        started = self._started = time.perf_counter() - state.seconds
        self._last_lr = state.last_lr if state.last_lr is not None else _lr(cfg, state, 1)
        best_memory: dict[str, torch.Tensor] | None = None
        try:
            with StopOnSignals() as self._stop:  # SIGTERM/SIGINT: checkpoint at the next step, then stop
                while not _finished(cfg, state):
                    self._train_epoch(model, train, sampler, opt, state, checkpoints, started)
                    best_memory = self._end_epoch(model, train, val, state, checkpoints, best_memory)
                    state.seconds = time.perf_counter() - started
                    if checkpoints is not None:
                        checkpoints.save(model, opt, state, cfg, self.scaler)
                    if self._stop.requested(self.world, self.device):
                        self._interrupted(state, checkpoints, saved=True)
        finally:
            self._events.close()  # also when a run dies: what it logged is flushed and the writer thread ends
        if val is not None and state.best_epoch is not None:
            self._restore_best(model, checkpoints, best_memory)
        elif self.averaged is not None:
            model.load_state_dict(self.averaged.module.state_dict())
        return self._result(state, train, started)

    # -- the run: checks, start (or resume), epochs, result ----------------------------------------
    def _check(self, model: Model, train: ImageSet, val: ImageSet | None, cfg: TrainConfig) -> None:
        check_compatible(model, train)
        if val is not None:
            check_compatible(model, val)
        if cfg.patience is not None and val is None:
            raise ConfigError("patience (early stopping) needs a validation split")

    def _start(self, model: Model, cfg: TrainConfig, out, resume: bool):
        """Join the processes, place the model, make the optimizer and the train step; resume when asked."""
        rank, world, device = setup(cfg.device)
        if cfg.batch_size % world:
            raise ConfigError(f"batch_size {cfg.batch_size} must be divisible by the {world} processes")
        self.rank, self.world, self.device, self.cfg = rank, world, device, cfg
        folder = RunFolder(out) if out is not None else None
        if folder is not None:
            folder.check_start(resume=resume, trainer=True)
        checkpoints = Checkpointer(folder.checkpoints, rank, world, device) if folder is not None else None
        prepare_model(model, cfg, device)
        model.train()
        opt = make_optimizer(model, cfg)
        self.scaler = _grad_scaler(cfg, device)
        self.averaged = None
        if cfg.ema:
            from torch.optim.swa_utils import AveragedModel

            self.averaged = AveragedModel(model, multi_avg_fn=_ema_update(cfg.ema))
            if checkpoints is not None:
                checkpoints.averaged = self.averaged
        state = RunState()
        if checkpoints is not None and checkpoints.exists():
            state = checkpoints.load(model, opt, cfg, self.scaler)
            if state.budget_spent and not _spent(cfg, state):
                state.budget_spent = None  # a budget extended on resume: train on
            self._log(
                f"resumed from {checkpoints.folder / LATEST}: epoch {state.epoch + 1}, batch {state.batch}, "
                f"step {state.step}"
            )
        else:
            _seed_everything(cfg.seed + rank)
        self._events = open_event_log(out, state.epoch + 1, cfg.tensorboard and rank == 0)
        module = model.loss
        if world > 1:
            from torch.nn.parallel import DistributedDataParallel  # only under torchrun

            module = DistributedDataParallel(_LossModule(model), device_ids=[device] if device.type == "cuda" else None)
        self.step = TrainStep(module, opt, cfg, device, self.scaler)
        return opt, checkpoints, state

    def _train_epoch(self, model: Model, train: ImageSet, sampler, opt, state: RunState, checkpoints, started) -> None:
        """The batches of one epoch, from ``state.batch`` on (mid-epoch after a resume)."""
        cfg, device = self.cfg, self.device
        sampler.set_epoch(state.epoch)
        batches = list(torch.tensor(list(sampler), dtype=torch.long).split(cfg.batch_size // self.world))
        labels = train.labels if model.conditional else None
        bar = self._bar(len(batches), state)
        for x, y in self._loader(train.epoch_images(state.epoch), labels, batches, state.batch):
            if state.budget_spent:  # resumed from a checkpoint at the budget's last step: only the end is left
                break
            x = x.to(device, non_blocking=True)
            kw = {"labels": y.to(device)} if labels is not None else {}
            state.seconds = time.perf_counter() - started
            lr = self._last_lr = state.last_lr = _lr(cfg, state, len(batches))
            for group in opt.param_groups:
                group["lr"] = lr
            value = self.step(x, state.step + 1, **kw)
            if self.averaged is not None:
                self.averaged.update_parameters(model)
            state.step += 1
            if state.step == cfg.warmup:
                state.warmup_seconds = time.perf_counter() - started
            state.batch += 1
            state.loss_sum += value * len(x)
            state.loss_count += len(x)
            if bar is not None:
                mean = state.loss_sum / state.loss_count
                bar.set_postfix(loss=f"{mean:.3f}", bpd=f"{bits_per_dim(mean, train.dims):.4f}", refresh=False)
                bar.update(1)
            state.seconds = time.perf_counter() - started
            state.budget_spent = _spent(cfg, state)
            if checkpoints is not None and cfg.checkpoint_every and state.step % cfg.checkpoint_every == 0:
                checkpoints.save(model, opt, state, cfg, self.scaler)
            if self._stop.requested(self.world, device):
                if bar is not None:
                    bar.close()
                state.seconds = time.perf_counter() - started
                if checkpoints is not None:
                    checkpoints.save(model, opt, state, cfg, self.scaler)
                self._interrupted(state, checkpoints, saved=checkpoints is not None)
            if state.budget_spent:
                break  # the run ends here as at an epoch's end
        if bar is not None:
            bar.close()

    def _interrupted(self, state: RunState, checkpoints, saved: bool) -> None:
        """Stop on a signal, saying where the run is and how it continues."""
        where = f"epoch {state.epoch + 1}, batch {state.batch} (step {state.step})"
        then = (
            f"checkpoint written to {checkpoints.folder}: continue with --resume (resume=True)"
            if saved
            else "no run folder (out=None), so nothing was saved"
        )
        raise Interrupted(f"stopped by {self._stop.name} at {where}; {then}", self._stop.received)

    def _restore_best(self, model: Model, checkpoints, best_memory) -> None:
        if best_memory is not None:
            model.load_state_dict(best_memory)
        elif checkpoints is not None:
            if self.world > 1:
                dist.barrier()
            checkpoints.load_best(model)

    def _result(self, state: RunState, train: ImageSet, started: float) -> TrainResult:
        last = state.history[-1] if state.history else {}
        return TrainResult(
            epochs=state.epoch,
            steps=state.step,
            best_epoch=state.best_epoch,
            best_val_nll=state.best_val,
            best_val_bits_per_dim=None if state.best_val is None else bits_per_dim(state.best_val, train.dims),
            final_train_nll=last.get("train_nll"),
            seconds=time.perf_counter() - started,
            hardware=describe_hardware(self.device, self.world),
            stopped_early=state.stopped_early,
            budget_spent=state.budget_spent,
            history=state.history,
        )

    # -- one epoch's end: validation, best model, schedule, early stopping -----------------------
    def _end_epoch(self, model, train, val, state: RunState, checkpoints, best_memory):
        cfg = self.cfg
        totals = torch.tensor([state.loss_sum, state.loss_count], dtype=torch.float64)
        if self.world > 1:
            totals = torch.stack(all_gather(totals, self.world, self.device)).sum(0)
        train_nll = float(totals[0] / totals[1])
        record = {
            "epoch": state.epoch + 1,
            "step": state.step,
            "train_nll": train_nll,
            "train_bits_per_dim": bits_per_dim(train_nll, train.dims),
            "lr": self._last_lr,
        }
        state.seconds = time.perf_counter() - self._started
        state.budget_spent = state.budget_spent or _spent(cfg, state)  # also when time ran out at this epoch's end
        last = state.epoch + 1 == cfg.epochs or state.budget_spent is not None
        monitored: float | None = train_nll
        judged = model if self.averaged is None else self.averaged.module  # the weights validated and kept
        if val is not None and not ((state.epoch + 1) % cfg.validate_every == 0 or last):
            monitored = None  # a skipped validation: the schedule waits for the next one
        elif val is not None:
            val_nll = self._validate(judged, val)
            record.update(val_nll=val_nll, val_bits_per_dim=bits_per_dim(val_nll, val.dims))
            monitored = val_nll
            if state.best_val is None or val_nll < state.best_val:
                state.best_val, state.best_epoch, state.bad_epochs = val_nll, state.epoch + 1, 0
                if checkpoints is not None:
                    checkpoints.save_best(judged)
                else:
                    best_memory = {k: v.detach().clone() for k, v in judged.state_dict().items()}
            else:
                state.bad_epochs += 1
        if cfg.schedule == "plateau" and monitored is not None:
            if state.plateau_best is None or monitored < state.plateau_best:
                state.plateau_best, state.plateau_bad = monitored, 0
            else:
                state.plateau_bad += 1
                if state.plateau_bad > cfg.plateau_patience:
                    state.lr_factor *= cfg.gamma
                    state.plateau_bad = 0
        state.history.append(record)
        if self.rank == 0 and checkpoints is not None:
            write_history(checkpoints.folder.parent, state.history, model=model)
            self._events.write(record)
        state.epoch += 1
        state.batch = 0
        state.loss_sum = state.loss_count = 0.0
        if cfg.patience is not None and state.bad_epochs >= cfg.patience:
            state.stopped_early = True
        line = f"epoch {record['epoch']}{_of(cfg)}: train {record['train_bits_per_dim']:.4f} bits/dim"
        if "val_nll" in record:
            best = " (best)" if state.best_epoch == record["epoch"] else ""
            line += f", val {record['val_nll']:.3f} nats = {record['val_bits_per_dim']:.4f} bits/dim{best}"
        ending = ", stopping early" if state.stopped_early else ""
        if state.budget_spent:
            ending = f", {state.budget_spent} budget spent at step {state.step}"
        self._log(line + ending)
        return best_memory

    @torch.no_grad()
    def _validate(self, model: Model, val: ImageSet) -> float:
        """Mean val NLL (nats/image); shards across processes; its own seeded RNG (for latent models)."""
        was_training = model.training
        model.eval()
        devices = [self.device] if self.device.type == "cuda" else []
        total = torch.zeros(2, dtype=torch.float64)
        with torch.random.fork_rng(devices=devices):
            torch.manual_seed(self.cfg.seed + 7919 * (self.rank + 1))
            mine = torch.arange(self.rank, len(val), self.world)
            for start in range(0, len(mine), self.cfg.eval_batch_size):
                part = mine[start : start + self.cfg.eval_batch_size]
                x = val.images[part].to(self.device)
                total[0] += float(-model.log_prob(x, **label_kwargs(model, val, part, self.device)).double().sum())
                total[1] += len(x)
        model.train(was_training)
        if self.world > 1:
            total = torch.stack(all_gather(total, self.world, self.device)).sum(0)
        return float(total[0] / total[1])

    # -- data, logs ------------------------------------------------------------------------------
    def _loader(self, images: torch.Tensor, labels: torch.Tensor | None, batches: list[torch.Tensor], start: int):
        epoch = _Batches(images, labels, batches[start:])
        if self.cfg.num_workers == 0:
            return (epoch[i] for i in range(len(epoch)))
        return torch.utils.data.DataLoader(
            epoch,
            batch_size=None,
            num_workers=self.cfg.num_workers,
            pin_memory=self.device.type == "cuda",
            generator=torch.Generator().manual_seed(0),  # else the loader draws from the global RNG
        )

    def _bar(self, total: int, state: RunState):
        if self.rank != 0 or not self.cfg.progress:
            return None
        from tqdm.auto import tqdm

        return tqdm(
            total=total,
            initial=state.batch,
            desc=f"epoch {state.epoch + 1}{_of(self.cfg)}",
            leave=False,
            file=sys.stderr,
            dynamic_ncols=True,
        )

    def _log(self, message: str) -> None:
        if self.rank != 0:
            return
        log.info(message)
        if self.cfg.progress:
            from tqdm.auto import tqdm

            tqdm.write(message, file=sys.stderr)


# -- the high-level entry point of `zoo train` -----------------------------------------------------


def split_settings(config_class, settings: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Route ``--set`` values: model-config fields, then TrainConfig fields; anything else is an error."""
    model_fields, train_fields = set(config_class.model_fields), set(TrainConfig.model_fields)
    model_part, train_part, unknown = {}, {}, []
    for key, value in settings.items():
        if key in model_fields:
            model_part[key] = value
        elif key in train_fields:
            train_part[key] = value
        else:
            unknown.append(key)
    if unknown:
        hint = str(unknown_name("setting", unknown[0], model_fields | train_fields)).split(";")[1:]
        raise ConfigError(
            f"unknown setting(s) {', '.join(map(repr, unknown))}{';' + hint[0] if hint else ''}; "
            f"model config fields: {', '.join(sorted(model_fields))}; "
            f"training fields: {', '.join(sorted(train_fields))}"
        )
    return model_part, train_part


def validated(cls, values: dict[str, Any], what: str):
    try:
        return cls(**values)
    except ValidationError as exc:
        raise ConfigError(f"invalid {what}: {validation_problems(exc)}") from None
