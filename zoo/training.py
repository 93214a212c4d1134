"""The default Trainer: mini-batch training with validation, best-model keeping and exact resume.

Resume is exact: a checkpoint holds the model, the optimizer state, the position (epoch and
batch inside the epoch), the learning-rate schedule state and every random-number state.
The data order of an epoch is a pure function of ``(seed, epoch)`` (a ``DistributedSampler``),
so a run killed at any point and resumed from its last checkpoint ends with exactly the
parameters of a run that was never interrupted.

A checkpoint is ``checkpoints/ckpt-NNNNNN.safetensors`` (model, flattened optimizer state,
per-process torch RNG states) plus ``checkpoints/latest.json`` (position, schedule, history,
Python/NumPy RNG states of rank 0, optimizer hyperparameters). Both are written atomically,
the tensors first: ``latest.json`` is the commit point. ``checkpoints/best.safetensors``
holds the weights with the best validation NLL.

Under ``torchrun`` (``WORLD_SIZE`` > 1) the trainer joins torch.distributed (gloo on CPU,
nccl on GPU), wraps the model in DistributedDataParallel and splits every batch across the
processes; ``batch_size`` is the global batch. Only rank 0 writes checkpoints, logs and the
progress bar; for resume every process reads ``OUT/checkpoints`` (a shared file system).
"""

from __future__ import annotations

import json
import logging
import math
import os
import platform
import random
import re
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
import torch.distributed as dist
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from .figures import write_history
from .events import open_event_log
from .data import ImageSet, load_dataset
from .errors import WeightsError, WriteError, ZooError, validation_problems
from .evaluation import DefaultEvaluator, bits_per_dim, check_compatible, label_kwargs
from .interfaces import Model, Trainer
from .weights import atomic_write_json, load_tensors, parse_json, save_tensors

__all__ = ["TrainConfig", "TrainResult", "TrainStep", "DefaultTrainer", "prepare_model", "train", "CHECKPOINT_DIR"]

log = logging.getLogger("zoo.training")
CHECKPOINT_DIR = "checkpoints"
LATEST = "latest.json"
BEST = "best.safetensors"
CHECKPOINT_FORMAT = 1

# Fields that may differ between the interrupted run and the resumed one.
RESUMABLE_CHANGES = {
    "epochs", "progress", "num_workers", "device", "checkpoint_every", "eval_batch_size", "patience", "validate_every",
    "tensorboard",
}


class TrainConfig(BaseModel):
    """How to train; every field can be set with ``zoo train --set key=value``."""

    model_config = ConfigDict(extra="forbid")

    epochs: int = Field(10, ge=1, description="passes over the training split")
    batch_size: int = Field(64, ge=1, description="images per optimizer step (global, split across processes)")
    lr: float = Field(1e-3, gt=0, description="learning rate")
    optimizer: Literal["adam", "adagrad", "sgd", "rmsprop"] = "adam"
    momentum: float = Field(0.9, ge=0, description="SGD momentum")
    schedule: Literal["constant", "cosine", "step", "plateau"] = Field(
        "constant", description="cosine: to 0 over all steps; step: x gamma every step_epochs; plateau: x gamma on a stall"
    )
    gamma: float = Field(0.5, gt=0, le=1, description="decay factor of the step and plateau schedules")
    step_epochs: int = Field(10, ge=1, description="epochs between decays of the step schedule")
    plateau_patience: int = Field(2, ge=0, description="epochs without improvement before a plateau decay")
    weight_decay: float = Field(0.0, ge=0)
    grad_clip: float | None = Field(None, gt=0, description="max global gradient norm (None: no clipping)")
    seed: int = Field(0, description="seeds the initialisation, the data order and every random draw")
    device: Literal["auto", "cpu", "cuda"] = "auto"
    patience: int | None = Field(None, ge=1, description="stop after this many epochs without a better val NLL")
    checkpoint_every: int | None = Field(None, ge=1, description="also checkpoint every N steps (always at epoch ends)")
    eval_batch_size: int = Field(256, ge=1)
    validate_every: int = Field(1, ge=1, description="validate every N epochs (and after the last); patience counts validations")
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
    hardware: str = Field("", description="where the run trained, e.g. 'NVIDIA H200' or '2-core x86_64 CPU'")
    history: list[dict[str, int | float]] = Field(default_factory=list)


