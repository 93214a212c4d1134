"""zoo.folders: one owner for every file name, the claim of a run folder, and RunSpec with its one resume rule."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from zoo.errors import ConfigError, WeightsError, ZooError
from zoo.folders import RESUMABLE_CHANGES, ModelFolder, RunFolder, RunSpec

ROOT = Path(__file__).resolve().parents[1]

# train_config.json as zoo 0.1 wrote it, with a field a newer zoo might add
TODAY = {
    "architecture": "independent",
    "dataset": "digits",
    "dataset_options": {"limit": 256, "root": "/data"},
    "model_config": {"channels": 1, "height": 8, "width": 8, "levels": 17},
    "train_config": {"lr": 0.05, "epochs": 2, "batch_size": 32},
    "zoo_version": "0.1.0",
    "command": "zoo train independent --dataset digits --out runs/a",
    "resumed_with": ["zoo train independent --dataset digits --out runs/a --resume"],
    "from_the_future": {"kept": True},
}


def test_every_file_name_of_a_folder_is_spelt_once_in_the_core():
    """A newcomer finds where a file comes from by reading zoo/folders.py (model format names: zoo/weights.py)."""
    names = [
        "config.json",
        "model.safetensors",
        "README.md",
        "samples.png",
        "completions.png",
        "curves.png",
        "history.csv",
        "train_config.json",
        "train_result.json",
        "latest.json",
        "best.safetensors",
        ".zoo.lock",
        "checkpoints",
        "tensorboard",
    ]
    found = {}
    for path in sorted((ROOT / "zoo").rglob("*.py")):
        code = path.read_text()
        for name in names:
            for _ in re.finditer(rf"[\"']{re.escape(name)}[\"']", code):
                found.setdefault(name, []).append(path.relative_to(ROOT).as_posix())
    # "tensorboard" is also a TrainConfig field, named in the resume rule
    found["tensorboard"] = [p for p in found.get("tensorboard", []) if p != "zoo/training.py"]
    assert {n: places for n, places in found.items() if len(places) != 1 or places[0] == "zoo/outputs.py"} == {
        "tensorboard": ["zoo/folders.py", "zoo/folders.py"]  # the folder's name, and the resumable field
    }
    owners = {n: places[0] for n, places in found.items()}
    model_format = {"config.json", "model.safetensors", "README.md"}
    assert {n for n, p in owners.items() if p == "zoo/weights.py"} == model_format
    assert {n for n, p in owners.items() if p == "zoo/folders.py"} == set(names) - model_format


def test_a_run_folder_names_every_path_under_its_root(tmp_path):
    run = RunFolder(tmp_path)
    assert run.spec_file == tmp_path / "train_config.json"
    assert run.latest == tmp_path / "checkpoints" / "latest.json"
    assert run.best == tmp_path / "checkpoints" / "best.safetensors"
    assert (run.card, run.samples, run.curves) == (tmp_path / "README.md", tmp_path / "samples.png", run.curves)
    assert not ModelFolder(tmp_path).holds_model()


def test_todays_train_config_reads_and_writes_back_unchanged(tmp_path):
    path = tmp_path / "train_config.json"
    path.write_text(json.dumps(TODAY))
    spec = RunFolder(tmp_path).read_spec()
    assert spec.architecture == "independent" and spec.train_settings["lr"] == 0.05
    assert spec.model_settings == TODAY["model_config"]
    RunFolder(tmp_path).write_spec(spec)
    assert json.loads(path.read_text()) == TODAY  # the historic keys, and the unknown field kept


def test_a_run_spec_of_the_wrong_shape_is_one_line_naming_the_field(tmp_path):
    path = tmp_path / "train_config.json"
    path.write_text(json.dumps({**TODAY, "train_config": [1]}))
    with pytest.raises(WeightsError, match=r"field train_config must be a dict, got \[1\]; restore the file"):
        RunSpec.read(path)
    path.write_text(json.dumps({**TODAY, "command": 7}))  # provenance of the wrong type is dropped, not trusted
    assert RunSpec.read(path).command is None


def test_diff_is_the_one_resume_rule():
    before = RunSpec.model_validate(TODAY)
    defaults = {"lr": 0.001, "seed": 0}
    same = before.model_copy()
    assert before.diff(same, defaults) == []
    now = before.model_copy(update={"train_settings": {**before.train_settings, "epochs": 9, "lr": 0.5, "seed": 0}})
    assert before.diff(now, defaults) == ["lr: 0.05 -> 0.5"]  # epochs may change; seed had its default
    now = before.model_copy(update={"model_settings": {"levels": 2}, "dataset_options": {"limit": 64}})
    assert before.diff(now, defaults) == [
        "data option limit: 256 -> 64",
        "data option root: '/data' -> None",
        "the model config",
    ]
    # a checkpoint records only training settings: the model config is not compared
    assert RunSpec(train_settings={"lr": 0.05}).diff(RunSpec(train_settings={"lr": 0.05}, model_settings={}), {}) == []
    assert "epochs" in RESUMABLE_CHANGES
    with pytest.raises(ConfigError, match=r"x: cannot resume with different settings \(lr: 0.05 -> 0.5\); only "):
        RunSpec(train_settings={"lr": 0.05}).check_resumable("x", RunSpec(train_settings={"lr": 0.5}), {})


def test_resuming_a_folder_without_a_checkpoint_creates_nothing(tmp_path):
    out = tmp_path / "typo"
    with pytest.raises(ZooError, match="nothing to resume"), RunFolder(out).claim(resume=True):
        pass
    assert not out.exists()


def test_a_direct_trainer_call_refuses_a_finished_run_but_may_start_afresh(tmp_path):
    run = RunFolder(tmp_path)
    run.check_start(resume=True, trainer=True)  # no checkpoint: fit(resume=True) starts afresh
    run.latest.parent.mkdir()
    run.latest.write_text("{}")
    with pytest.raises(ZooError, match=r"checkpoints already holds a training run; resume it \(resume=True"):
        run.check_start(resume=False, trainer=True)
    run.check_start(resume=False, overwrite=True)  # a rank that does not clear, under --overwrite


def test_a_failed_start_takes_back_what_it_wrote_and_keeps_foreign_files(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(RuntimeError), RunFolder(tmp_path).claim(overwrite=True) as run:
        run.write_spec(RunSpec(architecture="independent", dataset="digits"))
        raise RuntimeError("fails before its first checkpoint")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


def test_zoo_train_ends_with_a_complete_model_folder_that_zoo_card_only_re_renders(tmp_path, capsys):
    from zoo.cli import main

    out = tmp_path / "m"
    args = ["train", "independent", "--dataset", "digits", "--epochs", "1", "--out", str(out)]
    args += ["--set", "progress=false", "--set", "batch_size=512"]
    assert main(args) == 0
    command = "zoo " + " ".join(args)
    meta = json.loads((out / "config.json").read_text())
    assert set(meta["metrics"]) == {"val", "test"}  # the test split measured once, through the evaluator
    assert meta["metrics"]["test"]["split"] == "test" and meta["metrics"]["test"]["n_images"] == 360
    card = (out / "README.md").read_text()
    assert command in card and "model-index" in card and (out / "samples.png").is_file()  # 8x8: cheap grids
    assert main(["card", str(out)]) == 0  # no --recipe: the command comes from the run
    assert command in (out / "README.md").read_text()

    plain = tmp_path / "plain"
    assert main([*args[:7], str(plain), *args[8:], "--no-final-eval"]) == 0
    assert not (plain / "README.md").exists()
    assert set(json.loads((plain / "config.json").read_text())["metrics"]) == {"val"}
