"""Recipes as data (issue 23.3): a `zoo train` command read into a Recipe and written back, and a bundled
entry derived from the folder it names."""

from __future__ import annotations

import json
import shutil

import pytest

from zoo.errors import ConfigError
from zoo.folders import ModelFolder, bundled_entry
from zoo.recipes import Recipe
from zoo.registry import get_registry
from zoo.weights import file_sha256, read_config


def test_a_recipe_reads_its_parts_and_writes_them_back():
    text = (
        "zoo train made --dataset binarized-mnist --data-option dynamic=true --set 'hidden=[4000]' "
        "--set lr=0.001 --epochs=3 --out made-run && zoo eval made-run --save"
    )
    recipe = Recipe.parse(text)
    assert recipe.architecture == "made" and recipe.dataset == "binarized-mnist" and recipe.epochs == 3
    assert recipe.dataset_options == {"dynamic": True}
    assert recipe.settings == {"hidden": [4000], "lr": 0.001}
    assert recipe.out == "made-run" and recipe.then == "zoo eval made-run --save"
    assert Recipe.parse(recipe.command()) == recipe
    assert recipe.command().endswith("--epochs 3 --out made-run && zoo eval made-run --save")


def test_flags_round_trip():
    recipe = Recipe(architecture="a", dataset="d", resume=True, overwrite=True, final_eval=False)
    assert recipe.command() == "zoo train a --dataset d --resume --overwrite --no-final-eval"
    assert Recipe.parse(recipe.command()) == recipe


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("zoo eval x --save", "not a `zoo train ARCH ...` command"),
        ("zoo train --dataset d", "not a `zoo train ARCH ...` command"),
        ("zoo train a --set lr=1", "no --dataset"),
        ("zoo train a --dataset d --learning-rate 1", "'--learning-rate' is not a `zoo train` option"),
        ("zoo train a --dataset", "--dataset needs a value"),
        ("zoo train a --dataset d --epochs many", "recipe"),
        ("zoo train a --dataset d --set lr", "--set expects key=value"),
        ("zoo train a --dataset 'd", "No closing quotation"),
    ],
)
def test_a_recipe_that_cannot_be_read_back_is_one_error(text, message):
    with pytest.raises(ConfigError, match=message):
        Recipe.parse(text)


def test_every_registered_recipe_parses_and_round_trips():
    for name, spec in get_registry().pretrained.items():
        recipe = Recipe.parse(spec.entry.recipe)
        assert recipe.architecture and Recipe.parse(recipe.command()) == recipe, name


def test_a_bundled_entry_is_read_from_its_folder(tmp_path):
    source = get_registry().entry("independent-digits").folder
    folder = shutil.copytree(source, tmp_path / "pretrained" / "mine")
    entry = bundled_entry(folder, sha256=file_sha256(folder / "model.safetensors"), description="mine")
    assert (entry.name, entry.bundled, entry.architecture, entry.dataset) == ("mine", "mine", "independent", "digits")
    assert entry.recipe == get_registry().entry("independent-digits").recipe  # the card's recorded command
    assert entry.recipe.startswith("zoo train independent --dataset digits")

    meta = read_config(folder)
    meta["command"] = "zoo train independent --dataset digits --out x"  # what zoo records today wins
    (folder / "config.json").write_text(json.dumps(meta))
    assert ModelFolder(folder).recipe() == meta["command"]
    assert bundled_entry(folder, sha256="0" * 64, description="", recipe="zoo train y").recipe == "zoo train y"


def test_a_bundled_entry_must_live_where_the_registry_looks(tmp_path):
    folder = shutil.copytree(get_registry().entry("independent-digits").folder, tmp_path / "elsewhere" / "mine")
    with pytest.raises(ValueError, match="<package>/pretrained/<name>/"):
        bundled_entry(folder, sha256="0" * 64, description="")


def test_every_bundled_entry_is_what_its_folder_says():
    for name, spec in get_registry().pretrained.items():
        entry = spec.entry
        if entry.bundled:
            meta = read_config(entry.folder)
            assert (entry.architecture, entry.dataset) == (meta["architecture"], meta["dataset"]), name
            assert entry.dataset_options == (meta.get("dataset_options") or {}), name
            assert entry.recipe == ModelFolder(entry.folder).recipe(), name
            assert entry.sha256 == file_sha256(entry.folder / "model.safetensors"), name  # every bundle pinned


def test_re_rendering_a_card_keeps_the_recipe_it_shows(tmp_path):
    from zoo.cards import write_model_card

    entry = get_registry().entry("independent-digits")
    folder = shutil.copytree(entry.folder, tmp_path / "copy")
    assert not ModelFolder(folder).recorded_command()  # bundled before zoo recorded commands: the card has it
    write_model_card(folder, samples=False, completions=False)
    assert ModelFolder(folder).recipe() == entry.recipe
