"""zoo reproduce (issue 28): a pretrained model's recipe as one command, measured against its card."""

from __future__ import annotations

import json

import pytest

import zoo
from zoo.cli import main
from zoo.recipes import Recipe
from zoo.registry import get_registry
from zoo.reproduction import _planned, card_figure, recipe_of, stages
from zoo.training import split_settings


def test_every_pretrained_recipe_reads_back_as_a_run_its_architecture_takes():
    """What reproduce would run, checked for every entry without training: the recipe parses, names a
    registered dataset, and its settings split into model and training fields the classes accept."""
    reg = get_registry()
    for name, spec in reg.pretrained.items():
        shown, text, folder = recipe_of(name)
        recipe = stages(text)[0]
        assert shown == name and isinstance(recipe, Recipe)
        assert recipe.dataset in reg.datasets, name
        arch = recipe.architecture if recipe.architecture in reg.models else reg.entry(recipe.architecture).architecture
        assert arch == spec.entry.architecture, name
        split_settings(reg.model(arch).cls.config_class, dict(recipe.settings))
        if spec.entry.bundled:
            assert card_figure(folder, "test", None) is not None or card_figure(folder, "val", None) is not None, name


def test_reproduce_trains_evaluates_and_compares_with_the_card(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["reproduce", "independent-digits", "--minutes", "0.02", "--out", str(out), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    expected = card_figure(get_registry().entry("independent-digits").folder, "test", None)
    assert report["card_nll"] == pytest.approx(expected)
    assert report["result"]["split"] == "test" and report["result"]["n_images"] == 360
    assert report["difference"] == pytest.approx(report["result"]["nll_nats"] - expected)
    assert "--set max_minutes=0.02" in report["command"] and f"--out {out}" in report["command"]
    recorded = json.loads((out / "config.json").read_text())
    assert recorded["metrics"]["test"]["nll_nats"] == pytest.approx(report["result"]["nll_nats"])
    assert "max_minutes=0.02" in recorded["command"]
    # the same figure as a fresh zoo eval of the folder (seed 0)
    fresh = zoo.evaluate(out, "digits", split="test")
    assert fresh.nll_nats == pytest.approx(report["result"]["nll_nats"], rel=1e-6)


def test_reproduce_prints_one_line_and_refuses_a_used_folder_without_resume(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["reproduce", "independent-digits-binarized", "--minutes", "0.01", "--out", str(out)]) == 0
    line = capsys.readouterr().out.strip().splitlines()[-1]
    assert line.startswith("reproduced independent-digits-binarized: test (360 images)") and "card" in line
    assert (
        main(["reproduce", "independent-digits-binarized", "--minutes", "0.01", "--out", str(out)]) == 1
    )  # runtime error
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and str(out) in err


@pytest.mark.parametrize("bad", [["--minutes", "0"], ["--minutes", "-1"]])
def test_a_bad_budget_is_refused_before_training(tmp_path, bad, capsys):
    out = tmp_path / "run"
    assert main(["reproduce", "independent-digits", *bad, "--out", str(out)]) == 2
    assert "--minutes" in capsys.readouterr().err and not out.exists()


def test_an_unknown_name_suggests(capsys):
    assert main(["reproduce", "independent-digit"]) == 2
    assert "independent-digits" in capsys.readouterr().err


DIGITS = sorted(
    n
    for n, s in get_registry().pretrained.items()
    if s.entry.bundled and s.entry.dataset in {"digits", "digits-binarized"}
)


@pytest.mark.slow
@pytest.mark.parametrize("name", DIGITS)
def test_every_bundled_digits_model_reproduces_at_a_tiny_budget(name, tmp_path):
    """Each bundled digits recipe (every family has one) runs for a second and is measured on the first test
    images; the MNIST recipes are checked without training above (a run there validates on 10,000 images)."""
    done = zoo.reproduce(name, out=tmp_path / name, minutes=0.02, settings={"device": "cpu"}, limit=8, final_eval=False)
    assert done.result.n_images == 8 and done.result.nll_nats > 0


def test_a_recipe_in_stages_runs_each_stage_into_mapped_folders(tmp_path):
    """A budget stretched by a resume, then a fine-tune of that folder: the folders and budgets reproduce
    maps them to, without training."""
    text = (
        "zoo train row-lstm --dataset digits --set max_minutes=140 --out base && "
        "zoo eval base --dataset digits --save && "
        "zoo train row-lstm --dataset digits --set max_minutes=280 --out base --resume && "
        "zoo train ./base --dataset digits --set max_minutes=70 --set lr=0.0001 --out ft"
    )
    runs = stages(text)
    assert [r.out for r in runs] == ["base", "base", "ft"] and runs[1].resume
    out = tmp_path / "rep"
    plan = _planned(runs, out, minutes=1.0, settings={"device": "cpu"})
    assert [p.out for p in plan] == [f"{out}-stage1", f"{out}-stage1", str(out)]
    assert plan[2].architecture == f"{out}-stage1" and plan[0].architecture == "row-lstm"
    assert [p.settings["max_minutes"] for p in plan] == [2.0, 4.0, 1.0]
    assert all(p.settings["device"] == "cpu" and p.then is None for p in plan)
    assert plan[1].resume and not plan[0].resume
