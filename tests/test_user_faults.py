"""What a user meets at the doors of zoo: typed dataset options, the one resume rule, and faults
(a failed start, SIGTERM/SIGINT, a full disk, a stale temporary file, a fine-tune whose source is
gone, TensorBoard failing) that each end in one line and leave a state the line describes."""

from __future__ import annotations

import errno
import json
import logging
import os
import shutil
import signal

import pytest
import torch

import zoo
from zoo import train
from zoo.cli import main
from zoo.data import dataset_options, load_dataset
from zoo.errors import ConfigError, DatasetError, Interrupted, WeightsError, WriteError
from zoo.events import EventLog
from zoo.training import TrainStep
from zoo.weights import load_tensors

SETTINGS = {"batch_size": 32, "progress": False, "device": "cpu"}
SMALL = {"limit": 96}  # three steps per epoch


def run(out, source="independent", dataset="digits", epochs=1, options=SMALL, **kwargs):
    return train(source, dataset, out, epochs=epochs, settings=SETTINGS, dataset_options=options, **kwargs)


# -- 1. dataset options, typed by what the dataset declares -------------------------------------


@pytest.mark.parametrize(
    "word, value",
    [("False", False), ("false", False), ("NO", False), ("0", False), ("True", True), ("yes", True), ("1", True)],
)
def test_boolean_options_accept_the_usual_words(word, value):
    assert dataset_options("binarized-mnist", {"dynamic": word}) == {"dynamic": value}


def test_dynamic_false_reads_the_static_set_and_its_message_offers_the_mnist_route():
    """Old zoo read ``dynamic=False`` as the string "False", which is true: it binarized MNIST instead."""
    with pytest.raises(DatasetError, match=r"binarized_mnist_test\.amat not found.*--data-option dynamic=true"):
        load_dataset("binarized-mnist", "test", dynamic="False")


@pytest.mark.parametrize(
    "pair, expected",
    [
        ("bogus=1", "dataset 'digits' has no option 'bogus'; its options: limit"),
        ("limit=true", "option limit must be an integer, got 'true'"),
        ("limit=0", "option limit must be in 1.., got 0"),
        ("split=test", "'split' is not an option of dataset 'digits': give it as --split"),
        ("progress=1", "'progress' is not an option"),
        ("name=x", "'name' is not an option"),
    ],
)
def test_a_bad_data_option_is_refused_at_once_and_touches_nothing(tmp_path, pair, expected, one_line_error):
    out = tmp_path / "run"
    argv = ["train", "independent", "--dataset", "digits", "--out", str(out), "--data-option", pair]
    assert main(argv) == 2
    assert expected in one_line_error()
    assert not out.exists()


def test_seed_option_is_bounded():
    with pytest.raises(DatasetError, match=r"option seed must be in 0\.\.4294967295"):
        dataset_options("binarized-mnist", {"seed": str(2**40)})
    with pytest.raises(DatasetError, match="option seed must be an integer, got '1.5'"):
        dataset_options("binarized-mnist", {"seed": "1.5"})


