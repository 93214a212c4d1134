"""Two processes under torchrun (gloo, CPU): DDP keeps the ranks identical and the loss falls."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from zoo.weights import load_tensors

HERE = Path(__file__).parent


@pytest.mark.slow
def test_torchrun_two_processes_on_cpu(tmp_path):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "GLOO_SOCKET_IFNAME": os.environ.get("GLOO_SOCKET_IFNAME", "lo")}
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc_per_node",
        "2",
        str(HERE / "_train_ddp_worker.py"),
        str(tmp_path),
    ]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    ranks = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in (0, 1)]
    assert [r["world"] for r in ranks] == [2, 2]
    # the ranks started from different random weights; DDP broadcast rank 0's and kept them in step
    assert ranks[0]["before"] != ranks[1]["before"]
    a, b = (load_tensors(tmp_path / f"rank{r}.safetensors") for r in (0, 1))
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert ranks[0]["after"] < ranks[0]["before"] - 20  # nats per image on the training images
    # 256 images, global batch 32 split in two: 8 steps per epoch, 2 epochs
    assert ranks[0]["steps"] == 16 and ranks[0]["history"] == ranks[1]["history"]
    assert ranks[0]["history"][1]["val_nll"] < ranks[0]["history"][0]["val_nll"]
    # rank 0 alone wrote the checkpoints; they hold both ranks' RNG states
    ckdir = tmp_path / "run" / "checkpoints"
    latest = json.loads((ckdir / "latest.json").read_text())
    assert latest["world_size"] == 2 and latest["state"]["step"] == 16
    assert sorted(p.name for p in ckdir.iterdir()) == ["best.safetensors", latest["tensors"], "latest.json"]
    tensors = load_tensors(ckdir / latest["tensors"])
    assert {"rng.cpu.0", "rng.cpu.1"} <= tensors.keys()
    assert not torch.equal(tensors["rng.cpu.0"], tensors["rng.cpu.1"])
    assert torch.equal(tensors["model.logit_table"], a["logit_table"])
