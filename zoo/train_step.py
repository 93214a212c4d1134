"""One optimizer step and what it is made of: the optimizer, the model's placement, the grad scaler, the
averaged weights (``ema``) and, under torchrun, the DDP wrapper.

:class:`TrainStep` is shared by the default trainer and ``benchmarks/gpu.py``, so the fast paths a
benchmark measures are the ones a run takes.
"""

from __future__ import annotations

import math

import torch

from .errors import ZooError
from .interfaces import Model
from .train_config import TrainConfig

__all__ = ["TrainStep", "make_optimizer", "grad_scaler", "prepare_model", "averaged_model", "loss_module"]


class _LossModule(torch.nn.Module):
    """DDP wraps ``forward``; zoo models expose ``loss``. This makes the loss the forward."""

    def __init__(self, model: Model):
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor, **labels: torch.Tensor) -> torch.Tensor:
        return self.model.loss(x, **labels)


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


def averaged_model(model: torch.nn.Module, cfg: TrainConfig):
    """The exponential moving average of ``model``'s weights that ``ema`` asks for, or None when it is off."""
    if not cfg.ema:
        return None
    from torch.optim.swa_utils import AveragedModel

    return AveragedModel(model, multi_avg_fn=_ema_update(cfg.ema))


def loss_module(model: Model, world: int, device: torch.device):
    """What the train step calls: ``model.loss``, or under torchrun the loss wrapped in DistributedDataParallel."""
    if world == 1:
        return model.loss
    from torch.nn.parallel import DistributedDataParallel  # only under torchrun

    return DistributedDataParallel(_LossModule(model), device_ids=[device] if device.type == "cuda" else None)


def make_optimizer(model: torch.nn.Module, cfg: TrainConfig) -> torch.optim.Optimizer:
    """The optimizer ``cfg`` names over the trainable parameters; the learning rate is set before each step."""
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


def grad_scaler(cfg: TrainConfig, device: torch.device) -> torch.amp.GradScaler | None:
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
