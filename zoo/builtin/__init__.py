"""The core's own plugin: the ``independent`` baseline, the bundled datasets, the default trainer and evaluator."""

from __future__ import annotations

from ..evaluation import DefaultEvaluator
from ..folders import bundled_entry
from ..hookspecs import hookimpl
from ..training import DefaultTrainer
from .datasets import BUILTIN_DATASETS
from .independent import Independent

#: the sha256 of each bundled model.safetensors: the integrity check of the package data
PINS = {
    "independent-digits": "751dc3b71c2a7d840db17c429e91022bcf1d71b06043f87814ac8eb916d2ef26",
    "independent-digits-binarized": "b1c7e3f90ffd343039fa582f4633527d244fd6d62c1ca6392438f438cd93497c",
}


@hookimpl
def zoo_register_models(register):
    register(Independent)


@hookimpl
def zoo_register_pretrained(register):
    for name, sha256 in PINS.items():
        dataset = name.removeprefix("independent-")
        about = f"Per-pixel baseline on {dataset}: the row every likelihood table starts from."
        register(bundled_entry(name, sha256=sha256, description=about))


@hookimpl
def zoo_register_datasets(register):
    for name, spec in BUILTIN_DATASETS.items():
        register(name, **spec)


@hookimpl
def zoo_register_evaluators(register):
    register("default", DefaultEvaluator)


@hookimpl
def zoo_register_trainers(register):
    register("default", DefaultTrainer)
