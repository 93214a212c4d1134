"""A training run killed with SIGKILL mid-epoch resumes to exactly the parameters of an uninterrupted run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from zoo.weights import load_tensors

HERE = Path(__file__).parent
WORKER = str(HERE / "_train_resume_worker.py")


def _env(**extra):
    return {**os.environ, "OMP_NUM_THREADS": "1", **extra}


def _final_state(out: Path) -> tuple[dict, dict, dict]:
    latest = json.loads((out / "checkpoints" / "latest.json").read_text())
    final = load_tensors(out / "checkpoints" / latest["tensors"])
    return final, load_tensors(out / "model.safetensors"), latest["state"]


@pytest.mark.slow
def test_sigkill_mid_epoch_then_resume_matches_uninterrupted(tmp_path):
    plain, killed = tmp_path / "plain", tmp_path / "killed"
    reference = subprocess.Popen(
        [sys.executable, WORKER, str(plain)], env=_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    # 320 images, batch 32: 10 steps per epoch, a checkpoint every 3 steps; each step sleeps 0.15 s
    victim = subprocess.Popen(
        [sys.executable, WORKER, str(killed)],
        env=_env(ZOO_TEST_STEP_SLEEP="0.15"),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    latest = killed / "checkpoints" / "latest.json"
    deadline = time.monotonic() + 120
    seen = None
    while time.monotonic() < deadline and victim.poll() is None:
        if latest.is_file():
            state = json.loads(latest.read_text())["state"]
            if state["epoch"] == 1 and state["batch"] > 0:  # mid-way through the second epoch
                seen = state
                victim.send_signal(signal.SIGKILL)
                break
        time.sleep(0.02)
    victim.wait(timeout=30)
    assert seen is not None, "the run never wrote a mid-epoch checkpoint: " + victim.stdout.read().decode()[-2000:]
    assert victim.returncode == -signal.SIGKILL
    assert not (killed / "model.safetensors").exists()  # it really died before finishing
    state = json.loads(latest.read_text())["state"]
    assert state["epoch"] == 1 and 0 < state["batch"] < 10

    resumed = subprocess.run(
        [sys.executable, WORKER, str(killed), "--resume"], env=_env(), capture_output=True, text=True, timeout=120
    )
    assert resumed.returncode == 0, resumed.stdout[-2000:] + resumed.stderr[-2000:]
    assert reference.wait(timeout=120) == 0, reference.stdout.read().decode()[-2000:]

    final_a, best_a, state_a = _final_state(plain)
    final_b, best_b, state_b = _final_state(killed)
    assert final_a.keys() == final_b.keys()
    for key in final_a:  # model, optimizer moments and RNG states: bit for bit
        assert torch.equal(final_a[key], final_b[key]), key
    assert torch.equal(best_a["logit_table"], best_b["logit_table"])
    assert state_a["step"] == state_b["step"] == 30
    assert state_a["history"] == state_b["history"]
    assert not torch.equal(final_a["model.logit_table"], torch.zeros_like(final_a["model.logit_table"]))
