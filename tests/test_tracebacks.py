"""The raw tracebacks of issue 30's red team, each one line now: hostile config and run-record fields in
``zoo info`` and ``zoo card``, a plugin dataset that cannot be listed, ``--root`` naming a file, an IDX
header of 255 dimensions, ``gpu_run.py`` arguments that cannot work, one damaged pretrained entry."""

from __future__ import annotations

import gzip
import json
import struct

import pytest

import zoo
from zoo.cli import main


@pytest.fixture
def folder(tmp_path, tiny_model):
    path = tmp_path / "model"
    tiny_model(1).save_pretrained(path)
    return path


def _edit(folder, **fields):
    meta = json.loads((folder / "config.json").read_text())
    meta.update(fields)
    (folder / "config.json").write_text(json.dumps(meta))


@pytest.mark.parametrize(
    "fields, named",
    [
        ({"metrics": {"test": {"nll_nats": "abc"}}}, "metrics.test.nll_nats"),
        ({"metrics": {"test": [1, 2]}}, "metrics.test"),
        ({"metrics": {"test": {"nll_nats": 1.0, "options": "x"}}}, "metrics.test.options"),
        ({"metrics": {"test": {"nll_nats": 1.0, "extra": {"a": "b"}}}}, "metrics.test.extra.a"),
        ({"dataset_options": "x"}, "dataset_options"),
        ({"recipe": 5}, "recipe"),
        ({"license": ["mit"]}, "license"),
    ],
)
@pytest.mark.parametrize("verb", ["info", "card"])
def test_a_hostile_config_field_is_one_line_naming_it(folder, one_line_error, fields, named, verb):
    _edit(folder, **fields)
    assert main([verb, str(folder)]) == 1  # a runtime error (zoo.errors: exit 1)
    assert f"field {named} must be" in one_line_error()


@pytest.mark.parametrize("record", [{"seconds": "fast", "history": "x"}, {"history": [1, 2]}, {"epochs": {}}])
def test_a_damaged_run_record_leaves_its_part_out_of_the_card(folder, record):
    (folder / "train_result.json").write_text(json.dumps(record))
    assert main(["card", str(folder)]) == 0
    assert (folder / "README.md").is_file()


def _dataset_plugin(**fields):
    class Plugin:
        @zoo.hookimpl
        def zoo_register_datasets(self, register):
            register("odd-test", lambda split: None, **fields)

    return Plugin()


class Unprintable:
    def __str__(self):
        raise RuntimeError("no")

    __repr__ = __str__


@pytest.mark.parametrize(
    "fields",
    [
        {"shape": 7},
        {"shape": (1, 0, 3)},
        {"levels": "many"},
        {"description": 5},
        {"options": [zoo.DatasetOption("x", str, Unprintable())]},
    ],
)
def test_a_plugin_dataset_that_cannot_be_listed_is_recorded_and_the_others_list(fields, capsys):
    name = zoo.register_plugin(_dataset_plugin(**fields), "odd-dataset-plugin")
    try:
        assert main(["list", "--datasets"]) == 0
        out = capsys.readouterr().out
        assert "digits" in out and "odd-test" not in out
        record = next(p for p in zoo.plugins() if p["name"] == "odd-dataset-plugin")
        assert record["errors"] and "odd-test" in record["errors"][0]
    finally:
        zoo.unregister_plugin(name)


@pytest.mark.parametrize("how", ["--root", "ZOO_DATA"])
def test_zoo_download_into_a_file_is_one_line(tmp_path, monkeypatch, one_line_error, how):
    target = tmp_path / "afile"
    target.write_text("")
    argv = ["download", "mnist"]
    if how == "--root":
        argv += ["--root", str(target)]
    else:
        monkeypatch.setenv("ZOO_DATA", str(target))
    assert main(argv) == 1  # a runtime error
    error = one_line_error()
    assert "cannot make the data folder (Not a directory)" in error and how in error


