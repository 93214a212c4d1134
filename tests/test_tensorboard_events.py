"""TensorBoard events of a run: the same per-epoch numbers as history.csv, one per epoch even across a resume."""

from __future__ import annotations

import csv
import sys

import pytest

import zoo
from zoo import train
from zoo.checkpoint import Checkpointer
from zoo.data import load_dataset
from zoo.events import scalar_tag
from zoo.folders import EVENTS_DIR
from zoo.training import DefaultTrainer, TrainConfig


def read_events(folder) -> dict[str, list[tuple[int, float]]]:
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(folder))
    events.Reload()
    return {tag: [(e.step, e.value) for e in events.Scalars(tag)] for tag in events.Tags()["scalars"]}


def assert_events_match_history(out) -> list[int]:
    rows = list(csv.DictReader((out / "history.csv").open()))
    events = read_events(out / EVENTS_DIR)
    epochs = [int(r["epoch"]) for r in rows]
    columns = [c for c in rows[0] if c != "epoch"]
    assert sorted(events) == sorted(scalar_tag(c) for c in columns)
    for column in columns:
        got = events[scalar_tag(column)]
        want = [(e, float(r[column])) for e, r in zip(epochs, rows) if r[column] != ""]
        assert [step for step, _ in got] == [step for step, _ in want], column
        assert [v for _, v in got] == pytest.approx([v for _, v in want], rel=1e-6), column  # stored as float32
    return epochs


def test_events_hold_the_history_of_each_epoch(tmp_path):
    pytest.importorskip("tensorboard")
    out = tmp_path / "run"
    train(
        "independent",
        "digits",
        out,
        settings={"epochs": 2, "progress": False, "lr": 0.05},
        dataset_options={"limit": 256},
    )
    assert assert_events_match_history(out) == [1, 2]
    assert scalar_tag("train_bits_per_dim") == "bits_per_dim/train" and scalar_tag("val_nll") == "nll/val"
    assert scalar_tag("lr") == "lr"


class Crash(RuntimeError):
    pass


def test_a_resumed_run_continues_the_events_without_repeating_an_epoch(tmp_path, monkeypatch):
    pytest.importorskip("tensorboard")
    data = load_dataset("digits", "train", limit=128), load_dataset("digits", "val", limit=32)
    cfg = TrainConfig(epochs=3, batch_size=64, lr=0.05, progress=False, device="cpu")
    out = tmp_path / "run"
    save = Checkpointer.save

    def crash_at_epoch_2(self, model, opt, state, cfg, scaler):
        """Dies while writing the checkpoint of epoch 2: its history and events are written, its checkpoint not."""
        if state.epoch == 2:
            raise Crash("killed while checkpointing")
        save(self, model, opt, state, cfg, scaler)

    with monkeypatch.context() as patch:
        patch.setattr(Checkpointer, "save", crash_at_epoch_2)
        with pytest.raises(Crash):
            DefaultTrainer().fit(zoo.create("independent"), *data, cfg, out=out)
    assert [s for s, _ in read_events(out / EVENTS_DIR)["bits_per_dim/train"]] == [1, 2]  # epoch 2 logged, not saved
    DefaultTrainer().fit(zoo.create("independent"), *data, cfg, out=out, resume=True)  # redoes epoch 2
    assert assert_events_match_history(out) == [1, 2, 3]


@pytest.mark.parametrize("how", ["not installed", "switched off"])
def test_no_events_without_tensorboard_or_when_switched_off(tmp_path, monkeypatch, how):
    settings = {"epochs": 1, "progress": False}
    if how == "not installed":
        monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)  # any import of it now fails
    else:
        settings["tensorboard"] = False
    out = train("independent", "digits", tmp_path / "run", settings=settings, dataset_options={"limit": 128})
    assert (out / "history.csv").is_file() and (out / "model.safetensors").is_file()
    assert not (out / EVENTS_DIR).exists()


def test_an_unwritable_events_folder_is_one_clear_error(tmp_path):
    pytest.importorskip("tensorboard")
    from zoo.errors import WriteError
    from zoo.events import open_event_log

    (tmp_path / EVENTS_DIR).write_text("a file where the folder goes")
    with pytest.raises(
        WriteError,
        match=r"tensorboard: cannot write TensorBoard events \(.*\); make it writable "
        r"or train with --set tensorboard=false",
    ):
        open_event_log(tmp_path, 1)