@dataclass
class _State:
    """Everything about the position of a run that is not a tensor."""

    epoch: int = 0  # epochs completed
    batch: int = 0  # batches completed inside the current epoch
    step: int = 0  # optimizer steps in all
    best_val: float | None = None
    best_epoch: int | None = None
    bad_epochs: int = 0  # epochs since the best val NLL (early stopping)
    plateau_best: float | None = None
    plateau_bad: int = 0
    lr_factor: float = 1.0  # plateau schedule
    stopped_early: bool = False
    seconds: float = 0.0
    saves: int = 0
    loss_sum: float = 0.0  # this process's training loss in the current epoch (nats x images)
    loss_count: float = 0.0
    history: list[dict[str, float]] = field(default_factory=list)


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


_OWNS_PROCESS_GROUP = False


def describe_hardware(device: torch.device, world: int = 1) -> str:
    """What a model card says the run trained on: the GPU's name, or the CPU's cores and machine type."""
    if device.type == "cuda":
        what = torch.cuda.get_device_name(device)
    else:
        what = f"{os.cpu_count()}-core {platform.machine()} CPU"
    return f"{world} x {what}, torch {torch.__version__}" if world > 1 else f"{what}, torch {torch.__version__}"


def _setup(cfg: TrainConfig) -> tuple[int, int, torch.device]:
    """(rank, world size, device); joins torch.distributed when launched by torchrun."""
    global _OWNS_PROCESS_GROUP
    world = int(os.environ.get("WORLD_SIZE", "1"))
    local = int(os.environ.get("LOCAL_RANK", "0"))
    if cfg.device == "cuda" and not torch.cuda.is_available():
        raise ZooError("device='cuda' but no CUDA device is available; use device=cpu or auto")
    use_cuda = cfg.device == "cuda" or (cfg.device == "auto" and torch.cuda.is_available())
    device = torch.device("cuda", local % torch.cuda.device_count()) if use_cuda else torch.device("cpu")
    if use_cuda:
        torch.cuda.set_device(device)
    if world > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if use_cuda else "gloo")
        _OWNS_PROCESS_GROUP = True
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size(), device
    return 0, 1, device


