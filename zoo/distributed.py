"""torch.distributed for the trainer: joining the process group under torchrun, gathering, leaving.

Under ``torchrun`` (``WORLD_SIZE`` > 1) the trainer joins a process group (gloo on CPU, nccl on
GPU). A group zoo created is zoo's to destroy when the run ends; a group the caller created is
left alone.
"""

from __future__ import annotations

import os

import torch
import torch.distributed as dist

from .errors import ZooError

__all__ = ["setup", "all_gather", "finish", "rank"]

_OWNS_PROCESS_GROUP = False


def rank() -> int:
    """This process's rank: the process group's when joined, else torchrun's ``RANK`` (0 alone)."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank()
    return int(os.environ.get("RANK", "0"))


def setup(device_setting: str) -> tuple[int, int, torch.device]:
    """(rank, world size, device); joins torch.distributed when launched by torchrun."""
    global _OWNS_PROCESS_GROUP
    world = int(os.environ.get("WORLD_SIZE", "1"))
    local = int(os.environ.get("LOCAL_RANK", "0"))
    if device_setting == "cuda" and not torch.cuda.is_available():
        raise ZooError("device='cuda' but no CUDA device is available; use device=cpu or auto")
    use_cuda = device_setting == "cuda" or (device_setting == "auto" and torch.cuda.is_available())
    device = torch.device("cuda", local % torch.cuda.device_count()) if use_cuda else torch.device("cpu")
    if use_cuda:
        torch.cuda.set_device(device)
    if world > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if use_cuda else "gloo")
        _OWNS_PROCESS_GROUP = True
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size(), device
    return 0, 1, device


def all_gather(t: torch.Tensor, world: int, device: torch.device) -> list[torch.Tensor]:
    if world == 1:
        return [t]
    comm = t.to(device if dist.get_backend() == "nccl" else "cpu")
    out = [torch.empty_like(comm) for _ in range(world)]
    dist.all_gather(out, comm)
    return [o.cpu() for o in out]


def finish() -> None:
    """Wait for rank 0's files, then leave the process group if this module created it."""
    global _OWNS_PROCESS_GROUP
    if dist.is_available() and dist.is_initialized() and _OWNS_PROCESS_GROUP:
        dist.barrier()
        dist.destroy_process_group()
        _OWNS_PROCESS_GROUP = False