def test_a_runs_limit_is_not_the_models_and_never_breaks_a_later_eval(tmp_path, capsys):
    """Old zoo: TypeError "got multiple values for keyword argument 'limit'" in every eval of such a run; then
    (until issue 32) the limit was recorded as the model's data option and every later eval measured 40 images."""
    out = run(tmp_path / "run", options={"limit": 40})
    assert json.loads((out / "config.json").read_text())["dataset_options"] == {}
    assert json.loads((out / "train_config.json").read_text())["dataset_options"] == {"limit": 40}  # the run's
    capsys.readouterr()
    assert main(["eval", str(out), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["n_images"] == 360  # the whole split
    assert main(["eval", str(out), "--json", "--limit", "7"]) == 0
    assert json.loads(capsys.readouterr().out)["n_images"] == 7

    meta = json.loads((out / "config.json").read_text())  # a folder an older zoo wrote, its limit recorded
    (out / "config.json").write_text(json.dumps({**meta, "dataset_options": {"limit": 40}}))
    assert main(["eval", str(out), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["n_images"] == 360


def test_a_hub_copy_of_a_limited_run_is_measured_on_the_whole_split(tmp_path, capsys, fake_hub):
    out = run(tmp_path / "run", options={"limit": 40})
    zoo.push_to_hub(out, "alice/small")
    capsys.readouterr()
    assert main(["eval", "alice/small", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["n_images"] == 360


def test_plugins_declare_typed_options_and_reserved_names_are_refused():
    seen = []

    def squares(split, size=2, fine=False):
        seen.append((size, fine))
        return zoo.data.ImageSet(torch.zeros(1, 1, size, size, dtype=torch.uint8), None, 2, "squares", split)

    class Squares:
        @zoo.hookimpl
        def zoo_register_datasets(self, register):
            register("squares", squares, options=[zoo.DatasetOption("size", int, 2, "side", minimum=1, maximum=8)])
            register("squares-sig", squares)  # declared nothing: the loader's signature, typed by its defaults
            register("squares-bad", squares, options=[zoo.DatasetOption("split", int)])

    zoo.register_plugin(Squares(), "squares-plugin")
    try:
        assert load_dataset("squares", "train", size="3").shape == (1, 3, 3)
        load_dataset("squares-sig", "train", size="4", fine="no")
        assert seen == [(3, False), (4, False)]
        with pytest.raises(DatasetError, match="option size must be in 1..8, got 9"):
            load_dataset("squares", "train", size=9)
        record = next(p for p in zoo.plugins() if p["name"] == "squares-plugin")
        assert any("option name 'split' is a parameter of load_dataset" in e for e in record["errors"])
    finally:
        zoo.unregister_plugin("squares-plugin")


# -- 3. the resume rule ---------------------------------------------------------------------------


def test_resume_refuses_a_changed_data_option_or_seed(tmp_path, one_line_error):
    out = run(tmp_path / "run")
    base = ["train", "independent", "--dataset", "digits", "--out", str(out), "--resume", "--epochs", "2"]
    assert main([*base, "--data-option", "limit=64"]) == 2
    assert "cannot resume with different settings (data option limit: 96 -> 64)" in one_line_error()
    assert main([*base, "--set", "seed=4"]) == 2
    assert "seed: 0 -> 4" in one_line_error()
    assert json.loads((out / "train_config.json").read_text())["dataset_options"] == {"limit": 96}
    assert main([*base, "--data-option", "limit=96"]) == 0  # the same option is no change


@pytest.mark.parametrize(
    "text, expected",
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "not a zoo run record"),
        ('{"architecture": "independent", "dataset": "digits", "dataset_options": 5}', "field dataset_options"),
        ('{"architecture": 3, "dataset": "digits"}', "field architecture must be a str"),
    ],
)
def test_an_edited_train_config_is_one_line(tmp_path, text, expected, one_line_error):
    out = run(tmp_path / "run")
    (out / "train_config.json").write_text(text)
    assert main(["train", "independent", "--dataset", "digits", "--out", str(out), "--resume", "--epochs", "2"]) == 1
    err = one_line_error()
    assert "train_config.json" in err and expected in err and "new folder" in err


def test_an_edited_stored_setting_names_the_file(tmp_path, capsys):
    out = run(tmp_path / "run")
    record = json.loads((out / "train_config.json").read_text())
    record["train_config"]["lr"] = "fast"
    (out / "train_config.json").write_text(json.dumps(record))
    with pytest.raises(ConfigError, match=r"invalid training settings in .*train_config.json: lr"):
        run(out, epochs=2, resume=True)


# -- 4. faults leave a truthful state -------------------------------------------------------------


@pytest.mark.parametrize("exists", [False, True])
def test_a_failed_fine_tune_leaves_the_folder_as_it_found_it(tmp_path, exists, one_line_error):
    """Old zoo left train_config.json behind, and the corrected command was refused ("not empty")."""
    source, out = tmp_path / "base", tmp_path / "ft"
    assert main(["create", "independent", "--out", str(source)]) == 0  # digits: 17 levels
    if exists:
        out.mkdir()
    argv = ["train", str(source), "--dataset", "digits-binarized", "--out", str(out), "--epochs", "1"]
    assert main([*argv, "--set", "progress=false"]) == 1
    assert "17 levels" in one_line_error()
    assert out.is_dir() == exists and (not exists or not any(out.iterdir()))
    argv[3] = "digits"
    assert main([*argv, "--set", "progress=false", "--data-option", "limit=32"]) == 0


def _signal_at_step(monkeypatch, sig, at):
    real = TrainStep.__call__

    def step(self, x, n, **kw):
        value = real(self, x, n, **kw)
        if n == at:
            os.kill(os.getpid(), sig)
        return value

    monkeypatch.setattr(TrainStep, "__call__", step)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_before_the_first_epoch_ends_checkpoints_and_resume_is_exact(tmp_path, monkeypatch, sig):
    """Old zoo: SIGTERM killed the run with no checkpoint ("nothing to resume"); SIGINT lost the epoch."""
    _signal_at_step(monkeypatch, sig, at=2)
    out = tmp_path / "run"
    with pytest.raises(Interrupted, match=rf"stopped by {sig.name} at epoch 1, batch 2 \(step 2\).*--resume") as info:
        run(out, epochs=2)
    assert info.value.exit_code == 128 + sig
    assert json.loads((out / "checkpoints" / "latest.json").read_text())["state"]["batch"] == 2
    assert signal.getsignal(sig) is not None and signal.getsignal(signal.SIGTERM) == signal.SIG_DFL
    monkeypatch.undo()
    resumed = run(out, epochs=2, resume=True)
    straight = run(tmp_path / "straight", epochs=2)
    a, b = load_tensors(resumed / "model.safetensors"), load_tensors(straight / "model.safetensors")
    assert torch.equal(a["logit_table"], b["logit_table"])


def test_sigterm_on_the_command_line_is_one_line_and_its_exit_code(tmp_path, monkeypatch, one_line_error):
    _signal_at_step(monkeypatch, signal.SIGTERM, at=1)
    argv = ["train", "independent", "--dataset", "digits", "--out", str(tmp_path / "r"), "--set", "progress=false"]
    assert main([*argv, "--data-option", "limit=96"]) == 128 + signal.SIGTERM
    assert "stopped by SIGTERM" in one_line_error()


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="names the file being written through /proc")
def test_disk_full_before_the_first_checkpoint_leaves_no_folder_and_says_so(tmp_path, monkeypatch):
    """Old zoo said "--resume"; --resume said nothing to resume; a fresh start said the folder is not empty."""
    import zoo.weights

    real_fsync = os.fsync

    def full(fd):
        if ".ckpt-000001.safetensors." in os.readlink(f"/proc/self/fd/{fd}"):
            raise OSError(errno.ENOSPC, "No space left on device")
        real_fsync(fd)

    monkeypatch.setattr(zoo.weights.os, "fsync", full)
    out = tmp_path / "run"
    with pytest.raises(WriteError) as info:
        run(out)
    msg = str(info.value)
    assert "no checkpoint was written yet (nothing to resume)" in msg and "start the run again" in msg
    assert "--resume" not in msg and not out.exists()
    monkeypatch.setattr(zoo.weights.os, "fsync", real_fsync)
    assert run(out).is_dir()


def test_resume_removes_the_temporary_files_of_a_killed_final_save(tmp_path):
    out = run(tmp_path / "run")
    stale = out / ".config.json.k1ll3d.tmp"
    stale.write_text("{half")
    run(out, epochs=2, resume=True)
    assert not stale.exists() and not list(out.glob(".*.tmp"))


def test_a_fine_tune_resumes_from_its_checkpoint_when_the_source_is_gone(tmp_path, monkeypatch, capsys):
    source, out = tmp_path / "base", tmp_path / "ft"
    assert main(["create", "independent", "--out", str(source)]) == 0
    _signal_at_step(monkeypatch, signal.SIGTERM, at=2)
    with pytest.raises(Interrupted):
        run(out, source=str(source), epochs=2)
    monkeypatch.undo()
    shutil.rmtree(source)
    assert run(out, source=str(source), epochs=2, resume=True) == out
    assert json.loads((out / "train_result.json").read_text())["epochs"] == 2


class _FullDisk:
    def add_scalar(self, *args):
        raise OSError(errno.ENOSPC, "No space left on device")

    flush = close = add_scalar


def test_tensorboard_failing_mid_run_is_one_warning_and_the_run_goes_on(tmp_path, monkeypatch, caplog):
    import zoo.training

    monkeypatch.setattr(zoo.training, "open_event_log", lambda *a, **k: EventLog(_FullDisk()))
    with caplog.at_level(logging.WARNING, logger="zoo.events"):
        out = run(tmp_path / "run", epochs=2)
    assert (out / "model.safetensors").is_file()
    warnings = [r.getMessage() for r in caplog.records if r.name == "zoo.events"]
    assert len(warnings) == 1 and "No space left on device" in warnings[0] and "training goes on" in warnings[0]


def test_an_unreadable_run_record_is_a_weights_error(tmp_path):
    out = run(tmp_path / "run")
    (out / "train_config.json").write_bytes(b"\xff\xfe")
    with pytest.raises(WeightsError, match="train_config.json"):
        run(out, epochs=2, resume=True)