def _lr(cfg: TrainConfig, state: _State, steps_per_epoch: int) -> float:
    if cfg.schedule == "cosine":
        total = max(1, cfg.epochs * steps_per_epoch)
        return cfg.lr * 0.5 * (1 + math.cos(math.pi * min(state.step, total) / total))
    if cfg.schedule == "step":
        return cfg.lr * cfg.gamma ** (state.epoch // cfg.step_epochs)
    if cfg.schedule == "plateau":
        return cfg.lr * state.lr_factor
    return cfg.lr


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


# -- checkpoint pieces ----------------------------------------------------------------------------


def _flatten_optimizer(sd: dict) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    tensors: dict[str, torch.Tensor] = {}
    scalars: dict[str, dict[str, Any]] = {}
    for idx, entry in sd["state"].items():
        for key, value in entry.items():
            if isinstance(value, torch.Tensor):
                tensors[f"optimizer.{idx}.{key}"] = value
            else:
                scalars.setdefault(str(idx), {})[key] = value
    return tensors, {"param_groups": sd["param_groups"], "scalars": scalars}


def _unflatten_optimizer(tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> dict:
    state: dict[int, dict[str, Any]] = {}
    for name, value in tensors.items():
        if name.startswith("optimizer."):
            _, idx, key = name.split(".", 2)
            state.setdefault(int(idx), {})[key] = value
    for idx, entry in meta["scalars"].items():
        state.setdefault(int(idx), {}).update(entry)
    return {"state": state, "param_groups": meta["param_groups"]}


def _py_np_rng() -> dict[str, Any]:
    version, internal, gauss = random.getstate()
    name, keys, pos, has_gauss, cached = np.random.get_state()
    return {"python": [version, list(internal), gauss], "numpy": [name, keys.tolist(), pos, has_gauss, cached]}


def _set_py_np_rng(saved: dict[str, Any]) -> None:
    version, internal, gauss = saved["python"]
    random.setstate((version, tuple(internal), gauss))
    name, keys, pos, has_gauss, cached = saved["numpy"]
    np.random.set_state((name, np.array(keys, dtype=np.uint32), pos, has_gauss, cached))


def _seed_everything(seed: int) -> None:
    torch.manual_seed(seed)
    random.seed(seed)
    np.random.seed(seed % 2**32)


def _all_gather(t: torch.Tensor, world: int, device: torch.device) -> list[torch.Tensor]:
    if world == 1:
        return [t]
    comm = t.to(device if dist.get_backend() == "nccl" else "cpu")
    out = [torch.empty_like(comm) for _ in range(world)]
    dist.all_gather(out, comm)
    return [o.cpu() for o in out]


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

    def __init__(self, loss_fn, opt: torch.optim.Optimizer, cfg: TrainConfig, device: torch.device,
                 scaler: torch.amp.GradScaler | None = None):
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

        With ``out``, checkpoints go to ``out/checkpoints``; ``resume=True`` continues from the
        last one (a fresh start when there is none). A folder with a checkpoint and
        ``resume=False`` is an error, so a finished run is never overwritten by accident.
        """
        cfg = config or TrainConfig()
        check_compatible(model, train)
        if val is not None:
            check_compatible(model, val)
        if cfg.patience is not None and val is None:
            raise ZooError("patience (early stopping) needs a validation split")
        rank, world, device = _setup(cfg)
        if cfg.batch_size % world:
            raise ZooError(f"batch_size {cfg.batch_size} must be divisible by the {world} processes")
        self.rank, self.world, self.device, self.cfg = rank, world, device, cfg
        ckdir = Path(out) / CHECKPOINT_DIR if out is not None else None
        prepare_model(model, cfg, device)
        model.train()
        opt = make_optimizer(model, cfg)
        self.scaler = _grad_scaler(cfg, device)
        state = _State()
        if ckdir is not None and (ckdir / LATEST).is_file():
            if not resume:
                raise ZooError(
                    f"{ckdir} already holds a training run; resume it (resume=True, --resume) or use a new folder"
                )
            state = self._load(ckdir, model, opt, cfg)
            self._log(f"resumed from {ckdir / LATEST}: epoch {state.epoch + 1}, batch {state.batch}, step {state.step}")
        else:
            _seed_everything(cfg.seed + rank)
        self._events = open_event_log(out, state.epoch + 1, cfg.tensorboard and rank == 0)
        best_memory: dict[str, torch.Tensor] | None = None
        module = model
        if world > 1:
            from torch.nn.parallel import DistributedDataParallel

            module = DistributedDataParallel(_LossModule(model), device_ids=[device] if device.type == "cuda" else None)
        sampler = torch.utils.data.DistributedSampler(
            _IndexSet(len(train)), num_replicas=world, rank=rank, shuffle=True, seed=cfg.seed, drop_last=False
        )
        per_rank = cfg.batch_size // world
        train_step = TrainStep(module if world > 1 else model.loss, opt, cfg, device, self.scaler)
        started = time.perf_counter() - state.seconds
        self._last_lr = _lr(cfg, state, 1)
        while state.epoch < cfg.epochs and not state.stopped_early:
            sampler.set_epoch(state.epoch)
            batches = list(torch.tensor(list(sampler), dtype=torch.long).split(per_rank))
            images = train.epoch_images(state.epoch)
            labels = train.labels if model.conditional else None
            bar = self._bar(len(batches), state)
            for x, y in self._loader(images, labels, batches, state.batch):
                x = x.to(device, non_blocking=True)
                kw = {"labels": y.to(device)} if labels is not None else {}
                lr = self._last_lr = _lr(cfg, state, len(batches))
                for group in opt.param_groups:
                    group["lr"] = lr
                value = train_step(x, state.step + 1, **kw)
                state.step += 1
                state.batch += 1
                state.loss_sum += value * len(x)
                state.loss_count += len(x)
                if bar is not None:
                    mean = state.loss_sum / state.loss_count
                    bar.set_postfix(loss=f"{mean:.3f}", bpd=f"{bits_per_dim(mean, train.dims):.4f}", refresh=False)
                    bar.update(1)
                if ckdir is not None and cfg.checkpoint_every and state.step % cfg.checkpoint_every == 0:
                    state.seconds = time.perf_counter() - started
                    self._save(ckdir, model, opt, state)
            if bar is not None:
                bar.close()
            best_memory = self._end_epoch(model, train, val, state, ckdir, best_memory)
            state.seconds = time.perf_counter() - started
            if ckdir is not None:
                self._save(ckdir, model, opt, state)
        if val is not None and state.best_epoch is not None:
            if best_memory is not None:
                model.load_state_dict(best_memory)
            elif ckdir is not None:
                if world > 1:
                    dist.barrier()
                model.load_state_dict(load_tensors(ckdir / BEST))
        self._events.close()
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
            history=state.history,
        )

    # -- one epoch's end: validation, best model, schedule, early stopping -----------------------
    def _end_epoch(self, model, train, val, state: _State, ckdir, best_memory):
        cfg = self.cfg
        totals = torch.tensor([state.loss_sum, state.loss_count], dtype=torch.float64)
        if self.world > 1:
            totals = torch.stack(_all_gather(totals, self.world, self.device)).sum(0)
        train_nll = float(totals[0] / totals[1])
        record = {"epoch": state.epoch + 1, "step": state.step, "train_nll": train_nll,
                  "train_bits_per_dim": bits_per_dim(train_nll, train.dims), "lr": self._last_lr}
        monitored: float | None = train_nll
        if val is not None and not ((state.epoch + 1) % cfg.validate_every == 0 or state.epoch + 1 == cfg.epochs):
            monitored = None  # a skipped validation: the schedule waits for the next one
        elif val is not None:
            val_nll = self._validate(model, val)
            record.update(val_nll=val_nll, val_bits_per_dim=bits_per_dim(val_nll, val.dims))
            monitored = val_nll
            if state.best_val is None or val_nll < state.best_val:
                state.best_val, state.best_epoch, state.bad_epochs = val_nll, state.epoch + 1, 0
                if ckdir is not None:
                    if self.rank == 0:
                        save_tensors(model.state_dict(), ckdir / BEST)
                else:
                    best_memory = {k: v.detach().clone() for k, v in model.state_dict().items()}
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
        if self.rank == 0 and ckdir is not None:
            write_history(ckdir.parent, state.history)
            self._events.write(record)
        state.epoch += 1
        state.batch = 0
        state.loss_sum = state.loss_count = 0.0
        if cfg.patience is not None and state.bad_epochs >= cfg.patience:
            state.stopped_early = True
        line = f"epoch {record['epoch']}/{cfg.epochs}: train {record['train_bits_per_dim']:.4f} bits/dim"
        if "val_nll" in record:
            best = " (best)" if state.best_epoch == record["epoch"] else ""
            line += f", val {record['val_nll']:.3f} nats = {record['val_bits_per_dim']:.4f} bits/dim{best}"
        self._log(line + (", stopping early" if state.stopped_early else ""))
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
            total = torch.stack(_all_gather(total, self.world, self.device)).sum(0)
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

    def _bar(self, total: int, state: _State):
        if self.rank != 0 or not self.cfg.progress:
            return None
        from tqdm.auto import tqdm

        return tqdm(total=total, initial=state.batch, desc=f"epoch {state.epoch + 1}/{self.cfg.epochs}",
                    leave=False, file=sys.stderr, dynamic_ncols=True)

    def _log(self, message: str) -> None:
        if self.rank != 0:
            return
        log.info(message)
        if self.cfg.progress:
            from tqdm.auto import tqdm

            tqdm.write(message, file=sys.stderr)

    # -- checkpoints -------------------------------------------------------------------------------
    def _save(self, ckdir: Path, model: Model, opt: torch.optim.Optimizer, state: _State) -> None:
        """Write a checkpoint (every process takes part: RNG states and loss sums are gathered)."""
        cpu = _all_gather(torch.get_rng_state(), self.world, self.device)
        cuda = (
            _all_gather(torch.cuda.get_rng_state(self.device), self.world, self.device)
            if self.device.type == "cuda" else []
        )
        acc = _all_gather(torch.tensor([state.loss_sum, state.loss_count], dtype=torch.float64), self.world, self.device)
        if self.rank != 0:
            return
        state.saves += 1
        tensors = {f"model.{k}": v for k, v in model.state_dict().items()}
        opt_tensors, opt_meta = _flatten_optimizer(opt.state_dict())
        tensors.update(opt_tensors)
        for r in range(self.world):
            tensors[f"rng.cpu.{r}"] = cpu[r]
            tensors[f"loss.{r}"] = acc[r]
            if cuda:
                tensors[f"rng.cuda.{r}"] = cuda[r]
        name = f"ckpt-{state.saves:06d}.safetensors"
        meta = {
            "format": "zoo-checkpoint",
            "format_version": CHECKPOINT_FORMAT,
            "tensors": name,
            "world_size": self.world,
            "train_config": self.cfg.model_dump(mode="json"),
            "state": asdict(state),
            "optimizer": opt_meta,
            "rng": _py_np_rng(),
            "grad_scaler": self.scaler.state_dict() if self.scaler is not None else None,
        }
        try:
            save_tensors(tensors, ckdir / name)
            atomic_write_json(ckdir / LATEST, meta)
        except WriteError as exc:  # disk full: the previous checkpoint is still the committed one
            where = f"{getattr(exc, 'path', ckdir)}: cannot write ({getattr(exc, 'reason', exc)})"
            raise WriteError(
                f"{where}; training stopped at step {state.step} and any earlier checkpoint in {ckdir} is intact: "
                "free space, then continue with --resume"
            ) from None
        for old in ckdir.glob("ckpt-*.safetensors"):
            if old.name != name:
                old.unlink(missing_ok=True)
        _remove_stale_temp(ckdir)

    def _load(self, ckdir: Path, model: Model, opt: torch.optim.Optimizer, cfg: TrainConfig) -> _State:
        """Restore a checkpoint; a malformed one is a one-line WeightsError naming the file and field."""
        path = ckdir / LATEST
        meta = _read_latest(path)
        if self.rank == 0:
            _remove_stale_temp(ckdir)
        try:
            return self._restore(ckdir, path, meta, model, opt, cfg)
        except ZooError:
            raise
        except (KeyError, TypeError, ValueError, IndexError, AttributeError, RuntimeError, OverflowError) as exc:
            first = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else ""
            raise WeightsError(f"{path}: malformed checkpoint ({type(exc).__name__}: {first})") from None

    def _restore(self, ckdir: Path, path: Path, meta: dict, model: Model, opt, cfg: TrainConfig) -> _State:
        before = meta["train_config"]
        now = cfg.model_dump(mode="json")
        defaults = TrainConfig().model_dump(mode="json")  # fields newer than the checkpoint: their defaults
        changed = sorted(k for k in now if k not in RESUMABLE_CHANGES and before.get(k, defaults[k]) != now[k])
        if changed:
            diffs = ", ".join(f"{k}: {before.get(k, defaults[k])!r} -> {now[k]!r}" for k in changed)
            raise ZooError(f"cannot resume {path} with different settings ({diffs}); only {', '.join(sorted(RESUMABLE_CHANGES))} may change")
        tensors = load_tensors(ckdir / meta["tensors"])
        weights = {k[len("model."):]: v for k, v in tensors.items() if k.startswith("model.")}
        try:
            model.load_state_dict(weights)
        except RuntimeError as exc:
            first = str(exc).strip().splitlines()[0]
            raise WeightsError(f"{ckdir / meta['tensors']}: does not fit this model ({first})") from None
        opt.load_state_dict(_unflatten_optimizer(tensors, meta["optimizer"]))
        try:  # the types of every field: a string where a count belongs would fail later, far from here
            state = TypeAdapter(_State).validate_python(meta["state"])
        except ValidationError as exc:
            raise WeightsError(f"{path}: field state: {validation_problems(exc)}") from None
        state.history = meta["state"].get("history", [])  # as written: validation would turn ints into floats
        if self.scaler is not None and meta.get("grad_scaler"):
            self.scaler.load_state_dict(meta["grad_scaler"])
        same_world = meta["world_size"] == self.world
        if not same_world and state.batch:
            raise ZooError(
                f"{path} was written mid-epoch by {meta['world_size']} process(es); resume it with the same number"
            )
        rank = self.rank
        if same_world and f"rng.cpu.{rank}" in tensors:
            torch.set_rng_state(tensors[f"rng.cpu.{rank}"])
            if self.device.type == "cuda" and f"rng.cuda.{rank}" in tensors:
                torch.cuda.set_rng_state(tensors[f"rng.cuda.{rank}"], self.device)
            state.loss_sum, state.loss_count = (float(v) for v in tensors[f"loss.{rank}"])
        else:
            torch.manual_seed(cfg.seed + 1_000_003 * (rank + 1) + state.step)
            state.loss_sum = state.loss_count = 0.0
        if rank == 0:
            _set_py_np_rng(meta["rng"])
        else:
            random.seed(cfg.seed + rank + state.step)
            np.random.seed((cfg.seed + rank + state.step) % 2**32)
        return state


CHECKPOINT_NAME = re.compile(r"ckpt-[0-9]{6,}\.safetensors")
MAX_LATEST_BYTES = 64 << 20  # latest.json grows by one history entry per epoch: far below this


def _read_latest(path: Path) -> dict[str, Any]:
    """``latest.json``, parsed with bounds and its structure checked, so a hand-edited or hostile file
    ends in one line naming the field. ``tensors`` must name a checkpoint file inside the folder:
    no other path (absolute, ``../``, a link out of the folder) is ever opened."""
    try:
        with open(path, "rb") as f:
            data = f.read(MAX_LATEST_BYTES + 1)
    except OSError as exc:
        raise WeightsError(f"{path}: cannot read ({exc.strerror or exc})") from None
    if len(data) > MAX_LATEST_BYTES:
        raise WeightsError(f"{path}: larger than {MAX_LATEST_BYTES} bytes; not a zoo checkpoint")
    meta = parse_json(data, path)
    if not isinstance(meta, dict) or meta.get("format") != "zoo-checkpoint":
        raise WeightsError(f"{path}: unreadable checkpoint (not a zoo checkpoint)")
    version = meta.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise WeightsError(f"{path}: field format_version must be a positive integer, got {version!r:.40}")
    if version > CHECKPOINT_FORMAT:
        raise WeightsError(f"{path}: checkpoint format {version} is newer than this zoo reads")
    kinds = {"world_size": int, "train_config": dict, "state": dict, "optimizer": dict, "rng": dict, "tensors": str}
    for key, kind in kinds.items():
        if not isinstance(meta.get(key), kind) or isinstance(meta.get(key), bool):
            raise WeightsError(f"{path}: field {key} must be a {kind.__name__}, got {meta.get(key)!r:.40}")
    name = meta["tensors"]
    if not CHECKPOINT_NAME.fullmatch(name):
        raise WeightsError(
            f"{path}: field tensors must name a checkpoint file in {path.parent} (ckpt-NNNNNN.safetensors), "
            f"got {name!r:.80}"
        )
    target = path.parent / name
    if target.is_symlink() and target.resolve().parent != path.parent.resolve():
        raise WeightsError(f"{path}: field tensors: {target} links out of the checkpoint folder")
    if meta["world_size"] < 1:
        raise WeightsError(f"{path}: field world_size must be at least 1, got {meta['world_size']}")
    return meta


def _remove_stale_temp(ckdir: Path) -> None:
    """Temporary files of a write that was killed (``.ckpt-*.tmp`` and the like): never committed, never read."""
    for stale in ckdir.glob(".*.tmp"):
        stale.unlink(missing_ok=True)


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
        from .errors import unknown_name

        hint = str(unknown_name("setting", unknown[0], model_fields | train_fields)).split(";")[1:]
        raise ZooError(
            f"unknown setting(s) {', '.join(map(repr, unknown))}{';' + hint[0] if hint else ''}; "
            f"model config fields: {', '.join(sorted(model_fields))}; "
            f"training fields: {', '.join(sorted(train_fields))}"
        )
    return model_part, train_part


def _validated(cls, values: dict[str, Any], what: str):
    try:
        return cls(**values)
    except ValidationError as exc:
        raise ZooError(f"invalid {what}: {validation_problems(exc)}") from None


def train(
    arch_or_model: str | Model,
    dataset: str,
    out: str | Path,
    settings: dict[str, Any] | None = None,
    epochs: int | None = None,
    resume: bool = False,
    dataset_options: dict[str, Any] | None = None,
    trainer: str = "default",
    overwrite: bool = False,
) -> Path:
    """Train an architecture (or a given model) on ``dataset`` and save the best model in ``out``.

    ``settings`` keys go to the architecture's config when it has that field, else to
    :class:`TrainConfig`. The image shape and levels come from the dataset. ``out`` receives
    ``config.json`` + ``model.safetensors`` (the best-validation weights, with their val
    metrics), ``train_config.json`` and ``checkpoints/``. With ``resume=True`` the settings
    stored in ``out/train_config.json`` are the defaults and the run continues where it stopped.
    ``out`` must be empty unless ``resume`` or ``overwrite`` is set, and is locked for the run
    (see :func:`zoo.outputs.claim_output`), so two runs never interleave their files.
    """
    from .outputs import claim_output

    rank = int(os.environ.get("RANK", "0"))
    with claim_output(out, overwrite=overwrite, resume=resume, lock=rank == 0):
        return _train(arch_or_model, dataset, out, settings, epochs, resume, dataset_options, trainer)


def _train(arch_or_model, dataset, out, settings, epochs, resume, dataset_options, trainer) -> Path:
    """The body of :func:`train`, run while ``out`` is claimed."""
    from . import __version__
    from .registry import get_registry

    out = Path(out)
    settings = dict(settings or {})
    dataset_options = dict(dataset_options or {})
    stored = None
    run_file = out / "train_config.json"
    if resume and run_file.is_file():
        stored = json.loads(run_file.read_text())
        if stored.get("dataset") != dataset:
            raise ZooError(f"{run_file}: this run trained on {stored.get('dataset')!r}, not {dataset!r}")
        dataset_options = {**stored.get("dataset_options", {}), **dataset_options}
    elif not resume and (out / CHECKPOINT_DIR / LATEST).is_file():
        raise ZooError(f"{out} already holds a training run; resume it (--resume) or use a new folder")
    if resume and not (out / CHECKPOINT_DIR / LATEST).is_file():
        raise ZooError(f"{out}: nothing to resume (no {CHECKPOINT_DIR}/{LATEST}); start the run without --resume")

    reg = get_registry()
    if isinstance(arch_or_model, (str, Path)) and str(arch_or_model) not in reg.models and (
        str(arch_or_model) in reg.pretrained or Path(arch_or_model).is_dir()
    ):
        from . import load  # fine-tuning: a pretrained name or a saved model folder

        arch_or_model = load(arch_or_model)
    if isinstance(arch_or_model, Model):
        model = arch_or_model
        arch = model.architecture
        model_settings, train_settings = split_settings(type(model).config_class, settings)
        if model_settings:
            raise ZooError(f"the model is already built; cannot set {', '.join(sorted(model_settings))}")
    else:
        arch = arch_or_model
        model = None
    config_class = get_registry().model(arch).cls.config_class if model is None else type(model).config_class
    if stored is not None:
        if stored.get("architecture") != arch:
            raise ZooError(f"{run_file}: this run trained {stored.get('architecture')!r}, not {arch!r}")
        settings = {**stored.get("model_config", {}), **stored.get("train_config", {}), **settings}
    model_settings, train_settings = split_settings(config_class, settings)
    if epochs is not None:
        train_settings["epochs"] = epochs
    cfg = _validated(TrainConfig, train_settings, "training settings")

    train_set = load_dataset(dataset, "train", **dataset_options)
    val_set = load_dataset(dataset, "val", **dataset_options)
    if model is None:
        from_data = dict(zip(("channels", "height", "width"), train_set.shape), levels=train_set.levels)
        conflicts = {k: v for k, v in model_settings.items() if k in from_data and v != from_data[k]}
        if conflicts:
            raise ZooError(
                f"dataset {dataset!r} has {', '.join(f'{k}={from_data[k]}' for k in conflicts)}; "
                f"remove the conflicting setting(s) {', '.join(f'{k}={v}' for k, v in conflicts.items())}"
            )
        model_config = _validated(config_class, {**model_settings, **from_data}, f"config for {arch}")
        torch.manual_seed(cfg.seed)  # the initialisation is part of the seeded run
        model = get_registry().model(arch).cls(model_config)

    if stored is not None:  # refuse before touching the stored settings
        changed = sorted(k for k, v in cfg.model_dump(mode="json").items()
                         if k not in RESUMABLE_CHANGES and stored.get("train_config", {}).get(k, v) != v)
        if model.config.model_dump(mode="json") != stored.get("model_config", model.config.model_dump(mode="json")):
            changed.append("the model config")
        if changed:
            raise ZooError(f"{run_file}: cannot resume with different {', '.join(changed)}; "
                           f"only {', '.join(sorted(RESUMABLE_CHANGES))} may change")
    rank = int(os.environ.get("RANK", "0"))
    if rank == 0:
        atomic_write_json(run_file, {
            "architecture": arch,
            "dataset": dataset,
            "dataset_options": dataset_options,
            "model_config": model.config.model_dump(mode="json"),
            "train_config": cfg.model_dump(mode="json"),
            "zoo_version": __version__,
        })
    fitter = get_registry().trainer(trainer)()
    result = fitter.fit(model, train_set, val_set, cfg, out=out, resume=resume)
    if (dist.get_rank() if dist.is_initialized() else rank) == 0:
        val_result = DefaultEvaluator().evaluate(model, val_set, batch_size=cfg.eval_batch_size)
        val_result.options = {k: v for k, v in dataset_options.items() if k != "root"}
        from .weights import save_pretrained

        atomic_write_json(out / "train_result.json", result.model_dump(mode="json"))
        save_pretrained(model, out, dataset=dataset, dataset_options=val_result.options,
                        metrics={"val": val_result.model_dump()})
    _finish_distributed()
    return out


def _finish_distributed() -> None:
    """Wait for rank 0's files, then leave the process group if this module created it."""
    global _OWNS_PROCESS_GROUP
    if dist.is_available() and dist.is_initialized() and _OWNS_PROCESS_GROUP:
        dist.barrier()
        dist.destroy_process_group()
        _OWNS_PROCESS_GROUP = False
