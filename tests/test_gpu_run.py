"""benchmarks/gpu_run.py: its recipes fit the registered architectures, and its dry run goes end to end on the CPU."""

from __future__ import annotations

import gzip
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from zoo.builtin.datasets import MNIST_FILES, MNIST_VAL
from zoo.cli import parse_settings
from zoo.registry import get_registry
from zoo.training import TrainConfig, split_settings

from .test_data import idx_bytes

SCRIPT = Path(__file__).resolve().parent.parent / "benchmarks" / "gpu_run.py"
SEEDS = [
    "pixelcnn-binarized-mnist",
    "gated-pixelcnn-binarized-mnist",
    "row-lstm-binarized-mnist",
    "diagonal-bilstm-binarized-mnist",
    "vae-bernoulli-binarized-mnist",
    "iwae-binarized-mnist",
    "hvae-binarized-mnist",
    "pixelcnn-mnist",
    "vdm-mnist",
    "nice-mnist",  # the flows: plugins/zoo-flow
    "glow-mnist",
]


def gpu_run():
    spec = importlib.util.spec_from_file_location("gpu_run", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules["gpu_run"] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_every_seed_recipe_is_valid_at_its_paper_size(tmp_path):
    """The settings the GPU run passes `zoo train` build a config and a TrainConfig (no GPU, no training)."""
    run = gpu_run()
    recipes = {r.name: r for r in run.RECIPES}
    assert set(SEEDS) <= set(recipes)
    for name in SEEDS:
        recipe = recipes[name]
        assert run.unusable(recipe) is None, name
        train, evaluate = run.commands(recipe, tmp_path / name, 6.5, dry=False)
        settings = parse_settings([train[i + 1] for i, a in enumerate(train) if a == "--set"])
        model_part, train_part = split_settings(get_registry().model(recipe.arch).cls.config_class, settings)
        cfg = TrainConfig(**train_part)
        assert cfg.max_minutes == 6.5 and cfg.epochs is None and cfg.device == "cuda" and cfg.schedule == "cosine"
        assert model_part == {k: v for k, v in recipe.settings.items() if k not in TrainConfig.model_fields}
        assert ("--k" in evaluate) == (recipe.k is not None) == (recipe.arch in ("vae-bernoulli", "hvae"))
    assert "not registered" in run.unusable(run.Recipe("x", "no-such-arch", "digits", {}, {}, 1.0))
    bad = run.Recipe("x", "pixelcnn", "digits", {"no_such_field": 1}, {}, 1.0)
    assert "no setting(s) no_such_field" in run.unusable(bad)


def write_tiny_mnist(root: Path, n_train: int = MNIST_VAL + 16, n_test: int = 16) -> None:
    """MNIST's four IDX files with few images (the last 10,000 training images are the val split)."""
    rng = np.random.RandomState(0)
    folder = root / "mnist"
    folder.mkdir(parents=True)
    for key, n in (("train", n_train), ("test", n_test)):
        images = np.zeros((n, 28, 28), dtype=np.uint8)
        images[:, 8:20, 10:18] = rng.randint(0, 256, (n, 12, 8))  # a blob of ink in the middle
        labels = rng.randint(0, 10, n).astype(np.uint8)
        for part, arr in ((f"{key}-images", images), (f"{key}-labels", labels)):
            (folder / MNIST_FILES[part]).write_bytes(gzip.compress(idx_bytes(arr), compresslevel=1))


@pytest.mark.slow
def test_dry_run_trains_evaluates_and_summarises(tmp_path):
    write_tiny_mnist(tmp_path / "data")
    out = tmp_path / "run"
    env = {**os.environ, "ZOO_DATA": str(tmp_path / "data"), "OMP_NUM_THREADS": "1"}
    only = ["--only", "diagonal-bilstm-binarized-mnist", "--only", "vae-bernoulli-binarized-mnist"]
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--dry-run", "--skip", "check", *only, "--out", str(out)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["dry_run"] and summary["phases"]["speed"]["status"] == "ok"
    models = {m["name"]: m for m in summary["models"]}
    assert set(models) == {"diagonal-bilstm-binarized-mnist", "vae-bernoulli-binarized-mnist"}
    for name, m in models.items():
        assert m["status"] == "ok" and m["steps"] == 2 and m["budget_spent"] == "max_steps"
        assert m["test"] > 0 and m["bundled"] is not None and m["commands"][0].startswith("zoo train")
        metrics = json.loads((out / "runs" / name / "config.json").read_text())["metrics"]
        assert metrics["test[:16]"]["nll_nats"] == m["test"]  # zoo eval --save stored the figure in the folder
    assert models["vae-bernoulli-binarized-mnist"]["k"] == 5 and models["diagonal-bilstm-binarized-mnist"]["k"] is None
    text = (out / "summary.md").read_text()
    assert "| diagonal-bilstm-binarized-mnist | ok | 2 |" in text and "nats (k=5)" in text
    assert (out / "logs" / "speed.log").read_text().strip()
    again = [sys.executable, str(SCRIPT), "--dry-run", "--out", str(out)]
    refused = subprocess.run(again, capture_output=True, text=True, timeout=120)
    assert refused.returncode != 0 and "is not empty" in refused.stderr
