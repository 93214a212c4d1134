"""Recipes as data (issue 23.3): a `zoo train` command read into a Recipe and written back."""

from __future__ import annotations

import pytest

from zoo.errors import ConfigError
from zoo.recipes import Recipe
from zoo.registry import get_registry


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
