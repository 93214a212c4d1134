"""Two-process DDP run on CPU: torchrun --nproc_per_node 2 _train_ddp_worker.py OUT."""

import json
import sys
from pathlib import Path

import torch

torch.set_num_threads(1)

import torch.distributed as dist  # noqa: E402

import zoo  # noqa: E402
from zoo.data import load_dataset  # noqa: E402
from zoo.training import DefaultTrainer, TrainConfig  # noqa: E402
from zoo.weights import save_tensors  # noqa: E402

if __name__ == "__main__":
    out = Path(sys.argv[1])
    train = load_dataset("digits", "train", limit=256)
    val = load_dataset("digits", "val", limit=64)
    torch.manual_seed(1234 + int(__import__("os").environ["RANK"]))  # ranks start apart: DDP must sync them
    model = zoo.create("independent")
    with torch.no_grad():
        model.logit_table.normal_()
        before = float(model.loss(train.images))
    config = TrainConfig(epochs=2, batch_size=32, lr=0.05, seed=5, checkpoint_every=3, progress=False, device="cpu")
    result = DefaultTrainer().fit(model, train, val, config, out=out / "run")
    rank, world = dist.get_rank(), dist.get_world_size()
    with torch.no_grad():
        after = float(model.loss(train.images))
    save_tensors(model.state_dict(), out / f"rank{rank}.safetensors")
    (out / f"rank{rank}.json").write_text(
        json.dumps(
            {
                "rank": rank,
                "world": world,
                "before": before,
                "after": after,
                "steps": result.steps,
                "history": result.history,
            }
        )
    )
    dist.barrier()
    dist.destroy_process_group()
