"""Faults around runs and outputs: each ends in one clear line, and nothing is lost or overwritten.

Disk full while checkpointing, hand-edited or hostile ``checkpoints/latest.json``, over-long
names, absurd sample counts and temperatures, an empty completion; ``--out`` folders that hold a
model, two runs into one folder, a killed run's lock and temporary files.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess
import sys

import pytest
import torch

import zoo
from zoo import train
from zoo.cli import main
from zoo.errors import ArgumentError, ImageError, WeightsError, WriteError
from zoo.folders import RunFolder
from zoo.weights import load_tensors

SETTINGS = {"batch_size": 256, "progress": False, "device": "cpu"}
SMALL = {"limit": 256}  # one step per epoch


def run(out, epochs=1, **kwargs):
    return train("independent", "digits", out, epochs=epochs, settings=SETTINGS, dataset_options=SMALL, **kwargs)


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    return run(tmp_path_factory.mktemp("runs") / "finished", epochs=1)


@pytest.fixture
def run_copy(finished_run, tmp_path):
    return shutil.copytree(finished_run, tmp_path / "run")


# -- 5. one clear line ------------------------------------------------------------------------------


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="names the file being written through /proc")
def test_disk_full_while_checkpointing_loses_nothing_and_resumes_exactly(tmp_path, monkeypatch, capsys):
    import zoo.weights

    real_fsync = os.fsync

    def full_disk_for_the_second_checkpoint(fd):
        if ".ckpt-000002.safetensors." in os.readlink(f"/proc/self/fd/{fd}"):
            raise OSError(errno.ENOSPC, "No space left on device")
        real_fsync(fd)

    monkeypatch.setattr(zoo.weights.os, "fsync", full_disk_for_the_second_checkpoint)
    out = tmp_path / "m"
    with pytest.raises(WriteError) as info:
        run(out, epochs=3)
    msg = str(info.value)
    assert "ckpt-000002.safetensors: cannot write (No space left on device)" in msg
    assert "the last checkpoint in" in msg and "is intact" in msg and "--resume" in msg and "\n" not in msg
    ckdir = out / "checkpoints"
    assert json.loads((ckdir / "latest.json").read_text())["tensors"] == "ckpt-000001.safetensors"
    assert sorted(p.name for p in ckdir.iterdir()) == ["best.safetensors", "ckpt-000001.safetensors", "latest.json"]

    monkeypatch.setattr(zoo.weights.os, "fsync", real_fsync)
    resumed = run(out, epochs=3, resume=True)
    straight = run(tmp_path / "straight", epochs=3)
    a, b = load_tensors(resumed / "model.safetensors"), load_tensors(straight / "model.safetensors")
    assert torch.equal(a["logit_table"], b["logit_table"])  # exact resume


def test_disk_full_on_the_command_line_is_one_line(tmp_path, monkeypatch, one_line_error):
    import zoo.weights

    def no_space(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(zoo.weights.os, "fsync", no_space)
    assert main(["create", "independent", "--out", str(tmp_path / "m")]) == 1
    err = one_line_error()
    assert "model.safetensors: cannot write (No space left on device)" in err
    assert not list((tmp_path / "m").glob(".*.tmp"))


def edit_latest(folder, fn):
    path = folder / "checkpoints" / "latest.json"
    meta = json.loads(path.read_text())
    fn(meta)
    path.write_text(json.dumps(meta))
    return path


@pytest.mark.parametrize(
    "edit, expected",
    [
        (lambda m: m.update(tensors="/etc/passwd"), "field tensors must name a checkpoint file in"),
        (lambda m: m.update(tensors="../model.safetensors"), "field tensors must name a checkpoint file"),
        (lambda m: m.update(tensors="ckpt-000001.safetensors/../../x"), "field tensors must name a checkpoint file"),
        (lambda m: m.update(tensors=7), "field tensors must be a str, got 7"),
        (lambda m: m.pop("state"), "field state must be a dict, got None"),
        (lambda m: m.update(train_config=[1]), "field train_config must be a dict"),
        (lambda m: m.update(format_version="1"), "field format_version must be a positive integer"),
        (lambda m: m.update(world_size=0), "field world_size must be at least 1"),
        (lambda m: m["state"].update(epoch="one"), "field state: epoch: Input should be a valid integer"),
        (lambda m: m["state"].update(history=5), "field state: history: Input should be a valid list"),
        (lambda m: m.update(optimizer={}), r"malformed checkpoint \(KeyError: 'scalars'\)"),
        (lambda m: m["optimizer"].update(param_groups="x"), "malformed checkpoint"),
        (lambda m: m.update(rng={"python": 5, "numpy": 5}), "malformed checkpoint"),
        (lambda m: m["rng"].update(numpy=["MT19937", [1, 2], 0, 0, 0.0]), "malformed checkpoint"),
        (lambda m: m.update(format="other"), "unreadable checkpoint"),
        (lambda m: m["state"].update(step=10**40), "field state.step is an integer of 41 digits"),
    ],
)
def test_malformed_latest_json_is_one_line(run_copy, edit, expected):
    path = edit_latest(run_copy, edit)
    with pytest.raises(WeightsError) as info:
        run(run_copy, epochs=2, resume=True)
    msg = str(info.value)
    assert msg.startswith(f"{path}: ") and "\n" not in msg
    assert __import__("re").search(expected, msg), msg


def test_latest_json_that_is_not_json_or_nested_too_deep(run_copy):
    path = run_copy / "checkpoints" / "latest.json"
    path.write_text("{not json")
    with pytest.raises(WeightsError, match=r"latest\.json: not valid JSON"):
        run(run_copy, epochs=2, resume=True)
    path.write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(WeightsError, match=r"latest\.json: JSON nested more than 32 levels deep"):
        run(run_copy, epochs=2, resume=True)


def test_checkpoint_link_out_of_the_folder_is_refused(run_copy, tmp_path):
    ckdir = run_copy / "checkpoints"
    outside = tmp_path / "elsewhere.safetensors"
    shutil.copy(ckdir / "ckpt-000001.safetensors", outside)
    (ckdir / "ckpt-000001.safetensors").unlink()
    (ckdir / "ckpt-000001.safetensors").symlink_to(outside)
    with pytest.raises(WeightsError, match="field tensors: .* links out of the checkpoint folder"):
        run(run_copy, epochs=2, resume=True)


def test_over_long_names_are_one_line(tmp_path, one_line_error):
    long = tmp_path / ("n" * 300)
    assert main(["create", "independent", "--out", str(long)]) == 1
    err = one_line_error()
    assert "File name too long" in err and len(err) < 300
    assert main(["train", "independent", "--dataset", "digits", "--out", str(long / "m")]) == 1
    assert "File name too long" in one_line_error()
    with pytest.raises(WeightsError, match="File name too long"):
        zoo.weights.load_folder(long)
    with pytest.raises(WriteError, match="File name too long"):
        zoo.save_pretrained(zoo.create("independent"), long)


@pytest.fixture
def model():
    return zoo.create("independent", height=3, width=3, levels=4)


@pytest.mark.parametrize("n", [10**12, 100_001])
def test_absurd_sample_counts_are_refused(model, n):
    with pytest.raises(ArgumentError, match=f"n must be at most 100000 per call, got {n}; sample in batches"):
        model.sample(n)


@pytest.mark.parametrize(
    "temperature, expected",
    [
        ("1", r"temperature must be a number, got '1' \(str\)"),
        (None, r"temperature must be a number, got None \(NoneType\)"),
        (True, "temperature must be a number"),
        (1e-320, "temperature must be > 0: a finite number of at least 1e-06 .*got 1e-320"),
        (float("inf"), "got inf"),
        (float("nan"), "got nan"),
        (-1.0, "got -1.0"),
    ],
)
def test_bad_temperatures_are_refused(model, temperature, expected):
    with pytest.raises(ArgumentError, match=expected):
        model.sample(2, temperature=temperature)


def test_small_but_valid_temperature_gives_the_most_likely_levels():
    model = zoo.create("independent", height=2, width=2, levels=4)
    with torch.no_grad():
        model.logit_table.copy_(torch.arange(4.0).view(4, 1, 1, 1).expand(4, 1, 2, 2) * 30)
    assert (model.sample(8, temperature=1e-6) == 3).all()  # not the all-zero images of an overflow


def test_complete_with_zero_images(model):
    with pytest.raises(ImageError, match="x holds no images: complete needs at least one"):
        model.complete(torch.zeros(0, 1, 3, 3, dtype=torch.long), torch.ones(1, 3, 3, dtype=torch.bool))


# -- 4. nothing overwritten ------------------------------------------------------------------------


def test_create_refuses_a_folder_holding_a_model_unless_overwrite(tmp_path, capsys, one_line_error):
    out = tmp_path / "m"
    assert main(["create", "independent", "--out", str(out), "--set", "levels=3"]) == 0
    (out / "README.md").write_text("a card for the first weights")
    (out / "notes.txt").write_text("mine")
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    capsys.readouterr()
    assert main(["create", "independent", "--out", str(out), "--set", "levels=5"]) == 1
    err = one_line_error()
    assert f"{out} already holds a model (config.json, model.safetensors); replace it with --overwrite" in err
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before

    assert main(["create", "independent", "--out", str(out), "--set", "levels=5", "--overwrite"]) == 0
    assert zoo.load(out).config.levels == 5
    assert not (out / "README.md").exists()  # the old card does not stay beside new weights
    assert (out / "notes.txt").read_text() == "mine"  # what zoo did not write is left alone
    assert not (out / ".zoo.lock").exists()


def test_train_refuses_a_model_folder_and_a_non_empty_folder(tmp_path, finished_run, capsys):
    model_folder = zoo.save_pretrained(zoo.create("independent"), tmp_path / "model")
    with pytest.raises(zoo.ZooError, match="already holds a model .*--overwrite"):
        run(model_folder)
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "data.csv").write_text("1,2")
    with pytest.raises(zoo.ZooError, match=r"is not empty \(1 entries, e.g. 'data.csv'\); use a new folder"):
        run(tmp_path / "other")
    with pytest.raises(zoo.ZooError, match="already holds a training run; resume it .*replace it .--overwrite."):
        run(finished_run)
    with pytest.raises(zoo.ZooError, match="--overwrite and --resume exclude each other"):
        run(finished_run, resume=True, overwrite=True)
    out = run(model_folder, overwrite=True)
    assert (out / "checkpoints" / "latest.json").is_file() and zoo.load(out).config.levels == 17


def test_train_overwrite_replaces_a_run(run_copy):
    (run_copy / "checkpoints" / "ckpt-000007.safetensors").write_bytes(b"old")
    (run_copy / "history.csv").write_text("epoch,train_bits_per_dim\n1,9.9\n2,9.8\n3,9.7\n")
    (run_copy / "tensorboard").mkdir(exist_ok=True)
    (run_copy / "tensorboard" / "events.out.tfevents.1.old").write_bytes(b"old")
    (run_copy / "notes.txt").write_text("mine")
    out = run(run_copy, epochs=2, overwrite=True)
    ckpts = sorted(p.name for p in (out / "checkpoints").glob("ckpt-*"))
    assert ckpts == ["ckpt-000002.safetensors"]  # a fresh run: its own numbering, no file of the old one
    assert len((out / "history.csv").read_text().splitlines()) == 3  # header + the new run's 2 epochs
    assert not (out / "tensorboard" / "events.out.tfevents.1.old").exists()
    assert (out / "notes.txt").read_text() == "mine"  # not zoo's: left alone


def test_two_runs_into_one_folder(tmp_path, one_line_error):
    out = tmp_path / "m"
    with RunFolder(out).claim():  # another run holds the folder
        with pytest.raises(zoo.ZooError, match=f"{out} is in use by another zoo run \\(process {os.getpid()}\\)"):
            run(out)
        assert main(["create", "independent", "--out", str(out)]) == 1
        assert "in use by another zoo run" in one_line_error()
    run(out)  # free again


@pytest.mark.slow
def test_a_killed_run_leaves_no_stale_lock(tmp_path):
    out = tmp_path / "m"
    code = (
        "import os, sys; from zoo.folders import RunFolder\n"
        "with RunFolder(sys.argv[1]).claim():\n"
        "    os.kill(os.getpid(), 9)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code, str(out)], capture_output=True)
    assert proc.returncode == -9
    assert (out / ".zoo.lock").exists()  # left behind by the kill, but nobody holds it
    run(out)
    assert not (out / ".zoo.lock").exists()


def test_stale_temporary_files_are_removed_on_resume(run_copy):
    ckdir = run_copy / "checkpoints"
    for name in (".ckpt-000002.safetensors.x1y2.tmp", ".latest.json.abc.tmp", ".best.safetensors.q.tmp"):
        (ckdir / name).write_bytes(b"half a file from a killed write")
    run(run_copy, epochs=2, resume=True)
    assert sorted(p.name for p in ckdir.iterdir()) == ["best.safetensors", "ckpt-000002.safetensors", "latest.json"]


def test_other_ranks_of_a_distributed_run_leave_the_folder_to_rank_0(tmp_path):
    out = tmp_path / "m"
    with RunFolder(out).claim():  # rank 0 holds the folder and has written its first file
        (out / "train_config.json").write_text("{}")
        with RunFolder(out).claim(lock=False, overwrite=True):  # rank 1: no lock, no refusal, nothing removed
            pass
        assert (out / "train_config.json").is_file()
