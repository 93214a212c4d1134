"""Checkpoints of a training run: what they hold, how they are written and read back, and when a
run may be resumed.

Resume is exact: a checkpoint holds the model, the optimizer state, the position (epoch and
batch inside the epoch), the learning-rate schedule state, the averaged weights (``ema``) and
every random-number state.

A checkpoint is ``checkpoints/ckpt-NNNNNN.safetensors`` (model, flattened optimizer state,
per-process torch RNG states) plus ``checkpoints/latest.json`` (position, schedule, history,
Python/NumPy RNG states of rank 0, optimizer hyperparameters). Both are written atomically,
the tensors first: ``latest.json`` is the commit point. ``checkpoints/best.safetensors``
holds the weights with the best validation NLL. Only rank 0 writes; every process reads.
"""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from pydantic import TypeAdapter, ValidationError

from .distributed import all_gather
from .errors import WeightsError, WriteError, ZooError, validation_problems
from .folders import (
    BEST,
    CHECKPOINT_DIR,
    CHECKPOINT_NAME,
    CHECKPOINT_PATTERN,
    LATEST,
    RunSpec,
    checkpoint_name,
    remove_stale_temp,
)
from .weights import atomic_write_json, load_tensors, read_json, save_tensors

__all__ = [
    "CHECKPOINT_DIR",
    "LATEST",
    "BEST",
    "RunState",
    "Checkpointer",
    "read_latest",
]

CHECKPOINT_FORMAT = 1


@dataclass
class RunState:
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
    seconds: float = 0.0  # training time so far (max_minutes and its cosine schedule run on it)
    warmup_seconds: float = 0.0  # the training time when the warm-up ended
    budget_spent: str | None = None  # "max_steps" or "max_minutes" once that budget ended the run
    last_lr: float | None = None  # the last step's learning rate, for the history of an epoch resumed at its end
    saves: int = 0
    loss_sum: float = 0.0  # this process's training loss in the current epoch (nats x images)
    loss_count: float = 0.0
    first_loss: float | None = None  # this process's first training loss: a thousandfold of it is divergence
    history: list[dict[str, float]] = field(default_factory=list)


def flatten_optimizer(sd: dict) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    tensors: dict[str, torch.Tensor] = {}
    scalars: dict[str, dict[str, Any]] = {}
    for idx, entry in sd["state"].items():
        for key, value in entry.items():
            if isinstance(value, torch.Tensor):
                tensors[f"optimizer.{idx}.{key}"] = value
            else:
                scalars.setdefault(str(idx), {})[key] = value
    return tensors, {"param_groups": sd["param_groups"], "scalars": scalars}


