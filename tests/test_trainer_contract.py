"""The Trainer contract: a trainer declares its settings class, and ``zoo.train`` routes, validates, records and
passes ``--set`` values through it (the default trainer's is TrainConfig)."""

from __future__ import annotations

import json

import pytest
from pydantic import BaseModel, ConfigDict, Field

import zoo
from zoo.builtin.independent import IndependentConfig
from zoo.errors import ConfigError
from zoo.training import DefaultTrainer, TrainConfig, TrainResult, split_settings


class RoundsSettings(BaseModel):
    """A plugin trainer's own settings: nothing of TrainConfig's."""

    model_config = ConfigDict(extra="forbid")

    rounds: int = Field(1, ge=1, le=5)
    seed: int = 0


class RoundsTrainer(zoo.Trainer):
    """Trains nothing; records the settings it was given."""

    name = "rounds"
    config_class = RoundsSettings
    given: list = []

    def fit(self, model, train, val=None, config=None, out=None, resume=False):
        RoundsTrainer.given.append(config)
        return TrainResult(epochs=config.rounds, steps=0, seconds=0.0)


class Plugin:
    @zoo.hookimpl
    def zoo_register_trainers(self, register):
        register("rounds", RoundsTrainer)


@pytest.fixture
def rounds_trainer():
    zoo.register_plugin(Plugin(), "rounds-trainer")
    RoundsTrainer.given.clear()
    yield
    zoo.unregister_plugin("rounds-trainer")


def test_the_default_trainer_takes_train_config():
    assert zoo.Trainer.config_class is TrainConfig and DefaultTrainer.config_class is TrainConfig


def test_a_plugin_trainer_gets_its_own_settings_validated_and_recorded(tmp_path, rounds_trainer):
    out = zoo.train("independent", "digits", tmp_path / "run", settings={"rounds": 3}, trainer="rounds")
    assert RoundsTrainer.given == [RoundsSettings(rounds=3)]
    assert json.loads((out / "train_config.json").read_text())["train_config"] == {"rounds": 3, "seed": 0}
    assert json.loads((out / "train_result.json").read_text())["epochs"] == 3


def test_a_plugin_trainers_settings_class_refuses_what_it_does_not_take(tmp_path, rounds_trainer):
    with pytest.raises(ConfigError, match=r"invalid training settings: .*rounds"):
        zoo.train("independent", "digits", tmp_path / "a", settings={"rounds": 9}, trainer="rounds")
    # a TrainConfig field is not this trainer's: refused, with the fields it does take
    with pytest.raises(ConfigError, match=r"unknown setting\(s\) 'lr'.*training fields: rounds, seed"):
        zoo.train("independent", "digits", tmp_path / "b", settings={"lr": 0.1}, trainer="rounds")
    assert RoundsTrainer.given == []


def test_split_settings_routes_through_the_trainers_class():
    assert split_settings(IndependentConfig, {"levels": 4, "rounds": 2}, RoundsSettings) == (
        {"levels": 4},
        {"rounds": 2},
    )
    assert split_settings(IndependentConfig, {"lr": 0.5}) == ({}, {"lr": 0.5})  # TrainConfig by default