def test_an_idx_header_of_255_dimensions_is_one_line(tmp_path):
    from zoo.builtin.datasets import read_idx

    path = tmp_path / "x.gz"
    with gzip.open(path, "wb") as f:
        f.write(bytes([0, 0, 8, 255]) + struct.pack(">I", 1) * 255)
    with pytest.raises(zoo.DatasetError, match="declares 255 dimensions"):
        read_idx(path)


@pytest.mark.parametrize(
    "extra, expected",
    [(["--jobs", "0"], "--jobs must be at least 1"), (["--minutes", "0"], "--minutes must be"), ([], "is a file")],
)
def test_gpu_run_arguments_that_cannot_work_are_one_line(tmp_path, extra, expected):
    from .test_gpu_run import gpu_run

    out = tmp_path / "afile"
    out.write_text("")
    with pytest.raises(SystemExit, match=expected):
        gpu_run().main(["--out", str(out if not extra else tmp_path / "new"), "--dry-run", *extra])


def test_gpu_run_out_under_a_file_is_one_line(tmp_path):
    from .test_gpu_run import gpu_run

    (tmp_path / "afile").write_text("")
    with pytest.raises(SystemExit, match="cannot make the folder"):
        gpu_run().main(["--out", str(tmp_path / "afile" / "x"), "--dry-run"])


def test_one_damaged_pretrained_entry_does_not_hide_the_others(register_entry, capsys, monkeypatch):
    entry = register_entry(
        zoo.PretrainedEntry(
            name="damaged-test", architecture="independent", dataset="digits", description="x", repo_id="a/b"
        )
    )
    real = zoo.model_info

    def info(name):
        if name == entry.name:
            raise zoo.WeightsError("config.json: damaged")
        return real(name)

    monkeypatch.setattr(zoo, "model_info", info)
    assert main(["list", "--pretrained"]) == 0
    out = capsys.readouterr().out
    assert "damaged-test" in out and "config.json: damaged" in out and "independent-digits" in out


def test_a_run_killed_before_its_first_checkpoint_can_be_rerun(tmp_path):
    """SIGKILL before the first checkpoint left train_config.json (and an uncommitted checkpoint): a rerun
    refused the folder as not empty and --resume as empty. The rerun now takes it back and starts."""
    from zoo import train

    settings = {"batch_size": 256, "progress": False, "device": "cpu"}
    out = tmp_path / "run"
    (out / "checkpoints").mkdir(parents=True)
    (out / "train_config.json").write_text("{}")
    (out / "checkpoints" / "ckpt-000001.safetensors").write_bytes(b"half")
    train("independent", "digits", out, epochs=1, settings=settings, dataset_options={"limit": 256})
    assert (out / "model.safetensors").is_file() and (out / "checkpoints" / "latest.json").is_file()


def test_a_killed_start_beside_a_file_of_the_users_is_still_refused(tmp_path):
    from zoo import train

    out = tmp_path / "run"
    out.mkdir()
    (out / "train_config.json").write_text("{}")
    (out / "notes.txt").write_text("mine")
    with pytest.raises(zoo.ZooError, match="not empty"):
        train("independent", "digits", out, epochs=1, settings={"progress": False}, dataset_options={"limit": 256})
    assert (out / "notes.txt").read_text() == "mine"


def test_an_empty_name_is_refused_not_the_current_folder(tmp_path, monkeypatch, tiny_model):
    tiny_model(1).save_pretrained(tmp_path)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(zoo.ArgumentError, match="empty model name"):
        zoo.load("")
    assert zoo.load(".").architecture == "independent"


@pytest.mark.parametrize(
    "card", ["---\nfoo: [\n---\nbody\n", "---\n- a\n- b\n---\nbody\n", "---\njust a string\n---\nbody\n"]
)
def test_a_card_with_broken_front_matter_is_one_line_or_rewritten(fake_hub, folder, card, capsys):
    (folder / "README.md").write_text(card)
    for argv in (["card", str(folder)], ["info", str(folder)]):
        (folder / "README.md").write_text(card)
        assert main(argv) in (0, 2)
        assert "Traceback" not in capsys.readouterr().err
    (folder / "README.md").write_text(card)
    try:
        zoo.push_to_hub(folder, "alice/yaml")
    except zoo.ZooError as exc:
        assert "\n" not in str(exc)
