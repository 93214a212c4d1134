"""The public face: list, info, create, load, close-match errors, run-time plugins."""

import pytest
import torch

import zoo
from zoo.errors import UnknownNameError


def test_list_models_with_wildcards():
    assert "independent" in zoo.list_models()
    assert zoo.list_models("indep*") == ["independent"]
    assert zoo.list_models("no-such-*") == []


def test_unknown_names_suggest_close_matches():
    with pytest.raises(UnknownNameError, match=r"unknown architecture 'independant'; did you mean 'independent'\?"):
        zoo.create("independant")
    with pytest.raises(UnknownNameError, match="unknown pretrained model 'nothing-like-it'"):
        zoo.load("nothing-like-it")
    with pytest.raises(UnknownNameError, match="did you mean 'independent'"):
        zoo.model_info("independet")


def test_create_applies_and_validates_overrides():
    model = zoo.create("independent", levels=2, height=3)
    assert model.config.levels == 2 and model.config.shape == (1, 3, 8)
    with pytest.raises(ValueError, match="invalid config for independent: levels: "):
        zoo.create("independent", levels=1)
    with pytest.raises(ValueError, match="hidden: Extra inputs are not permitted"):
        zoo.create("independent", hidden=3)


def test_model_info_describes_config():
    info = zoo.model_info("independent")
    assert info["kind"] == "architecture" and info["plugin"] == "zoo-builtin"
    assert info["config_fields"]["levels"]["default"] == 17


class ToyConfig(zoo.ModelConfig):
    scale_factor: float = 1.0


class Toy(zoo.AutoregressiveModel):
    """A run-time registered toy."""

    architecture = "toy-runtime"
    config_class = ToyConfig

    def __init__(self, config):
        super().__init__(config)
        self.table = torch.nn.Parameter(torch.zeros(config.levels, *config.shape))

    def logits(self, x):
        return self.table.expand(x.shape[0], *self.table.shape) * self.config.scale_factor


class ToyPlugin:
    @zoo.hookimpl
    def zoo_register_models(self, register):
        register(Toy)


def test_runtime_plugin_registration_and_removal(tmp_path):
    name = zoo.register_plugin(ToyPlugin(), "toy")
    try:
        assert "toy-runtime" in zoo.list_models("toy*")
        model = zoo.create("toy-runtime", scale_factor=2.0, height=2, width=2, levels=3)
        folder = zoo.save_pretrained(model, tmp_path / "toy")
        assert zoo.load(folder).config.scale_factor == 2.0
        assert any(p["name"] == "toy" and p["source"] == "run time" for p in zoo.plugins())
        with pytest.raises(ValueError, match="already registered"):
            zoo.register_plugin(ToyPlugin(), "toy")
    finally:
        zoo.unregister_plugin(name)
    assert "toy-runtime" not in zoo.list_models()


def test_model_rejects_wrong_config_type():
    with pytest.raises(TypeError, match="needs a ToyConfig"):
        Toy(zoo.ModelConfig())


class LooksLikeAModel(torch.nn.Module):
    """Every method of a model and a ModelConfig, but no zoo.Model base: the registry checks the class itself."""

    architecture = "looks-like-a-model"
    config_class = ToyConfig

    def loss(self, x, labels=None):
        return x.float().mean()

    def log_prob(self, x, labels=None):
        return -x.float().flatten(1).sum(1)

    def sample(self, n, generator=None, temperature=1.0, labels=None):
        return torch.zeros(n, 1, 1, 1, dtype=torch.long)


@pytest.mark.parametrize(
    "thing, why",
    [
        (LooksLikeAModel, "LooksLikeAModel, which does not derive from zoo.Model"),
        (Toy(ToyConfig()), "which is not a class"),
    ],
)
def test_only_a_zoo_model_subclass_registers_as_an_architecture(thing, why):
    class Plugin:
        @zoo.hookimpl
        def zoo_register_models(self, register):
            register(thing)

    name = zoo.register_plugin(Plugin(), "not-a-model")
    try:
        (record,) = [p for p in zoo.plugins() if p["name"] == name]
        (error,) = record["errors"]
        assert "register() needs a zoo.Model subclass" in error and why in error and "\n" not in error, error
        assert "looks-like-a-model" not in zoo.list_models()
    finally:
        zoo.unregister_plugin(name)


class LooksLikeATrainer:
    """Has fit() and evaluate(), derives from neither contract."""

    def fit(self, *args, **kwargs):
        return None

    def evaluate(self, *args, **kwargs):
        return None


@pytest.mark.parametrize(
    "hook, kind, base",
    [("zoo_register_trainers", "trainer", "Trainer"), ("zoo_register_evaluators", "evaluator", "Evaluator")],
)
def test_only_a_contract_subclass_registers_as_a_trainer_or_evaluator(hook, kind, base):
    class Plugin:
        pass

    def register_it(self, register):
        register("look-alike", LooksLikeATrainer)

    setattr(Plugin, hook, zoo.hookimpl(register_it))
    name = zoo.register_plugin(Plugin(), f"not-a-{kind}")
    try:
        (record,) = [p for p in zoo.plugins() if p["name"] == name]
        (error,) = record["errors"]
        assert f"{kind} 'look-alike': register() needs a zoo.{base} subclass" in error and "\n" not in error, error
        table = zoo.registry.get_registry().trainers if kind == "trainer" else zoo.registry.get_registry().evaluators
        assert "look-alike" not in table
    finally:
        zoo.unregister_plugin(name)