def unflatten_optimizer(tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> dict:
    state: dict[int, dict[str, Any]] = {}
    for name, value in tensors.items():
        if name.startswith("optimizer."):
            _, idx, key = name.split(".", 2)
            state.setdefault(int(idx), {})[key] = value
    for idx, entry in meta["scalars"].items():
        state.setdefault(int(idx), {}).update(entry)
    return {"state": state, "param_groups": meta["param_groups"]}


def py_np_rng() -> dict[str, Any]:
    version, internal, gauss = random.getstate()
    name, keys, pos, has_gauss, cached = np.random.get_state()
    return {"python": [version, list(internal), gauss], "numpy": [name, keys.tolist(), pos, has_gauss, cached]}


def set_py_np_rng(saved: dict[str, Any]) -> None:
    version, internal, gauss = saved["python"]
    random.setstate((version, tuple(internal), gauss))
    name, keys, pos, has_gauss, cached = saved["numpy"]
    np.random.set_state((name, np.array(keys, dtype=np.uint32), pos, has_gauss, cached))


class Checkpointer:
    """Writes and restores the checkpoints of one run in ``folder`` for this process of ``world``."""

    def __init__(self, folder: Path, rank: int, world: int, device: torch.device):
        self.folder, self.rank, self.world, self.device = Path(folder), rank, world, device
        #: the run's AveragedModel (``ema``): its weights and update count go into every checkpoint
        self.averaged: torch.nn.Module | None = None

    def exists(self) -> bool:
        return (self.folder / LATEST).is_file()

    def save_best(self, model) -> None:
        if self.rank == 0:
            save_tensors(model.state_dict(), self.folder / BEST)

    def load_best(self, model) -> None:
        model.load_state_dict(load_tensors(self.folder / BEST))

    def save(self, model, opt: torch.optim.Optimizer, state: RunState, cfg, scaler) -> None:
        """Write a checkpoint (every process takes part: RNG states and loss sums are gathered)."""
        cpu = all_gather(torch.get_rng_state(), self.world, self.device)
        cuda = (
            all_gather(torch.cuda.get_rng_state(self.device), self.world, self.device)
            if self.device.type == "cuda"
            else []
        )
        acc = all_gather(torch.tensor([state.loss_sum, state.loss_count], dtype=torch.float64), self.world, self.device)
        if self.rank != 0:
            return
        state.saves += 1
        tensors = {f"model.{k}": v for k, v in model.state_dict().items()}
        opt_tensors, opt_meta = flatten_optimizer(opt.state_dict())
        tensors.update(opt_tensors)
        if self.averaged is not None:
            tensors.update({f"ema.{k}": v for k, v in self.averaged.state_dict().items()})
        for r in range(self.world):
            tensors[f"rng.cpu.{r}"] = cpu[r]
            tensors[f"loss.{r}"] = acc[r]
            if cuda:
                tensors[f"rng.cuda.{r}"] = cuda[r]
        name = checkpoint_name(state.saves)
        meta = {
            "format": "zoo-checkpoint",
            "format_version": CHECKPOINT_FORMAT,
            "tensors": name,
            "world_size": self.world,
            "train_config": cfg.model_dump(mode="json"),
            "state": asdict(state),
            "optimizer": opt_meta,
            "rng": py_np_rng(),
            "grad_scaler": scaler.state_dict() if scaler is not None else None,
        }
        had_one = self.exists()
        try:
            save_tensors(tensors, self.folder / name)
            atomic_write_json(self.folder / LATEST, meta)
        except WriteError as exc:  # disk full: the previous checkpoint is still the committed one
            where = f"{getattr(exc, 'path', self.folder)}: cannot write ({getattr(exc, 'reason', exc)})"
            if had_one:
                then = f"the last checkpoint in {self.folder} is intact: free space, then continue with --resume"
            else:  # zoo train's claim_output takes back the run's files: the same command starts it again
                then = "no checkpoint was written yet (nothing to resume): free space, then start the run again"
            raise WriteError(f"{where}; training stopped at step {state.step} and {then}") from None
        for old in self.folder.glob(CHECKPOINT_PATTERN):
            if old.name != name:
                old.unlink(missing_ok=True)
        remove_stale_temp(self.folder)

    def load(self, model, opt: torch.optim.Optimizer, cfg, scaler) -> RunState:
        """Restore a checkpoint; a malformed one is a one-line WeightsError naming the file and field."""
        path = self.folder / LATEST
        meta = read_latest(path)
        if self.rank == 0:
            remove_stale_temp(self.folder)
        try:
            return self._restore(path, meta, model, opt, cfg, scaler)
        except ZooError:
            raise
        except (KeyError, TypeError, ValueError, IndexError, AttributeError, RuntimeError, OverflowError) as exc:
            first = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else ""
            raise WeightsError(f"{path}: malformed checkpoint ({type(exc).__name__}: {first})") from None

    def _restore(self, path: Path, meta: dict, model, opt, cfg, scaler) -> RunState:
        stored, now = RunSpec(train_settings=meta["train_config"]), RunSpec(train_settings=cfg.model_dump(mode="json"))
        stored.check_resumable(path, now, type(cfg)().model_dump(mode="json"))
        tensors = load_tensors(self.folder / meta["tensors"])
        weights = {k[len("model.") :]: v for k, v in tensors.items() if k.startswith("model.")}
        try:
            model.load_state_dict(weights)
        except RuntimeError as exc:
            first = str(exc).strip().splitlines()[0]
            raise WeightsError(f"{self.folder / meta['tensors']}: does not fit this model ({first})") from None
        opt.load_state_dict(unflatten_optimizer(tensors, meta["optimizer"]))
        if self.averaged is not None:
            averaged = {k[len("ema.") :]: v for k, v in tensors.items() if k.startswith("ema.")}
            if not averaged:
                raise WeightsError(f"{self.folder / meta['tensors']}: holds no averaged (ema) weights")
            self.averaged.load_state_dict(averaged)
        try:  # the types of every field: a string where a count belongs would fail later, far from here
            state = TypeAdapter(RunState).validate_python(meta["state"])
        except ValidationError as exc:
            raise WeightsError(f"{path}: field state: {validation_problems(exc)}") from None
        state.history = meta["state"].get("history", [])  # as written: validation would turn ints into floats
        if scaler is not None and meta.get("grad_scaler"):
            scaler.load_state_dict(meta["grad_scaler"])
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
            set_py_np_rng(meta["rng"])
        else:
            random.seed(cfg.seed + rank + state.step)
            np.random.seed((cfg.seed + rank + state.step) % 2**32)
        return state


MAX_LATEST_BYTES = 64 << 20  # latest.json grows by one history entry per epoch: far below this


def read_latest(path: Path) -> dict[str, Any]:
    """``latest.json``, parsed with bounds and its structure checked, so a hand-edited or hostile file
    ends in one line naming the field. ``tensors`` must name a checkpoint file inside the folder:
    no other path (absolute, ``../``, a link out of the folder) is ever opened."""
    meta = read_json(path, MAX_LATEST_BYTES, "a zoo checkpoint")
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
